import { toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { SweepReport } from "@wsauth/core/messaging";
import { logFailure } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog("sweep");

/**
 * Scheduled every minute: closes connections past their token's expiry or the lifetime cap, within
 * the time this invocation has left (SWEEP in core constants).
 */
export async function handler(
  _event?: unknown,
  context?: { getRemainingTimeInMillis(): number },
): Promise<SweepReport> {
  try {
    return await realtime().sweep(context ? { remainingTimeMs: () => context.getRemainingTimeInMillis() } : {});
  } catch (error) {
    // Rethrown so the invocation counts as failed (Lambda error metrics, retries).
    logFailure(log, "sweep failed", toWsAuthError(error), {});
    throw error;
  }
}
