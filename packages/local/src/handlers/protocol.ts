import type { RecordedAwsCall, RecordedResourceRead } from "./recording";

/** Messages between the handler host (main thread) and a handler worker. Everything is structured-cloneable. */

export interface WorkerInit {
  /** Module name -> bundled file. */
  files: Record<string, string>;
  /** Record AWS calls and `Resource` reads (recording.ts); folders of the packages the handlers bundle. */
  record?: { packageDirs: string[]; everyCall?: boolean };
}

/** The serialisable part of a Lambda context; the worker rebuilds `getRemainingTimeInMillis` from it. */
export interface ContextFields {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  remainingTimeMs: number;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type HostToWorker = { type: "invoke"; id: number; module: string; event: unknown; context: ContextFields };

export type WorkerToHost =
  | { type: "ready"; loadFailures: Record<string, string> }
  | { type: "result"; id: number; ok: true; value: unknown; durationMs: number }
  | { type: "result"; id: number; ok: false; error: SerializedError; durationMs: number }
  | { type: "unhandled"; error: SerializedError }
  | { type: "observation"; observation: Observation };

export type Observation =
  | { kind: "aws-call"; call: RecordedAwsCall }
  | { kind: "resource-read"; read: RecordedResourceRead };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: "Error", message: typeof error === "string" ? error : `non-Error thrown (${typeof error})` };
}

/** Recreates a thrown error on the host with the same name and message (the gateway maps e.g. "Unauthorized"). */
export function deserializeError(error: SerializedError): Error {
  const revived = new Error(error.message);
  revived.name = error.name;
  if (error.stack) revived.stack = error.stack;
  return revived;
}
