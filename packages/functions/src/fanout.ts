import { InputError, toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { FanOutJobReport } from "@wsauth/core/messaging";
import { logFailure } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog("fanout");

/**
 * One fan-out job, invoked asynchronously by the route that fans out: `{ jobId, frame, connectionIds }`.
 * A failed dependency or send rejects the invocation, so Lambda retries it (the job skips the
 * connections it already sent to); a malformed job is logged and dropped, since no retry can fix it.
 */
export async function handler(event: unknown): Promise<FanOutJobReport | undefined> {
  try {
    return await realtime().fanOutJob(event);
  } catch (thrown) {
    const error = toWsAuthError(thrown);
    logFailure(log, "fan-out job failed", error, {});
    if (error instanceof InputError) return undefined;
    throw error;
  }
}
