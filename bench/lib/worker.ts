import { parentPort, Worker, workerData } from "node:worker_threads";

/**
 * The sending side of a benchmark runs in a worker thread of its own (on AWS a Lambda runs on other
 * hardware than API Gateway, so it must not share a thread with the gateway and the receiving sockets).
 */

/** Runs `entry` (a module that calls `serveTask`) with `task` in a fresh worker; resolves its result. */
export function runInWorker<Task, Result>(entry: URL, task: Task): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./ts-worker.mjs", import.meta.url), { workerData: { entry: entry.href, task } });
    worker.once("message", (message: { ok: true; result: Result } | { ok: false; error: string }) => {
      void worker.terminate();
      if (message.ok) resolve(message.result);
      else reject(new Error(`${entry.pathname.split("/").at(-1)} failed: ${message.error}`));
    });
    worker.once("error", reject);
  });
}

/** In a worker started by `runInWorker`: runs `measure` on the task and posts the outcome back. */
export function serveTask<Task, Result>(measure: (task: Task) => Promise<Result>): void {
  const task = (workerData as { task?: Task } | null)?.task;
  if (!parentPort || !task) return;
  const port = parentPort;
  measure(task).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
}
