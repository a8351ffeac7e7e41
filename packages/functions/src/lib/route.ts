import { ROUTE_HANDLERS } from "@wsauth/core/constants";
import { createLog } from "@wsauth/core/logging";
import type { MessageRouteKey } from "@wsauth/core/messaging";
import { bodyOf, type GatewayResponse, type WebSocketEvent } from "./events";
import { OK, routeFailed } from "./responses";
import { realtime } from "./runtime";

/** The Lambda handler of a message route: hands the frame to the core and maps failures. */
export function messageRoute(route: MessageRouteKey): (event: WebSocketEvent) => Promise<GatewayResponse> {
  const log = createLog(ROUTE_HANDLERS[route]);
  return async (event) => {
    const { connectionId, authorizer, connectedAt } = event.requestContext;
    try {
      await realtime().receive(route, { connectionId, authorizer, connectedAt, body: bodyOf(event) });
      return OK;
    } catch (error) {
      return routeFailed(realtime, log, connectionId, error);
    }
  };
}
