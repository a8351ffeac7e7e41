import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { LambdaHandler } from "./types";

/** What came of one handler invocation. A handler that throws or hangs never escapes this. */
export type Invocation =
  | { ok: true; value: unknown }
  | { ok: false; reason: "error"; error: unknown }
  | { ok: false; reason: "timeout" };

export interface InvokeTarget {
  /** Shown as `context.functionName` (e.g. "wsauth-local-sendmessage"). */
  functionName: string;
  region: string;
  accountId: string;
  timeoutMs: number;
}

const unsupported = (name: string) => () => {
  throw new Error(`context.${name}() is not supported locally: return a value or throw from an async handler`);
};

// Shared methods of every local Lambda context; each invocation only allocates its own fields.
const contextMethods = {
  done: unsupported("done"),
  fail: unsupported("fail"),
  succeed: unsupported("succeed"),
};

function lambdaContext(target: InvokeTarget, deadline: number): Context {
  const context: Context = Object.create(contextMethods);
  context.callbackWaitsForEmptyEventLoop = true;
  context.functionName = target.functionName;
  context.functionVersion = "$LATEST";
  context.invokedFunctionArn = `arn:aws:lambda:${target.region}:${target.accountId}:function:${target.functionName}`;
  context.memoryLimitInMB = "1024";
  context.awsRequestId = randomUUID();
  context.logGroupName = `/aws/lambda/${target.functionName}`;
  context.logStreamName = "local";
  context.getRemainingTimeInMillis = () => Math.max(0, deadline - Date.now());
  return context;
}

/**
 * Invokes a handler with a Lambda-like context and the integration timeout. A timed-out handler keeps
 * running (nothing can stop it), but its result is ignored, as API Gateway ignores a late Lambda.
 */
export function invoke(handler: LambdaHandler, event: unknown, target: InvokeTarget): Promise<Invocation> {
  return new Promise<Invocation>((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      resolve({ ok: false, reason: "timeout" });
    }, target.timeoutMs);
    const finish = (outcome: Invocation) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    try {
      Promise.resolve(handler(event, lambdaContext(target, Date.now() + target.timeoutMs))).then(
        (value) => finish({ ok: true, value }),
        (error: unknown) => finish({ ok: false, reason: "error", error }),
      );
    } catch (error) {
      // A handler that throws synchronously (not an async function) fails the same way.
      finish({ ok: false, reason: "error", error });
    }
  });
}

/** The message of a thrown value, for one log line (never the value itself: it may carry a token). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === "string") return error;
  return typeof error;
}
