import { toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { SweepReport } from "@wsauth/core/messaging";
import { logFailure } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog("sweep");

/** Scheduled every minute: closes connections past their token's expiry or the lifetime cap. */
export async function handler(): Promise<SweepReport> {
  try {
    return await realtime().sweep();
  } catch (error) {
    // Rethrown so the invocation counts as failed (Lambda error metrics, retries).
    logFailure(log, "sweep failed", toWsAuthError(error), {});
    throw error;
  }
}
