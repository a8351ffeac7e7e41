import { decodeAuthorizerContext, offeredSubprotocol } from "@wsauth/core/auth";
import { WsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import type { GatewayResponse, WebSocketEvent } from "./lib/events";
import { connectAccepted, connectFailed } from "./lib/responses";
import { realtime } from "./lib/runtime";

const log = createLog("connect");

/** `$connect`: registers the connection under the identity the authorizer established (never the client's). */
export async function handler(event: WebSocketEvent): Promise<GatewayResponse> {
  const { connectionId, authorizer, connectedAt, identity } = event.requestContext;
  try {
    const caller = decodeAuthorizerContext(authorizer);
    // The authorizer guards every $connect, so a missing context is a configuration fault, not the client's.
    if (!caller) throw new WsAuthError("internal", "no authorizer context on $connect");
    await realtime().connect({
      connectionId,
      identity: caller,
      connectedAt: connectedAt ?? Date.now(),
      sourceIp: identity?.sourceIp,
      userAgent: identity?.userAgent,
    });
    // Answer `wsauth.v1` whenever the client offered it (whichever transport carried the token): a
    // browser fails the handshake when none of the subprotocols it offered is selected.
    return connectAccepted(offeredSubprotocol(event));
  } catch (error) {
    return connectFailed(log, connectionId, error);
  }
}
