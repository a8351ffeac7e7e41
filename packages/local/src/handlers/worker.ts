import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import type { Context } from "aws-lambda";
import { type ContextFields, type HostToWorker, serializeError, type WorkerInit, type WorkerToHost } from "./protocol";
import { installRecorders, runAsModule } from "./recording";

/**
 * A handler worker: one generation of bundled handlers, loaded in their own thread with their own
 * environment (the `SST_RESOURCE_*` values), like a warm Lambda. Reloading starts a new worker, so
 * module state (clients, caches) starts fresh, as after a deploy.
 */

type Handler = (event: unknown, context: Context) => unknown;

const port = parentPort;
if (!port) throw new Error("handlers/worker must run in a worker thread");
const send = (message: WorkerToHost) => port.postMessage(message);

function lambdaContext(fields: ContextFields): Context {
  const deadline = Date.now() + fields.remainingTimeMs;
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported locally: return a value or throw from an async handler`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fields.functionName,
    functionVersion: fields.functionVersion,
    invokedFunctionArn: fields.invokedFunctionArn,
    memoryLimitInMB: fields.memoryLimitInMB,
    awsRequestId: fields.awsRequestId,
    logGroupName: fields.logGroupName,
    logStreamName: fields.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported("done"),
    fail: unsupported("fail"),
    succeed: unsupported("succeed"),
  };
}

// A Lambda runtime would crash on these; here the worker keeps serving and the host reports them.
process.on("unhandledRejection", (error) => send({ type: "unhandled", error: serializeError(error) }));
process.on("uncaughtException", (error) => send({ type: "unhandled", error: serializeError(error) }));

const { files, record } = workerData as WorkerInit;
// Before any handler module loads: the recorders must see the clients and `Resource` they create.
if (record) {
  installRecorders(record.packageDirs, (observation) => send({ type: "observation", observation }), record.everyCall);
}
const handlers = new Map<string, Handler>();
const loadFailures: Record<string, string> = {};
for (const [name, file] of Object.entries(files)) {
  try {
    const loaded = (await import(pathToFileURL(file).href)) as { handler?: unknown };
    if (typeof loaded.handler === "function") handlers.set(name, loaded.handler as Handler);
    else loadFailures[name] = "it does not export a `handler` function";
  } catch (error) {
    const { name: errorName, message } = serializeError(error);
    loadFailures[name] = `loading it threw ${errorName}: ${message.split("\n", 1)[0]}`;
  }
}

port.on("message", async (message: HostToWorker) => {
  if (message.type !== "invoke") return;
  const handler = handlers.get(message.module);
  // From the call of the handler until its promise settles: the span Lambda bills as duration.
  const started = performance.now();
  try {
    if (!handler) throw new Error(`handler module "${message.module}" is not loaded`);
    const context = lambdaContext(message.context);
    // Only a recording host needs to know which module made a call: an AsyncLocalStorage scope makes
    // Node run a promise hook on every promise of the invocation (a Lambda runtime has none of that).
    const value = await (record
      ? runAsModule(message.module, () => handler(message.event, context))
      : handler(message.event, context));
    const durationMs = performance.now() - started;
    try {
      send({ type: "result", id: message.id, ok: true, value, durationMs });
    } catch (error) {
      throw new Error(`its result cannot be serialised (${serializeError(error).message})`);
    }
  } catch (error) {
    send({
      type: "result",
      id: message.id,
      ok: false,
      error: serializeError(error),
      durationMs: performance.now() - started,
    });
  }
});

send({ type: "ready", loadFailures });
