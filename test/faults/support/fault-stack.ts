import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionStore, createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, type LocalOutputs } from "@wsauth/core/constants";
import { localDynamoClient } from "@wsauth/local/dynamo";
import type { Gateway, GatewayLimits } from "@wsauth/local/gateway";
import type { HandlerHost } from "@wsauth/local/handlers";
import { consoleReporter } from "@wsauth/local/runner";
import { type LocalStack, startLocalStack } from "@wsauth/local/stack";
import { startTcpRelay, type TcpRelay } from "../../helpers/tcp-relay";

/**
 * The local stack (`startLocalStack`, ephemeral ports, no site) with a cuttable relay between the
 * handlers and DynamoDB, and between the handlers and the JWKS endpoint.
 */

export interface FaultStack {
  outputs: LocalOutputs;
  gateway: Gateway;
  handlers: HandlerHost;
  /** Relay the handlers use for DynamoDB. */
  dynamoProxy: TcpRelay;
  /** Relay the authorizer uses for the JWKS. */
  jwksProxy: TcpRelay;
  /** Direct registry access (not through the relay), for assertions. */
  store: ConnectionStore;
  stop(): Promise<void>;
}

export interface FaultStackOptions {
  gatewayLimits?: Partial<GatewayLimits>;
  /** Start with the JWKS relay cut (the authorizer's cold start cannot fetch keys). */
  jwksDown?: boolean;
}

function relayTo(endpoint: string, options: { cut?: boolean } = {}): Promise<TcpRelay> {
  const url = new URL(endpoint);
  return startTcpRelay({ host: url.hostname, port: Number(url.port) }, options);
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const stateDir = await mkdtemp(join(tmpdir(), "wsauth-faults-"));
  const relays: TcpRelay[] = [];
  let stack: LocalStack | undefined;
  let directClient: ReturnType<typeof localDynamoClient> | undefined;
  const stopAll = async () => {
    await stack?.stop().catch(() => {});
    directClient?.destroy();
    for (const relay of relays.splice(0)) await relay.stop().catch(() => {});
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    let dynamoProxy: TcpRelay | undefined;
    let jwksProxy: TcpRelay | undefined;
    stack = await startLocalStack({
      web: false,
      ports: { web: 0, gateway: 0, cognito: 0, dynamo: 0 },
      stateDir,
      writeOutputs: false,
      quiet: true,
      watch: false,
      sweepSchedule: false,
      gatewayLimits: options.gatewayLimits,
      reporter: consoleReporter({ quiet: true }),
      routeDependencies: async ({ dynamoEndpoint, jwksUri, managementEndpoint }) => {
        dynamoProxy = await relayTo(dynamoEndpoint);
        relays.push(dynamoProxy);
        jwksProxy = await relayTo(jwksUri, { cut: options.jwksDown });
        relays.push(jwksProxy);
        // Same path as the real JWKS, through the relay.
        return {
          dynamoEndpoint: dynamoProxy.endpoint,
          jwksUri: `${jwksProxy.endpoint}${new URL(jwksUri).pathname}`,
          managementEndpoint,
        };
      },
    });
    if (!dynamoProxy || !jwksProxy) throw new Error("the stack started without routing its dependencies");
    directClient = localDynamoClient(stack.outputs.dynamoEndpoint);
    return {
      outputs: stack.outputs,
      gateway: stack.gateway,
      handlers: stack.handlers,
      dynamoProxy,
      jwksProxy,
      store: createConnectionStore({ tableName: LOCAL.tableName, client: directClient }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
