import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AttributeValue, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  AUTHORIZER_IDENTITY_SOURCES,
  LIMITS,
  LOCAL,
  LOCAL_CREDENTIALS,
  type LocalOutputs,
  STAGE_THROTTLE,
} from "@wsauth/core/constants";
import { createLog, type Log } from "@wsauth/core/logging";
import { type LocalCognito, startCognito } from "../cognito";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "../dynamo";
import { type Gateway, type GatewayLimits, type StageThrottle, startGateway } from "../gateway";
import { type CallRecorder, type HandlerHost, startHandlerHost } from "../handlers";
import { siteOrigins } from "../loopback";
import {
  assertPortFree,
  consoleReporter,
  describeError,
  isAddressInUse,
  LocalStackError,
  portInUse,
  type Reporter,
} from "../runner";
import { PORT_ROLES, type PortName, pickFreePort, type StackPorts } from "./ports";
import { abuseLimitEnvironment, handlerEnvironment } from "./resources";
import { type SweepSchedule, scheduleSweep } from "./sweep-schedule";
import { startWeb, type WebSite, webEnvironment } from "./web";

export { PORT_ROLES, type PortName, type StackPorts } from "./ports";
export { handlerEnvironment, type LinkedValues } from "./resources";
export { webEnvironment } from "./web";

/** The repository root (this file is packages/local/src/stack/index.ts). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const HOST = "127.0.0.1";
const OUTPUTS_FILE = basename(LOCAL.outputsFile);

export interface LocalStackOptions {
  /** Start the Next.js site (default true). */
  web?: boolean;
  /** Default LOCAL.ports; 0 = ephemeral. */
  ports?: Partial<StackPorts>;
  /** Default `<repo>/.local`: Cognito state, handler bundles, outputs.json. */
  stateDir?: string;
  /** Write `<stateDir>/outputs.json` once everything answers (default true); removed again on stop. */
  writeOutputs?: boolean;
  /** Only warnings and errors on the terminal; handlers' and the gateway's info logs dropped (default false). */
  quiet?: boolean;
  gatewayLimits?: Partial<GatewayLimits>;
  /**
   * The gateway's stage throttling (default STAGE_THROTTLE, as infra sets it on the deployed stage);
   * `false` for none (load tests and benchmarks that open thousands of sockets at once).
   */
  stageThrottle?: StageThrottle | false;
  /**
   * Abuse limits of the handlers (connections per user, frames per connection), passed to them as
   * ABUSE_LIMITS_ENV variables; unset ones come from this process's environment or ABUSE_LIMITS.
   */
  abuseLimits?: { maxConnectionsPerUser?: number; messageRatePerSecond?: number; messageBurst?: number };
  /**
   * Run the sweep every SWEEP.intervalMs through the handler pool, as the deployed cron invokes the
   * `Sweep` function (default true). Tests that count rows turn it off and call `sweep()` instead.
   */
  sweepSchedule?: boolean;
  /** Rebuild and reload the handlers when packages/functions or packages/core change (default true). */
  watch?: boolean;
  reporter?: Reporter;
  /**
   * Browser origins, besides the site's own, that may open sockets and call the Cognito endpoint
   * (your own front end with `web: false`). Every other browser origin is refused.
   */
  allowedOrigins?: readonly string[];
  /**
   * Puts something between the handlers and their dependencies (the fault suite's cuttable relays):
   * called once DynamoDB and Cognito answer, with the endpoints the handlers would use; the handlers
   * use the ones it returns. Outputs keep the direct endpoints.
   */
  routeDependencies?: (direct: DependencyEndpoints) => Promise<DependencyEndpoints>;
  /** Receives every AWS call and `Resource` read the handlers make (see handlers/recording.ts). */
  recorder?: CallRecorder;
  /** Handler worker threads (default: one per core). */
  handlerWorkers?: number;
  /** Waits before each retry of a failed asynchronous invocation (default 200 ms, 400 ms). */
  asyncRetryDelaysMs?: readonly number[];
}

/** Where the handlers reach DynamoDB, the pool's JWKS and the `@connections` API. */
export interface DependencyEndpoints {
  dynamoEndpoint: string;
  jwksUri: string;
  managementEndpoint: string;
}

/** Row kinds that must be gone once every socket got its `$disconnect` (history and seq rows stay until TTL). */
export const LIVE_ROW_KINDS = ["connection", "subscription", "presence"] as const;
export type LiveRowKind = (typeof LIVE_ROW_KINDS)[number];

export interface StopReport {
  /**
   * Connection, subscription and presence rows still in the registry after every socket got its
   * `$disconnect` (should be 0; -1 if unknown).
   */
  leftoverRows: number;
  /** The same, by kind (empty if unknown). */
  leftover: Partial<Record<LiveRowKind, number>>;
}

export interface LocalStack {
  outputs: LocalOutputs;
  gateway: Gateway;
  handlers: HandlerHost;
  /** Runs the sweep once now, through the handler pool (as the schedule does); resolves its report. */
  sweep(): Promise<unknown>;
  /** Every socket gets `$disconnect`, then everything stops. Safe to call more than once. */
  stop(): Promise<StopReport>;
}

/** Gateway logs: everything normally; warnings and errors only when quiet. */
function gatewayLog(quiet: boolean): Log {
  const log = createLog("gateway");
  if (!quiet) return log;
  return { debug: () => {}, info: () => {}, warn: log.warn, error: log.error };
}

function withPortRole<T>(name: PortName, port: number, start: Promise<T>): Promise<T> {
  return start.catch((error: unknown) => {
    throw isAddressInUse(error) ? portInUse(port, PORT_ROLES[name], error) : error;
  });
}

/**
 * Connection, subscription and presence rows in the registry, by kind (the username aliases it also
 * keeps are not connections; history and sequence rows live until their TTL). A Scan: this is the
 * local table, read once at shutdown.
 */
async function countLiveRows(dynamo: LocalDynamo, tableName: string): Promise<Record<LiveRowKind, number>> {
  const client = localDynamoClient(dynamo.endpoint);
  const counts: Record<LiveRowKind, number> = { connection: 0, subscription: 0, presence: 0 };
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          ProjectionExpression: "#kind",
          ExpressionAttributeNames: { "#kind": "__edb_e__" },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const kind = item.__edb_e__?.S as LiveRowKind | undefined;
        if (kind && LIVE_ROW_KINDS.includes(kind)) counts[kind] += 1;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return counts;
  } finally {
    client.destroy();
  }
}

/** "2 connection, 0 subscription and 1 presence" */
export function describeLeftover(leftover: StopReport["leftover"]): string {
  const parts = LIVE_ROW_KINDS.map((kind) => `${leftover[kind] ?? "?"} ${kind}`);
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

async function writeOutputsFile(stateDir: string, outputs: LocalOutputs): Promise<string> {
  const file = join(stateDir, OUTPUTS_FILE);
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(outputs, null, 2)}\n`);
  // Readers never see a half-written file.
  await rename(partial, file);
  return file;
}

/**
 * Starts the whole local stack: Cognito (with demo users), dynalite with the connections table, the
 * gateway running the real handlers, and (unless `web: false`) the site. Resolves once everything
 * answers; on any failure, stops what it started and rejects with a one-line error.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const quiet = options.quiet ?? false;
  const reporter = options.reporter ?? consoleReporter({ quiet });
  const withWeb = options.web ?? true;
  const ports: StackPorts = { ...LOCAL.ports, ...options.ports };
  const stateDir = options.stateDir ?? join(REPO_ROOT, ".local");
  const writeOutputs = options.writeOutputs ?? true;
  const limits = { ...options.gatewayLimits };
  const started = Date.now();

  for (const name of Object.keys(ports) as PortName[]) {
    if (name === "web" && !withWeb) continue;
    await assertPortFree(ports[name], HOST, PORT_ROLES[name]);
  }
  await mkdir(stateDir, { recursive: true });
  const outputsFile = join(stateDir, OUTPUTS_FILE);
  // A stale file from an earlier run must not look like a ready stack.
  await rm(outputsFile, { force: true });

  const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
  const cleanUp = async () => {
    const errors: unknown[] = [];
    for (const { name, run } of cleanups.splice(0).reverse()) {
      try {
        await run();
      } catch (error) {
        errors.push(error);
        reporter.error(`stopping ${name} failed: ${describeError(error)}`);
      }
    }
    return errors;
  };

  try {
    // The site's port is settled first: the gateway and the Cognito endpoint accept its origin only.
    const webPort = withWeb ? (ports.web === 0 ? await pickFreePort(HOST) : ports.web) : 0;
    const webUrl = withWeb ? `http://${HOST}:${webPort}` : "";
    const allowedOrigins = [...siteOrigins(webUrl), ...(options.allowedOrigins ?? [])];
    const dynamoStart = withPortRole("dynamo", ports.dynamo, startDynamo({ port: ports.dynamo, host: HOST })).then(
      async (db) => {
        cleanups.push({ name: "dynalite", run: () => db.stop() });
        const client = localDynamoClient(db.endpoint);
        try {
          await createConnectionsTable(client, LOCAL.tableName);
        } finally {
          client.destroy();
        }
        return db;
      },
    );
    const cognitoStart = withPortRole(
      "cognito",
      ports.cognito,
      startCognito({ port: ports.cognito, host: HOST, stateDir, reporter, allowedOrigins }),
    ).then((idp: LocalCognito) => {
      cleanups.push({ name: "Cognito emulator", run: () => idp.stop() });
      return idp;
    });
    const gatewayStart = withPortRole(
      "gateway",
      ports.gateway,
      startGateway({
        port: ports.gateway,
        host: HOST,
        stage: LOCAL.stage,
        region: LOCAL.region,
        accountId: LOCAL.accountId,
        apiId: LOCAL.apiId,
        // Routes arrive once the handlers are built (they need the gateway's own URLs in their env).
        // Until then every upgrade is refused (503): without an authorizer the gateway would accept a
        // socket with no identity (a browser tab left open reconnects as soon as the port answers).
        routes: {},
        waitForRoutes: true,
        identitySources: AUTHORIZER_IDENTITY_SOURCES,
        allowedOrigins,
        limits,
        ...(options.stageThrottle === false ? {} : { throttle: options.stageThrottle ?? STAGE_THROTTLE }),
        log: gatewayLog(quiet),
      }),
    ).then((gw) => {
      cleanups.push({ name: "gateway", run: () => gw.close() });
      return gw;
    });
    // All settle before any failure is thrown, so cleanup knows everything that did start.
    await Promise.allSettled([dynamoStart, cognitoStart, gatewayStart]);
    const dynamo = await dynamoStart;
    const cognito = await cognitoStart;
    const gateway = await gatewayStart;

    const webStart: Promise<WebSite | undefined> = withWeb
      ? startWeb({
          webDir: join(REPO_ROOT, "web"),
          port: webPort,
          host: HOST,
          env: webEnvironment({
            userPoolId: cognito.userPoolId,
            clientId: cognito.clientId,
            webSocketUrl: gateway.url,
            cognitoEndpoint: cognito.endpoint,
            demoUsers: cognito.demoUsers,
          }),
          reporter,
          quiet,
        }).then((site) => {
          cleanups.push({ name: "next dev", run: () => site.stop() });
          return site;
        })
      : Promise.resolve(undefined);
    // Settle the site even if the handlers fail first, so cleanup can stop it.
    const webSettled = webStart.then(
      () => undefined,
      (error: unknown) => error,
    );

    let handlers: HandlerHost;
    try {
      const direct: DependencyEndpoints = {
        dynamoEndpoint: dynamo.endpoint,
        jwksUri: cognito.jwksUri,
        managementEndpoint: gateway.managementEndpoint,
      };
      const dependencies = options.routeDependencies ? await options.routeDependencies(direct) : direct;
      handlers = await startHandlerHost({
        stateDir,
        env: {
          ...abuseLimitEnvironment(options.abuseLimits ?? {}),
          ...handlerEnvironment({
            tableName: LOCAL.tableName,
            webSocketUrl: gateway.url,
            managementEndpoint: dependencies.managementEndpoint,
            userPoolId: cognito.userPoolId,
            clientId: cognito.clientId,
            issuer: cognito.issuer,
            jwksUri: dependencies.jwksUri,
            webUrl,
            dynamoEndpoint: dependencies.dynamoEndpoint,
          }),
        },
        watch: options.watch ?? true,
        quiet,
        reporter,
        integrationTimeoutMs: limits.integrationTimeoutMs ?? LIMITS.integrationTimeoutMs,
        ...(options.recorder ? { recorder: options.recorder } : {}),
        ...(options.handlerWorkers !== undefined ? { workers: options.handlerWorkers } : {}),
        ...(options.asyncRetryDelaysMs ? { asyncRetryDelaysMs: options.asyncRetryDelaysMs } : {}),
      });
    } catch (error) {
      await webSettled;
      throw error;
    }
    // Closed after the gateway (cleanups run in reverse), so every `$disconnect` still reaches a handler.
    cleanups.splice(
      cleanups.findIndex((c) => c.name === "gateway"),
      0,
      {
        name: "handlers",
        run: () => handlers.close(),
      },
    );
    gateway.setRoutes(handlers.routes, handlers.authorizer);
    const sweeps: SweepSchedule = scheduleSweep({
      sweep: handlers.jobs.sweep,
      reporter,
      enabled: options.sweepSchedule ?? true,
    });
    cleanups.push({ name: "sweep schedule", run: () => sweeps.stop() });
    const webError = await webSettled;
    if (webError) throw webError;

    const outputs: LocalOutputs = {
      region: LOCAL.region,
      userPoolId: cognito.userPoolId,
      userPoolClientId: cognito.clientId,
      webSocketUrl: gateway.url,
      managementEndpoint: gateway.managementEndpoint,
      tableName: LOCAL.tableName,
      webUrl,
      stage: LOCAL.stage,
      cognitoEndpoint: cognito.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      demoUsers: cognito.demoUsers.map(({ username, password }) => ({ username, password })),
      // Field by field: the AWS SDK marks credential objects it is handed (`$source`).
      localCredentials: {
        accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
        secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
      },
    };
    if (writeOutputs) {
      await writeOutputsFile(stateDir, outputs);
      cleanups.push({ name: "outputs.json", run: () => rm(outputsFile, { force: true }) });
    }
    reporter.info(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    let stopping: Promise<StopReport> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        // The stack stops answering: it must no longer look ready.
        if (writeOutputs) await rm(outputsFile, { force: true });
        // No sweep runs while the stack stops (a run in progress finishes first).
        await sweeps.stop();
        // Gateway first: every open socket gets its `$disconnect` while handlers and the table still run.
        const gatewayCleanup = cleanups.findIndex((c) => c.name === "gateway");
        const [gatewayStep] = gatewayCleanup >= 0 ? cleanups.splice(gatewayCleanup, 1) : [];
        const errors: unknown[] = [];
        await gatewayStep?.run().catch((error: unknown) => {
          errors.push(error);
          reporter.error(`stopping the gateway failed: ${describeError(error)}`);
        });
        let leftoverRows = -1;
        let leftover: StopReport["leftover"] = {};
        try {
          leftover = await countLiveRows(dynamo, LOCAL.tableName);
          leftoverRows = Object.values(leftover).reduce((sum, count) => sum + count, 0);
          if (leftoverRows > 0) {
            reporter.warn(`${describeLeftover(leftover)} row(s) left in the registry after every socket disconnected`);
          }
        } catch (error) {
          reporter.error(`could not count registry rows: ${describeError(error)}`);
        }
        errors.push(...(await cleanUp()));
        if (errors.length > 0) throw errors[0];
        return { leftoverRows, leftover };
      })();
      return stopping;
    };
    return { outputs, gateway, handlers, sweep: () => sweeps.runNow(), stop };
  } catch (error) {
    await cleanUp();
    if (error instanceof LocalStackError) throw error;
    throw new LocalStackError(`the local stack failed to start: ${describeError(error)}`, "see the message above", {
      cause: error,
    });
  }
}

/** Where `startLocalStack` writes outputs for a given state dir. */
export function outputsPath(stateDir = join(REPO_ROOT, ".local")): string {
  return join(stateDir, OUTPUTS_FILE);
}
