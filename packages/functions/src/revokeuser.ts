import { JOB_HANDLERS } from "@wsauth/core/constants";
import { toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { RevokeReport } from "@wsauth/core/revocation";
import { logFailure } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog(JOB_HANDLERS.revoke);

/**
 * `Revoke`, invoked with IAM (`pnpm ws revoke`, backend services) with `{ userId | username }`, or by
 * the EventBridge rule on Cognito admin actions with their CloudTrail event. Resolves to the report
 * (`null` when the event names no usable user); bad input or a failed dependency rejects.
 */
export async function handler(event: unknown): Promise<RevokeReport | null> {
  try {
    return (await realtime().revoke(event)) ?? null;
  } catch (thrown) {
    const error = toWsAuthError(thrown);
    logFailure(log, "revoke failed", error, {});
    throw error;
  }
}
