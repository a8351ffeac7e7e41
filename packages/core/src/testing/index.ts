/**
 * Test-only entry point (`@wsauth/core/testing`): API Gateway event fixtures and token minting. Never
 * imported by production code; no production `index.ts` re-exports any of it (a test checks).
 */

export { type ConnectionsServer, startConnectionsServer } from "./connections-server";
export {
  buildConnectAuthorizerEvent,
  type ConnectEventOptions,
  connectEvent,
  disconnectEvent,
  type EventOptions,
  type FixtureApi,
  messageEvent,
} from "./events";
export { ROOMY_LIMITS } from "./limits";
export { capturedLogs, type LogCapture, type LogLine, type LogMatch, printCapturedLogs } from "./log-capture";
export {
  base64UrlJson,
  generateSigningKey,
  type IdTokenOptions,
  idTokenClaims,
  type JwksServer,
  type JwksServerMode,
  type SigningKey,
  signIdToken,
  signJwt,
  startJwksServer,
  tokenClaimsOf,
} from "./tokens";
