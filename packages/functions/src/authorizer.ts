import { authorizeConnect, sharedTokenVerifier, type WebSocketConnectAuthorizerEvent } from "@wsauth/core/auth";
import type { APIGatewayAuthorizerResult, Context } from "aws-lambda";
import { Resource } from "sst";

/**
 * `$connect` REQUEST authorizer. The verifier is built once per container on first use (so a
 * configuration error is reported as a 500 with a log line, not an import failure) and reused.
 */
export async function handler(
  event: WebSocketConnectAuthorizerEvent,
  _context?: Context,
): Promise<APIGatewayAuthorizerResult> {
  return authorizeConnect(event, () => sharedTokenVerifier(Resource));
}
