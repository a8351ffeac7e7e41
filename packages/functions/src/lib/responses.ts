import type { SUBPROTOCOL } from "@wsauth/core/constants";
import { ERROR_WIRE, isClientSafe, toWire, toWsAuthError, type WsAuthError } from "@wsauth/core/errors";
import type { Log } from "@wsauth/core/logging";
import type { Realtime } from "@wsauth/core/messaging";
import { frames } from "@wsauth/core/protocol";
import type { GatewayResponse } from "./events";

/**
 * How handler outcomes become gateway responses (what each error code shows a client is decided by
 * `ERROR_WIRE` in `@wsauth/core/errors`):
 * - `$connect`: success is 200, with `Sec-WebSocket-Protocol: wsauth.v1` whenever the client offered
 *   it (the browser fails the handshake unless the server picks one it offered). A failure rejects
 *   the upgrade with its code's `connectStatus` (429 for `too_many_connections`), else 500, and no
 *   detail beyond the status; the log has the code.
 * - Message routes: always 200. A failure is answered with an `error` frame (`toWire`: the code, and
 *   the error's own message only for client errors); codes that close the connection also close it.
 */
export const OK: GatewayResponse = { statusCode: 200 };
export const FAILED: GatewayResponse = { statusCode: 500 };

/** Client errors are routine (info); dependency failures and bugs are errors, with their cause. */
export function logFailure(log: Log, message: string, error: WsAuthError, fields: Record<string, unknown>): void {
  if (isClientSafe(error)) log.info(message, { code: error.code, ...fields });
  else log.error(message, { code: error.code, ...fields, error: error.cause ?? error });
}

export function connectAccepted(subprotocol: typeof SUBPROTOCOL | undefined): GatewayResponse {
  return subprotocol ? { statusCode: 200, headers: { "Sec-WebSocket-Protocol": subprotocol } } : OK;
}

export function connectFailed(log: Log, connectionId: string, thrown: unknown): GatewayResponse {
  const error = toWsAuthError(thrown);
  logFailure(log, "connect rejected", error, { connectionId });
  const status = ERROR_WIRE[error.code].connectStatus;
  return status ? { statusCode: status } : FAILED;
}

/** Answers a failed message route: an `error` frame to the caller (and a close for `token_expired`). */
export async function routeFailed(
  realtime: () => Realtime,
  log: Log,
  connectionId: string,
  thrown: unknown,
): Promise<GatewayResponse> {
  const error = toWsAuthError(thrown);
  logFailure(log, "message rejected", error, { connectionId });
  try {
    const wire = toWire(error);
    await realtime().reply(connectionId, frames.error(wire.code, wire.message));
    if (ERROR_WIRE[error.code].closesConnection) await realtime().close(connectionId);
  } catch (replyError) {
    // The management API or the configuration failed too: the log is all that is left.
    logFailure(log, "could not answer a rejected message", toWsAuthError(replyError), { connectionId });
  }
  return OK;
}
