import { toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { GatewayResponse, WebSocketEvent } from "./lib/events";
import { FAILED, logFailure, OK } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog("disconnect");

/** `$disconnect` (best effort on AWS: the sweep, TTL and 410 pruning cover a missed one). */
export async function handler(event: WebSocketEvent): Promise<GatewayResponse> {
  const { connectionId } = event.requestContext;
  try {
    await realtime().disconnect(connectionId);
    return OK;
  } catch (error) {
    logFailure(log, "disconnect failed", toWsAuthError(error), { connectionId });
    return FAILED;
  }
}
