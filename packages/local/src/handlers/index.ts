import { mkdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { AUTHORIZER_HANDLER, JOB_HANDLERS, ROUTE_HANDLERS } from "@wsauth/core/constants";
import type { LambdaHandler, RouteTable } from "../gateway";
import type { Reporter } from "../runner";
import { buildHandlers, buildWorker, HandlerBuildError, handlerSourcePath } from "./build";
import type { CallRecorder } from "./recording";

export type { CallRecorder, RecordedAwsCall, RecordedResourceRead } from "./recording";

import { watchSources } from "./watch";
import { startWorker, type WorkerHandle } from "./worker-handle";

/**
 * Runs the real handlers of packages/functions for the local gateway: bundled with esbuild, loaded in
 * a worker thread whose environment holds the linked resources (`SST_RESOURCE_*`), rebuilt and
 * reloaded when packages/functions or packages/core change. The route table it hands the gateway is
 * stable: each entry forwards to the current generation, so a reload needs no `setRoutes`.
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
  /** The scheduled sweeper and the IAM-invoked push (JOB_HANDLERS), invoked directly. */
  jobs: Record<keyof typeof JOB_HANDLERS, LambdaHandler>;
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

  let current: { worker: WorkerHandle; dir: string; files: Record<string, string> } | undefined;
  let status: HandlerStatus = { generation: 0, loaded: [], missing: [...HANDLER_MODULES], failed: {} };
  let closed = false;
  let crashes = 0;

  const spawn = (files: Record<string, string>) =>
    startWorker({
      workerFile,
      init: {
        files,
        ...(options.recorder
          ? { record: { packageDirs: [join(root, "packages", "functions"), join(root, "packages", "core")] } }
          : {}),
      },
      env: { ...process.env, ...options.env },
      quiet: options.quiet,
      onUnhandled: (error) =>
        reporter.error(
          `a handler left an unhandled ${error.name}: ${error.message.split("\n", 1)[0]} (fix: await or catch it; on AWS this crashes the function)`,
        ),
      onCrash: (reason) => void restartAfterCrash(reason),
      onObservation: (observation) => {
        if (observation.kind === "aws-call") options.recorder?.awsCall(observation.call);
        else options.recorder?.resourceRead(observation.read);
      },
    });

  const restartAfterCrash = async (reason: string) => {
    if (closed || !current) return;
    crashes += 1;
    if (crashes > MAX_CRASH_RESTARTS) {
      reporter.error(`the handler worker crashed again (${reason}); not restarting until the next change`);
      return;
    }
    reporter.error(`the handler worker crashed (${reason}); restarting it`);
    const { dir, files } = current;
    current = { worker: await spawn(files), dir, files };
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
      return current.worker.invoke(name, event, context);
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
    let worker: WorkerHandle;
    try {
      worker = await spawn(files);
    } catch (error) {
      status = { ...status, buildError: (error as Error).message };
      reporter.error(
        `handler worker failed to start: ${(error as Error).message} (the previous handlers keep serving)`,
      );
      return status;
    }
    const previous = current;
    current = { worker, dir, files };
    crashes = 0;
    status = {
      generation,
      loaded: Object.keys(files).filter((name) => worker.loadFailures[name] === undefined),
      missing,
      failed: worker.loadFailures,
    };
    if (previous) {
      void previous.worker
        .retire(options.integrationTimeoutMs)
        .then(() => rm(previous.dir, { recursive: true, force: true }))
        .catch(() => {});
    }
    const verb = generation === 1 ? "loaded" : "reloaded";
    reporter.info(`handlers ${verb} in ${Date.now() - started} ms: ${status.loaded.join(", ") || "none"}`);
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
    jobs: { sweep: forward(JOB_HANDLERS.sweep), notify: forward(JOB_HANDLERS.notify) },
    status: () => status,
    reload,
    async close() {
      closed = true;
      watcher?.close();
      await reloading?.catch(() => {});
      await current?.worker.terminate();
      current = undefined;
    },
  };
}
