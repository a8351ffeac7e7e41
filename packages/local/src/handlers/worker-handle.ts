import { Worker } from "node:worker_threads";
import type { Context } from "aws-lambda";
import {
  type ContextFields,
  deserializeError,
  type HostToWorker,
  type Observation,
  type SerializedError,
  type WorkerInit,
  type WorkerToHost,
} from "./protocol";

/** One running handler worker, as the host sees it. */
export interface WorkerHandle {
  /** Modules that were bundled but failed to load, with the reason. */
  loadFailures: Record<string, string>;
  invoke(module: string, event: unknown, context: Context): Promise<unknown>;
  /** Stops taking work; terminates once running invocations have settled (or after `maxWaitMs`). */
  retire(maxWaitMs: number): Promise<void>;
  /** Terminates now; running invocations fail. */
  terminate(): Promise<void>;
  /**
   * Ends the thread as a crash would (a container dying mid-invocation): running invocations fail and
   * `onCrash` fires, so the host replaces it.
   */
  kill(): Promise<void>;
  /** Invocations running now or waiting for one of the worker's slots. */
  readonly inFlight: number;
  readonly threadId: number;
  /** The thread has exited (crashed, killed or terminated). */
  readonly dead: boolean;
  /** Modules of the invocations running now. */
  running(): string[];
}

function contextFields(context: Context): ContextFields {
  return {
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    remainingTimeMs: context.getRemainingTimeInMillis(),
  };
}

/**
 * How many invocations one worker runs at once; more wait in turn (first come, first served). A Lambda
 * container runs one event at a time and the service starts more containers for a burst, each with its
 * own sockets; a worker runs its events concurrently in one thread with one set of SDK clients, so
 * without a bound a burst (10,000 sockets closing at once: 10,000 `$disconnect`s) would queue every
 * DynamoDB call behind one socket pool until their connection timeouts fired.
 */
export const WORKER_CONCURRENCY = 64;

export async function startWorker(options: {
  workerFile: string;
  /** Invocations run at once (WORKER_CONCURRENCY by default). */
  concurrency?: number;
  init: WorkerInit;
  env: NodeJS.ProcessEnv;
  /** Drop the handlers' own stdout (their JSON logs) instead of forwarding it. */
  quiet: boolean;
  onUnhandled: (error: SerializedError) => void;
  /** What the handlers used (only when `init.record` is set). */
  onObservation?: (observation: Observation) => void;
  /** The worker died on its own (not terminated by us). */
  onCrash: (reason: string) => void;
  /** Each invocation's duration inside the worker, as it settles. */
  onDuration?: (module: string, durationMs: number) => void;
}): Promise<WorkerHandle> {
  const worker = new Worker(options.workerFile, {
    workerData: options.init,
    env: options.env,
    stdout: options.quiet,
  });
  if (options.quiet) worker.stdout.resume();
  const concurrency = options.concurrency ?? WORKER_CONCURRENCY;
  interface Invocation {
    module: string;
    resolve: (value: unknown) => void;
    reject: (error: Error) => void;
    /** Frees the invocation's slot (once), when it settles or when its time is up. */
    release: () => void;
  }
  /** Posted to the thread, not yet settled. */
  const pending = new Map<number, Invocation>();
  /** Waiting for a slot, in arrival order. */
  const waiting: Array<{ id: number; module: string; event: unknown; context: Context; invocation: Invocation }> = [];
  /** Slots taken: posted invocations that have neither settled nor run out of time. */
  let busy = 0;
  let nextId = 0;
  let ending = false;
  let dead = false;
  let drained: (() => void) | undefined;

  const failPending = (reason: string) => {
    for (const { reject } of pending.values()) reject(new Error(reason));
    for (const { invocation } of waiting) invocation.reject(new Error(reason));
    pending.clear();
    waiting.length = 0;
    busy = 0;
  };

  /** Posts waiting invocations while slots are free. */
  const pump = () => {
    while (busy < concurrency && waiting.length > 0 && !dead) {
      const next = waiting.shift();
      if (next) dispatch(next.id, next.module, next.event, next.context, next.invocation);
    }
  };

  function dispatch(id: number, module: string, event: unknown, context: Context, invocation: Invocation) {
    // The remaining time is read now, so time spent waiting for a slot counts against it (as the
    // gateway's integration timeout does).
    const message: HostToWorker = { type: "invoke", id, module, event, context: contextFields(context) };
    busy += 1;
    let released = false;
    // A handler that never settles holds its slot only until its time is up, as Lambda ends it then.
    const timer = setTimeout(() => invocation.release(), Math.max(0, message.context.remainingTimeMs));
    timer.unref();
    invocation.release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      busy -= 1;
      pump();
    };
    pending.set(id, invocation);
    try {
      worker.postMessage(message);
    } catch (error) {
      pending.delete(id);
      invocation.release();
      invocation.reject(new Error(`the event cannot be passed to the handler (${(error as Error).message})`));
    }
  }

  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    worker.on("message", (message: WorkerToHost) => {
      if (message.type === "ready") resolve(message.loadFailures);
      else if (message.type === "unhandled") options.onUnhandled(message.error);
      else if (message.type === "observation") options.onObservation?.(message.observation);
      else {
        const waiter = pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id);
        waiter.release();
        options.onDuration?.(waiter.module, message.durationMs);
        if (message.ok) waiter.resolve(message.value);
        else waiter.reject(deserializeError(message.error));
        if (pending.size === 0 && waiting.length === 0) drained?.();
      }
    });
    worker.on("error", (error) => {
      reject(error);
      if (!ending) options.onCrash(`${error.name}: ${error.message}`);
    });
    worker.on("exit", (code) => {
      dead = true;
      reject(new Error(`handler worker exited with code ${code} while loading`));
      failPending(`the handler worker stopped (exit code ${code}) during the invocation`);
      drained?.();
      if (!ending) options.onCrash(`exit code ${code}`);
    });
  });

  const loadFailures = await ready;
  const terminate = async () => {
    ending = true;
    await worker.terminate();
    failPending("the handler worker was stopped during the invocation");
  };
  return {
    loadFailures,
    invoke(module, event, context) {
      if (ending || dead) return Promise.reject(new Error("the handler worker is shutting down"));
      const id = nextId++;
      return new Promise<unknown>((resolve, reject) => {
        const invocation: Invocation = { module, resolve, reject, release: () => {} };
        if (busy < concurrency) dispatch(id, module, event, context, invocation);
        else waiting.push({ id, module, event, context, invocation });
      });
    },
    async retire(maxWaitMs) {
      ending = true;
      if (pending.size > 0 || waiting.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          drained = resolve;
          // A hung invocation must not keep an old generation alive forever.
          timer = setTimeout(resolve, maxWaitMs);
        });
        clearTimeout(timer);
      }
      await terminate();
    },
    terminate,
    async kill() {
      await worker.terminate();
    },
    get inFlight() {
      return pending.size + waiting.length;
    },
    threadId: worker.threadId,
    get dead() {
      return dead;
    },
    running: () => [...pending.values()].map((entry) => entry.module),
  };
}
