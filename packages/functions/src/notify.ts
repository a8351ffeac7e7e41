import { toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { DeliveryReport, PublishReport } from "@wsauth/core/messaging";
import { logFailure } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog("notify");

/**
 * Invoked with IAM by backend services: `{ userId | username, data }` -> `{ delivered, gone, failed }`,
 * or `{ channel, data }` (a server-side publish, as `system`) -> `{ channel, seq, recipients, jobs,
 * delivered, gone, failed }` (`jobs`: fan-out jobs queued past FANOUT.inlineMax subscribers).
 * Bad input or a failed dependency rejects the invocation (`errorType` is the error class, the
 * message names the problem; `code` is logged).
 */
export async function handler(event: unknown): Promise<DeliveryReport | PublishReport> {
  try {
    return await realtime().notify(event);
  } catch (thrown) {
    const error = toWsAuthError(thrown);
    logFailure(log, "notify failed", error, {});
    throw error;
  }
}
