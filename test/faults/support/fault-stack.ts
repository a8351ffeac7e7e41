import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionStore, createConnectionStore } from "@wsauth/core/connection";
import { AUTHORIZER_IDENTITY_SOURCES, LIMITS, LOCAL, type LocalOutputs } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { type LocalCognito, startCognito } from "../../../packages/local/src/cognito/index";
import {
  createConnectionsTable,
  type LocalDynamo,
  localDynamoClient,
  startDynamo,
} from "../../../packages/local/src/dynamo/index";
import { type Gateway, type GatewayLimits, startGateway } from "../../../packages/local/src/gateway/index";
import { type HandlerHost, startHandlerHost } from "../../../packages/local/src/handlers/index";
import { consoleReporter } from "../../../packages/local/src/runner/index";
import { handlerEnvironment } from "../../../packages/local/src/stack/index";
import { startTcpRelay, type TcpRelay } from "../../helpers/tcp-relay";

/**
 * The local stack assembled from its own parts (dynalite, the Cognito emulator, the gateway, the
 * handler host running the real handlers) with a cuttable relay in front of DynamoDB and of the
 * JWKS endpoint.
 */

const quietLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

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

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const stateDir = await mkdtemp(join(tmpdir(), "wsauth-faults-"));
  const reporter = consoleReporter({ quiet: true });
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const dynamo: LocalDynamo = await startDynamo({ port: 0 });
    stops.push(() => dynamo.stop());
    const directClient = localDynamoClient(dynamo.endpoint);
    stops.push(async () => directClient.destroy());
    await createConnectionsTable(directClient, LOCAL.tableName);
    const cognito: LocalCognito = await startCognito({ port: 0, stateDir, reporter });
    stops.push(() => cognito.stop());
    const dynamoProxy = await startTcpRelay({ host: "127.0.0.1", port: dynamo.port });
    stops.push(() => dynamoProxy.stop());
    const jwksProxy = await startTcpRelay({ host: "127.0.0.1", port: cognito.port }, { cut: options.jwksDown });
    stops.push(() => jwksProxy.stop());

    const limits = options.gatewayLimits ?? {};
    const gatewayOptions = {
      host: "127.0.0.1",
      stage: LOCAL.stage,
      region: LOCAL.region,
      accountId: LOCAL.accountId,
      apiId: LOCAL.apiId,
      identitySources: AUTHORIZER_IDENTITY_SOURCES,
      limits,
      log: quietLog,
    };
    const gateway = await startGateway({ ...gatewayOptions, port: 0, routes: {} });
    const handlers = await startHandlerHost({
      stateDir,
      env: handlerEnvironment({
        tableName: LOCAL.tableName,
        webSocketUrl: gateway.url,
        managementEndpoint: gateway.managementEndpoint,
        userPoolId: cognito.userPoolId,
        clientId: cognito.clientId,
        issuer: cognito.issuer,
        // Same path as the real JWKS, through the relay.
        jwksUri: cognito.jwksUri.replace(cognito.endpoint, jwksProxy.endpoint),
        webUrl: "",
        dynamoEndpoint: dynamoProxy.endpoint,
      }),
      watch: false,
      quiet: true,
      reporter,
      integrationTimeoutMs: limits.integrationTimeoutMs ?? LIMITS.integrationTimeoutMs,
    });
    stops.push(() => handlers.close());
    gateway.setRoutes(handlers.routes, handlers.authorizer);
    // Closed before the handlers (stops run in reverse), so every `$disconnect` reaches a handler.
    stops.push(() => gateway.close());

    const store = createConnectionStore({ tableName: LOCAL.tableName, client: directClient });

    const outputs: LocalOutputs = {
      region: LOCAL.region,
      userPoolId: cognito.userPoolId,
      userPoolClientId: cognito.clientId,
      webSocketUrl: gateway.url,
      managementEndpoint: gateway.managementEndpoint,
      tableName: LOCAL.tableName,
      webUrl: "",
      stage: LOCAL.stage,
      cognitoEndpoint: cognito.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      demoUsers: cognito.demoUsers.map(({ username, password }) => ({ username, password })),
    };

    return {
      outputs,
      get gateway() {
        return gateway;
      },
      handlers,
      dynamoProxy,
      jwksProxy,
      store,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
