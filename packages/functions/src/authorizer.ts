import { authorizeConnect, sharedTokenVerifier } from "@wsauth/core/auth";
import type { WebSocketConnectAuthorizerEvent } from "@wsauth/core/events";
import type { APIGatewayAuthorizerResult, Context } from "aws-lambda";
import { Resource } from "sst";

/**
 * `$connect` REQUEST authorizer. The verifier is built once per container on first use (so a
 * configuration error is reported as a 500 with a log line, not an import failure) and reused.
 * Not `async`: it hands over authorizeConnect's own promise unchanged (an `async` wrapper would put a
 * second promise around every answer, rejections included).
 */
export function handler(
  event: WebSocketConnectAuthorizerEvent,
  _context?: Context,
): Promise<APIGatewayAuthorizerResult> {
  return authorizeConnect(event, () => sharedTokenVerifier(Resource));
}
