import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InitiateAuthCommand } from "@aws-sdk/client-cognito-identity-provider";
import type { LocalOutputs } from "@wsauth/core/constants";
import { localCognitoClient } from "../cognito";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../stack";

export interface SignedInTokens {
  idToken: string;
  accessToken: string;
  refreshToken: string;
}

/** Signs in against the local stack's Cognito with USER_PASSWORD_AUTH (the AWS SDK, as a backend would). */
export async function signIn(outputs: LocalOutputs, username: string, password: string): Promise<SignedInTokens> {
  const client = localCognitoClient(outputs.cognitoEndpoint);
  try {
    const { AuthenticationResult: result } = await client.send(
      new InitiateAuthCommand({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: outputs.userPoolClientId,
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    if (!result?.IdToken || !result.AccessToken || !result.RefreshToken) {
      throw new Error(`sign-in of ${username} returned no tokens (a challenge is pending?)`);
    }
    return { idToken: result.IdToken, accessToken: result.AccessToken, refreshToken: result.RefreshToken };
  } finally {
    client.destroy();
  }
}

/** Signs in the first demo user (or the one at `index`) of a running stack. */
export function signInDemoUser(outputs: LocalOutputs, index = 0): Promise<SignedInTokens> {
  const user = outputs.demoUsers[index];
  if (!user) throw new Error(`the stack has no demo user #${index}`);
  return signIn(outputs, user.username, user.password);
}

/**
 * A stack for tests: every port ephemeral, a fresh temp state dir (removed on stop), no site, quiet,
 * and no sweep on a timer (a test that needs one calls `stack.sweep()`, so counts stay deterministic).
 */
export interface TestStack extends LocalStack {
  stateDir: string;
}

/**
 * Stack options for load tests and benchmarks, which open thousands of sockets of a few users and send
 * from them as fast as they can: no stage throttle and abuse limits far above what they reach.
 */
export const LOAD_LIMITS = {
  stageThrottle: false,
  abuseLimits: { maxConnectionsPerUser: 100_000, messageRatePerSecond: 100_000, messageBurst: 100_000 },
} as const satisfies LocalStackOptions;

export async function startTestStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), "wsauth-stack-")));
  const stack = await startLocalStack({
    web: false,
    quiet: true,
    watch: false,
    sweepSchedule: false,
    ...options,
    ports: { web: 0, gateway: 0, cognito: 0, dynamo: 0, ...options.ports },
    stateDir,
  });
  return {
    ...stack,
    stateDir,
    async stop() {
      const report = await stack.stop();
      if (!options.stateDir) await rm(stateDir, { recursive: true, force: true });
      return report;
    },
  };
}

/** A loopback port held by another listener, for the "port in use" paths. */
export interface OccupiedPort {
  port: number;
  release(): Promise<void>;
}

export async function occupyPort(): Promise<OccupiedPort> {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  return {
    port: (blocker.address() as { port: number }).port,
    release: () => new Promise<void>((resolve) => blocker.close(() => resolve())),
  };
}
export { type HttpAnswer, httpRequest } from "./http-request";
