/**
 * The local API Gateway: a WebSocket API (REQUEST authorizer on `$connect`, route selection on
 * `$request.body.action`, AWS's limits) and its `@connections` management API on one port, invoking
 * the same Lambda handlers that deploy.
 *
 * Choices where AWS documents less than an emulator must decide (kept in one place on purpose):
 * - Authorizer context reaches later events stringified ("123", "true"), plus `principalId` and
 *   `integrationLatency` (a number); `null` stays `null`.
 * - A `$connect` integration that returns nothing or no `statusCode` accepts (the invocation succeeded).
 *   If the client offered subprotocols and the integration selected none, the 101 carries none and
 *   the client fails the handshake; the connection then gets `$disconnect` with 1006.
 * - Routes are one-way (no route responses, as SST deploys them): an integration's `body` is
 *   discarded unless `routeResponses: true`.
 * - Close codes the gateway uses: 1001 "Going away" (idle timeout, lifetime cap, gateway shutdown),
 *   1009 "Message too big" (frame > 32 KB or message > 128 KB), 1000 (DELETE @connections). A client
 *   close reports its own code (1005 without one); a dropped socket reports 1006.
 * - Idle time restarts on every client data or ping frame; messages the server sends do not count.
 * - `@connections` POST: valid UTF-8 is sent as a text frame, anything else as a binary frame.
 * - Stage throttling: one token bucket per route key (its `routeSettings`, else the stage's
 *   `defaultRouteSettings`). A throttled upgrade is answered `429 {"message":"Too Many Requests"}`
 *   before the authorizer runs; a throttled message gets the error frame `{"message":"Too Many
 *   Requests","connectionId","requestId"}`, no integration runs and the connection stays open.
 *   `$disconnect` is never throttled.
 */
export { startGateway } from "./gateway";
export type { StageThrottle, ThrottleSettings } from "./throttle";
export type { Gateway, GatewayLimits, GatewayOptions, LambdaHandler, RouteTable } from "./types";
