// Entry of a worker thread that runs a TypeScript module: worker threads do not inherit the tsx
// loader of the bench process, so it is registered here before the module is imported.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
