import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { APP_NAME, AUTHORIZER_HANDLER, FANOUT, JOB_HANDLERS, LOCAL, ROUTE_HANDLERS } from "@wsauth/core/constants";
import type { Context } from "aws-lambda";
import type { LambdaHandler, RouteTable } from "../gateway";
import type { Reporter } from "../runner";
import { buildHandlers, buildWorker, HandlerBuildError, handlerSourcePath } from "./build";
import { type LambdaApi, startLambdaApi } from "./lambda-api";
import type { CallRecorder } from "./recording";

export type { CallRecorder, RecordedAwsCall, RecordedResourceRead } from "./recording";

import { watchSources } from "./watch";
import { startWorker, type WorkerHandle } from "./worker-handle";

/**
 * Runs the real handlers of packages/functions for the local gateway: bundled with esbuild, loaded in
 * a pool of worker threads (one per core by default) whose environment holds the linked resources
 * (`SST_RESOURCE_*`), rebuilt and reloaded when packages/functions or packages/core change. Each worker
 * has its own module state, like a separate Lambda container. Every event of one connection goes to
 * the same worker, in the order the gateway hands them over (API Gateway keeps a connection's
 * messages in order); other invocations go to the least busy worker. The route table it hands the
 * gateway is stable: each entry forwards to the current generation, so a reload needs no `setRoutes`.
 *
 * Asynchronous invocations (the Lambda `Invoke` API with `InvocationType: Event`, served on loopback
 * for the handlers' own `LambdaClient`) run in the same pool with Lambda's semantics: at least once,
 * and retried up to FANOUT.retries times after the handler throws or its worker dies.
 */

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const MAX_CRASH_RESTARTS = 5;

export interface HandlerHostOptions {
  /** Bundles go to `<stateDir>/build`. */
  stateDir: string;
  /** Environment of the handlers, on top of this process's. */
  env: Record<string, string>;
  watch: boolean;
  /** Drop the handlers' stdout (their JSON logs). */
  quiet: boolean;
  reporter: Reporter;
  /** How long a retiring generation may finish running invocations. */
  integrationTimeoutMs: number;
  /** Defaults to this repository. */
  root?: string;
  /** Receives every AWS call and `Resource` read the handlers make (the deploy tests' IAM and link checks). */
  recorder?: CallRecorder;
  /** Handler worker threads (default: one per core). */
  workers?: number;
  /** Invocations one worker runs at once, the rest waiting in turn (default WORKER_CONCURRENCY). */
  workerConcurrency?: number;
  /** Waits before each retry of a failed asynchronous invocation (AWS waits 1 min, then 2 min). */
  asyncRetryDelaysMs?: readonly number[];
}

export interface HandlerStatus {
  generation: number;
  loaded: string[];
  /** Module names with no source file. */
  missing: string[];
  /** Module name -> why it did not load. */
  failed: Record<string, string>;
  /** The last build error, if the last build failed. */
  buildError?: string;
}

export interface HandlerHost {
  routes: RouteTable;
  authorizer: LambdaHandler;
  /** The scheduled sweeper, the IAM-invoked push and the fan-out worker (JOB_HANDLERS), invoked directly. */
  jobs: Record<keyof typeof JOB_HANDLERS, LambdaHandler>;
  /** The local Lambda API (`AWS_ENDPOINT_URL_LAMBDA` of the handlers). */
  lambdaEndpoint: string;
  /** Asynchronous invocations queued, running or waiting for a retry; resolves when none is left. */
  asyncSettled(): Promise<void>;
  /** Counts of asynchronous invocations so far. */
  asyncStats(): AsyncInvocationStats;
  /** The pool now: per worker, the modules of its running invocations. */
  pool(): Array<{ index: number; threadId: number; running: string[] }>;
  /** Ends one worker as a crash would (a container dying mid-invocation); the host replaces it. */
  killWorker(index: number): Promise<void>;
  status(): HandlerStatus;
  /** Rebuilds and swaps in a new generation; on a build error the current one keeps serving. */
  reload(): Promise<HandlerStatus>;
  close(): Promise<void>;
}

/** Every handler module the local stack serves: the authorizer, one per route and the jobs. */
export const HANDLER_MODULES: readonly string[] = [
  AUTHORIZER_HANDLER,
  ...new Set(Object.values(ROUTE_HANDLERS)),
  ...Object.values(JOB_HANDLERS),
];

export interface AsyncInvocationStats {
  queued: number;
  attempts: number;
  retried: number;
  succeeded: number;
  /** Gave up after every retry failed. */
  failed: number;
}

/** Local waits before the retries of an asynchronous invocation (AWS: about 1 and 2 minutes). */
const ASYNC_RETRY_DELAYS_MS = [200, 400] as const;

/**
 * The Lambda context of an invocation the host starts itself (asynchronous invocations, the scheduled
 * sweep): the deployed function's name and `timeoutMs` from now as its remaining time.
 */
export function localLambdaContext(module: string, timeoutMs: number): Context {
  const functionName = `${APP_NAME}-${LOCAL.stage}-${module}`;
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${LOCAL.region}:${LOCAL.accountId}:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Which pool worker serves an event: the connection's own one, so its events keep their order. */
function connectionOf(event: unknown): string | undefined {
  const id = (event as { requestContext?: { connectionId?: unknown } } | null)?.requestContext?.connectionId;
  return typeof id === "string" ? id : undefined;
}

function hashOf(text: string): number {
  let hash = 2166136261;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 16777619);
  return hash >>> 0;
}

export async function startHandlerHost(options: HandlerHostOptions): Promise<HandlerHost> {
  const root = options.root ?? REPO_ROOT;
  const functionsDir = join(root, "packages", "functions", "src");
  const buildRoot = join(options.stateDir, "build");
  const workerFile = join(buildRoot, "worker.mjs");
  const { reporter } = options;
  const sourceOf = (name: string) => relative(root, handlerSourcePath(functionsDir, name));

  await rm(buildRoot, { recursive: true, force: true });
  await mkdir(buildRoot, { recursive: true });
  await buildWorker(fileURLToPath(new URL("./worker.ts", import.meta.url)), workerFile);

  const workerCount = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const retryDelays = options.asyncRetryDelaysMs ?? ASYNC_RETRY_DELAYS_MS;
  let current: { workers: WorkerHandle[]; dir: string; files: Record<string, string> } | undefined;
  let status: HandlerStatus = { generation: 0, loaded: [], missing: [...HANDLER_MODULES], failed: {} };
  let closed = false;
  let crashes = 0;

  const jobModules = new Set<string>(Object.values(JOB_HANDLERS));
  let lambdaApi: LambdaApi | undefined;
  const asyncRunning = new Set<Promise<void>>();
  const stats: AsyncInvocationStats = { queued: 0, attempts: 0, retried: 0, succeeded: 0, failed: 0 };
  lambdaApi = await startLambdaApi({
    moduleOf: (name) => {
      // A name or ARN (`arn:aws:lambda:…:function:<name>[:qualifier]`); locally a function is named
      // `<app>-<stage>-<module>`, as `Resource.<Name>.name` says.
      const bare = name.includes(":function:") ? (name.split(":function:")[1]?.split(":")[0] ?? "") : name;
      const module = bare.slice(bare.lastIndexOf("-") + 1);
      return jobModules.has(module) ? module : undefined;
    },
    enqueue: (module, event) => enqueue(module, event),
    invoke: (module, event) => forward(module)(event, asyncContext(module)),
  });
  const lambdaEndpoint = lambdaApi.endpoint;

  const spawn = (files: Record<string, string>) =>
    startWorker({
      workerFile,
      ...(options.workerConcurrency !== undefined ? { concurrency: options.workerConcurrency } : {}),
      init: {
        files,
        ...(options.recorder
          ? {
              record: {
                packageDirs: [join(root, "packages", "functions"), join(root, "packages", "core")],
                everyCall: options.recorder.everyCall === true,
              },
            }
          : {}),
      },
      env: { ...process.env, ...options.env, AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint },
      quiet: options.quiet,
      onUnhandled: (error) =>
        reporter.error(
          `a handler left an unhandled ${error.name}: ${error.message.split("\n", 1)[0]} (fix: await or catch it; on AWS this crashes the function)`,
        ),
      onCrash: (reason) =>
        void restartAfterCrash(reason, files).catch((error: Error) => {
          if (!closed) reporter.error(`could not restart a handler worker: ${error.message}`);
        }),
      ...(options.recorder?.duration
        ? { onDuration: (module: string, durationMs: number) => options.recorder?.duration?.(module, durationMs) }
        : {}),
      onObservation: (observation) => {
        if (observation.kind === "aws-call") options.recorder?.awsCall(observation.call);
        else options.recorder?.resourceRead(observation.read);
      },
    });

  /** Workers killed on purpose (`killWorker`), replaced without counting as a crash. */
  const killed = new WeakSet<WorkerHandle>();

  const restartAfterCrash = async (reason: string, files: Record<string, string>) => {
    if (closed || !current || current.files !== files) return;
    const generation = current;
    const dead = generation.workers.filter((worker) => worker.dead);
    const expected = dead.some((worker) => killed.has(worker));
    if (!expected) {
      crashes += 1;
      if (crashes > MAX_CRASH_RESTARTS) {
        reporter.error(`a handler worker crashed again (${reason}); not restarting until the next change`);
        return;
      }
      reporter.error(`a handler worker crashed (${reason}); restarting it`);
    }
    for (const worker of dead) {
      const index = generation.workers.indexOf(worker);
      const replacement = await spawn(generation.files);
      if (current !== generation || closed) {
        await replacement.terminate();
        return;
      }
      generation.workers[index] = replacement;
    }
  };

  /** The worker for an event: the connection's own, else the least busy. */
  const pick = (workers: WorkerHandle[], event: unknown): WorkerHandle => {
    const connectionId = connectionOf(event);
    const live = workers.filter((worker) => !worker.dead);
    const from = live.length > 0 ? live : workers;
    if (connectionId !== undefined) {
      const own = workers[hashOf(connectionId) % workers.length];
      if (own && !own.dead) return own;
    }
    let best = from[0] as WorkerHandle;
    for (const worker of from) if (worker.inFlight < best.inFlight) best = worker;
    return best;
  };

  const missingError = (name: string) =>
    new Error(
      `handler module ${sourceOf(name)} does not exist (fix: create it exporting \`handler\`; it loads on save)`,
    );

  const forward =
    (name: string): LambdaHandler =>
    async (event, context) => {
      if (status.missing.includes(name)) throw missingError(name);
      const failure = status.failed[name];
      if (failure !== undefined) throw new Error(`handler module ${sourceOf(name)} failed to load: ${failure}`);
      if (!current) {
        throw new Error(
          `no handlers are loaded (${status.buildError ?? "not built yet"}) (fix: correct the build error and save)`,
        );
      }
      options.recorder?.invocation?.(name);
      return pick(current.workers, event).invoke(name, event, context);
    };

  const asyncContext = (module: string): Context => localLambdaContext(module, options.integrationTimeoutMs);

  /** At least once: the first attempt, then a retry after each failure, up to FANOUT.retries. */
  const runAsync = async (module: string, event: unknown): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      stats.attempts += 1;
      try {
        await forward(module)(event, asyncContext(module));
        stats.succeeded += 1;
        return;
      } catch (error) {
        if (closed) return;
        const retryIn = attempt < FANOUT.retries ? retryDelays[attempt] : undefined;
        const why = (error as Error).message.split("\n", 1)[0];
        if (retryIn === undefined) {
          stats.failed += 1;
          reporter.error(
            `asynchronous invocation of ${module} failed ${attempt + 1} times (${why}); dropping the event`,
          );
          return;
        }
        stats.retried += 1;
        reporter.warn(`asynchronous invocation of ${module} failed (${why}); retrying in ${retryIn} ms`);
        await sleep(retryIn);
        if (closed) return;
      }
    }
  };

  const enqueue = (module: string, event: unknown): void => {
    stats.queued += 1;
    const running = runAsync(module, event);
    asyncRunning.add(running);
    void running.finally(() => asyncRunning.delete(running));
  };

  let reloading: Promise<HandlerStatus> | undefined;
  let again = false;
  const rebuild = async (): Promise<HandlerStatus> => {
    const generation = status.generation + 1;
    const dir = join(buildRoot, `g${generation}`);
    const started = Date.now();
    let files: Record<string, string>;
    let missing: string[];
    try {
      ({ files, missing } = await buildHandlers({ functionsDir, names: HANDLER_MODULES, outDir: dir, root }));
    } catch (error) {
      const message = error instanceof HandlerBuildError ? error.message : (error as Error).message;
      status = { ...status, buildError: message };
      reporter.error(
        `handler build failed: ${message} (${current ? "the previous handlers keep serving" : "no handlers are serving"}; fix: correct it and save)`,
      );
      await rm(dir, { recursive: true, force: true });
      return status;
    }
    let workers: WorkerHandle[];
    try {
      const started = await Promise.allSettled(Array.from({ length: workerCount }, () => spawn(files)));
      const failure = started.find((result) => result.status === "rejected");
      workers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      if (failure) {
        await Promise.all(workers.map((worker) => worker.terminate()));
        throw failure.reason;
      }
    } catch (error) {
      status = { ...status, buildError: (error as Error).message };
      reporter.error(
        `handler worker failed to start: ${(error as Error).message} (the previous handlers keep serving)`,
      );
      return status;
    }
    const previous = current;
    current = { workers, dir, files };
    crashes = 0;
    const loadFailures = (workers[0] as WorkerHandle).loadFailures;
    status = {
      generation,
      loaded: Object.keys(files).filter((name) => loadFailures[name] === undefined),
      missing,
      failed: loadFailures,
    };
    if (previous) {
      void Promise.all(previous.workers.map((worker) => worker.retire(options.integrationTimeoutMs)))
        .then(() => rm(previous.dir, { recursive: true, force: true }))
        .catch(() => {});
    }
    const verb = generation === 1 ? "loaded" : "reloaded";
    reporter.info(
      `handlers ${verb} in ${Date.now() - started} ms (${workerCount} worker${workerCount === 1 ? "" : "s"}): ${status.loaded.join(", ") || "none"}`,
    );
    if (missing.length > 0) {
      reporter.warn(
        `missing handler module(s): ${missing.map(sourceOf).join(", ")} (their routes answer with an error until the files exist)`,
      );
    }
    for (const [name, reason] of Object.entries(status.failed)) {
      reporter.error(`handler module ${sourceOf(name)} failed to load: ${reason}`);
    }
    return status;
  };

  const reload = (): Promise<HandlerStatus> => {
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      try {
        let result = await rebuild();
        while (again && !closed) {
          again = false;
          result = await rebuild();
        }
        return result;
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };

  await reload();
  const watcher = options.watch
    ? watchSources(
        [functionsDir, join(root, "packages", "core", "src")],
        () => void reload().catch((error: Error) => reporter.error(`handler reload failed: ${error.message}`)),
        (dir, error) =>
          reporter.warn(`cannot watch ${relative(root, dir)} for changes (${error.message}); restart to reload`),
      )
    : undefined;

  const routes: RouteTable = Object.fromEntries(
    Object.entries(ROUTE_HANDLERS).map(([routeKey, name]) => [routeKey, forward(name)]),
  );
  return {
    routes,
    authorizer: forward(AUTHORIZER_HANDLER),
    jobs: {
      sweep: forward(JOB_HANDLERS.sweep),
      notify: forward(JOB_HANDLERS.notify),
      fanout: forward(JOB_HANDLERS.fanout),
      revoke: forward(JOB_HANDLERS.revoke),
    },
    lambdaEndpoint,
    async asyncSettled() {
      while (asyncRunning.size > 0) await Promise.allSettled([...asyncRunning]);
    },
    asyncStats: () => ({ ...stats }),
    pool: () =>
      (current?.workers ?? []).map((worker, index) => ({
        index,
        threadId: worker.threadId,
        running: worker.running(),
      })),
    async killWorker(index) {
      const worker = current?.workers[index];
      if (!worker) throw new Error(`there is no handler worker #${index}`);
      killed.add(worker);
      await worker.kill();
    },
    status: () => status,
    reload,
    async close() {
      closed = true;
      watcher?.close();
      await reloading?.catch(() => {});
      await Promise.all((current?.workers ?? []).map((worker) => worker.terminate()));
      current = undefined;
      await lambdaApi?.close();
      lambdaApi = undefined;
    },
  };
}
