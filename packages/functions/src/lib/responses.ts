import type { SUBPROTOCOL } from "@wsauth/core/constants";
import { isClientSafe, toWsAuthError, type WsAuthError } from "@wsauth/core/errors";
import type { Log } from "@wsauth/core/logging";
import type { Realtime } from "@wsauth/core/messaging";
import { frames } from "@wsauth/core/protocol";
import type { GatewayResponse } from "./events";

/**
 * How outcomes become gateway responses and error frames: the one place this is decided.
 * - `$connect`: success is 200, with `Sec-WebSocket-Protocol: wsauth.v1` whenever the client offered
 *   it (the browser fails the handshake unless the server picks one it offered). Any failure
 *   rejects the upgrade with 500 and no detail; the log has the code.
 * - Message routes: always 200. A client error (bad input, identity) is answered with an `error`
 *   frame with its code and message; a dependency failure or bug is logged with its code and the
 *   client gets the code and a generic message. `token_expired` also closes the connection.
 */
export const OK: GatewayResponse = { statusCode: 200 };
export const FAILED: GatewayResponse = { statusCode: 500 };

const GENERIC_MESSAGES: Partial<Record<WsAuthError["code"], string>> = {
  dependency_failed: "a service the server depends on failed; try again",
  timeout: "the server timed out; try again",
};

/** The `error` frame's message: the error's own for client errors, a generic one otherwise. */
export function clientMessageOf(error: WsAuthError): string {
  return isClientSafe(error) ? error.message : (GENERIC_MESSAGES[error.code] ?? "internal error");
}

/** Client errors are routine (info); dependency failures and bugs are errors, with their cause. */
export function logFailure(log: Log, message: string, error: WsAuthError, fields: Record<string, unknown>): void {
  if (isClientSafe(error)) log.info(message, { code: error.code, ...fields });
  else log.error(message, { code: error.code, ...fields, error: error.cause ?? error });
}

export function connectAccepted(subprotocol: typeof SUBPROTOCOL | undefined): GatewayResponse {
  return subprotocol ? { statusCode: 200, headers: { "Sec-WebSocket-Protocol": subprotocol } } : OK;
}

export function connectFailed(log: Log, connectionId: string, thrown: unknown): GatewayResponse {
  logFailure(log, "connect rejected", toWsAuthError(thrown), { connectionId });
  return FAILED;
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
    await realtime().reply(connectionId, frames.error(error.code, clientMessageOf(error)));
    if (error.code === "token_expired") await realtime().close(connectionId);
  } catch (replyError) {
    // The management API or the configuration failed too: the log is all that is left.
    logFailure(log, "could not answer a rejected message", toWsAuthError(replyError), { connectionId });
  }
  return OK;
}
