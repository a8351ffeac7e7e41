import {
  authorizeConnect,
  createRevocationLookup,
  type RevocationLookup,
  sharedTokenVerifier,
} from "@wsauth/core/auth";
import type { WebSocketConnectAuthorizerEvent } from "@wsauth/core/events";
import type { APIGatewayAuthorizerResult, Context } from "aws-lambda";
import { Resource } from "sst";

/** The container's revocation lookup (an SDK-free GetItem, cached per user), built on first use. */
let revocations: RevocationLookup | undefined;
const revocationLookup = () => (revocations ??= createRevocationLookup({ tableName: Resource.Connections.name }));

/**
 * `$connect` REQUEST authorizer. The verifier and the revocation lookup are built once per container on
 * first use (so a configuration error is reported as a 500 with a log line, not an import failure) and
 * reused. Not `async`: it hands over authorizeConnect's own promise unchanged (an `async` wrapper would
 * put a second promise around every answer, rejections included).
 */
export function handler(
  event: WebSocketConnectAuthorizerEvent,
  _context?: Context,
): Promise<APIGatewayAuthorizerResult> {
  return authorizeConnect(event, () => sharedTokenVerifier(Resource), undefined, revocationLookup);
}
