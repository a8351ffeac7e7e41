import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describeError, type Reporter } from "../runner";
import { DEMO_USERS, type DemoUser } from "./demo-users";
import { type CognitoEmulator, startCognitoEmulator } from "./emulator";
import { provisionPool } from "./provision";
import { type RefreshBridge, startRefreshBridge } from "./refresh-bridge";

export { DEMO_USERS, type DemoUser, LOCAL_CLIENT_NAME, LOCAL_POOL_NAME } from "./demo-users";
export { localCognitoClient } from "./provision";
export { type RefreshBridge, startRefreshBridge, toInitiateAuthRequest, toRefreshResponse } from "./refresh-bridge";

/**
 * The local Cognito: cognito-local (state under `<stateDir>/cognito`) behind the refresh bridge, with
 * the pool, web client, groups and demo users provisioned.
 *
 * cognito-local signs tokens with a fixed key pair that ships in its npm package: anyone can mint a
 * token it accepts. That is fine for a laptop; deployed stages verify against the real Cognito pool
 * only and never accept this issuer.
 */
export interface LocalCognito {
  /** Public endpoint (the bridge): SDK `endpoint`, Amplify `userPoolEndpoint`. */
  endpoint: string;
  port: number;
  userPoolId: string;
  clientId: string;
  /** The `iss` of the tokens: `<endpoint>/<userPoolId>`. */
  issuer: string;
  jwksUri: string;
  demoUsers: readonly DemoUser[];
  stop(): Promise<void>;
}

export interface CognitoOptions {
  /** Public port; 0 for an ephemeral one. */
  port: number;
  host?: string;
  stateDir: string;
  reporter: Reporter;
  users?: readonly DemoUser[];
  /** Browser origins allowed to call it (the site's). */
  allowedOrigins?: readonly string[];
}

export async function startCognito(options: CognitoOptions): Promise<LocalCognito> {
  const users = options.users ?? DEMO_USERS;
  const dataDir = join(options.stateDir, "cognito");
  const bridge: RefreshBridge = await startRefreshBridge({
    port: options.port,
    host: options.host,
    allowedOrigins: options.allowedOrigins ?? [],
  });

  const attempt = async (): Promise<{ emulator: CognitoEmulator; userPoolId: string; clientId: string }> => {
    const emulator = await startCognitoEmulator({ dataDir, issuerDomain: bridge.endpoint, reporter: options.reporter });
    bridge.setUpstream(emulator.upstream);
    try {
      return { emulator, ...(await provisionPool(bridge.endpoint, users)) };
    } catch (error) {
      await emulator.stop();
      throw error;
    }
  };

  try {
    let started: Awaited<ReturnType<typeof attempt>>;
    try {
      started = await attempt();
    } catch (error) {
      // Saved state that cognito-local cannot load or use (hand-edited, half-written): start from scratch once.
      options.reporter.warn(`Cognito state in ${dataDir} is unusable (${describeError(error)}); recreating it`);
      await rm(join(dataDir, ".cognito"), { recursive: true, force: true });
      started = await attempt();
    }
    const { emulator, userPoolId, clientId } = started;
    bridge.setUserPoolId(userPoolId);
    const issuer = `${bridge.endpoint}/${userPoolId}`;
    return {
      endpoint: bridge.endpoint,
      port: bridge.port,
      userPoolId,
      clientId,
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      demoUsers: users,
      async stop() {
        await emulator.stop();
        await bridge.close();
      },
    };
  } catch (error) {
    await bridge.close();
    throw error;
  }
}
