import type { APIGatewayAuthorizerResult } from "aws-lambda";
import type { SUBPROTOCOL } from "../constants/index";
import type { WebSocketConnectAuthorizerEvent } from "../events/index";
import { createLog, type Log, type LogFields } from "../logging/index";
import { type ConnectRequest, extractConnectToken } from "./extract";
import { type MaybePromise, settle, UNAUTHORIZED_SIGNAL } from "./fast-path";
import {
  type AuthorizerContext,
  type ConnectionIdentity,
  connectionIdentityOf,
  encodeAuthorizerContext,
  type Transport,
} from "./identity";
import { AuthUnavailableError, outcomeOf, type RejectionOutcome, type RejectionReason, reasonOf } from "./reasons";
import { isRevoked, type NotBeforeSource } from "./revocation-check";
import { checkNow, type TokenVerifier, type VerifyOutcome } from "./verifier";

export type ConnectDecision =
  | {
      effect: "allow";
      identity: ConnectionIdentity;
      /** Served from the verified-token cache (no signature check this time). */
      cached: boolean;
      subprotocol: typeof SUBPROTOCOL | undefined;
    }
  | {
      effect: RejectionOutcome;
      reason: RejectionReason;
      transport?: Transport;
      /** Known only when the signature was verified (a policy `deny`). */
      userId?: string;
      cause?: unknown;
    };

/**
 * Decides a `$connect` request: extract the token, verify it, map the result. Never throws. Answers
 * synchronously whenever the verifier can (no token, a pre-check rejection, a cached token, a cached
 * key); internal to the package, tests reach it through this module.
 */
export function decide(event: ConnectRequest, verifier: TokenVerifier): MaybePromise<ConnectDecision> {
  const extracted = extractConnectToken(event);
  if (!extracted.ok) return { effect: outcomeOf(extracted.reason), reason: extracted.reason };
  const { token, transport, subprotocol } = extracted;
  let outcome: MaybePromise<VerifyOutcome>;
  try {
    outcome = checkNow(verifier, token);
  } catch (cause) {
    return verifierFailed(cause, transport);
  }
  if (outcome instanceof Promise) {
    // Closures only on this path: the synchronous ones allocate none.
    return outcome.then(
      (settled) => toDecision(settled, transport, subprotocol),
      (cause: unknown) => verifierFailed(cause, transport),
    );
  }
  return toDecision(outcome, transport, subprotocol);
}

function verifierFailed(cause: unknown, transport: Transport): ConnectDecision {
  return { effect: "error", reason: "internal_error", transport, cause };
}

function toDecision(
  outcome: VerifyOutcome,
  transport: Transport,
  subprotocol: typeof SUBPROTOCOL | undefined,
): ConnectDecision {
  if (outcome.ok) {
    return {
      effect: "allow",
      identity: connectionIdentityOf(outcome.token, transport),
      cached: outcome.cached,
      subprotocol,
    };
  }
  return {
    effect: outcomeOf(outcome.reason),
    reason: outcome.reason,
    transport,
    ...(outcome.verifiedSub ? { userId: outcome.verifiedSub } : {}),
    ...(outcome.cause ? { cause: outcome.cause } : {}),
  };
}

/**
 * An allowed token is refused after all when its user was revoked after its sign-in (`auth_time`):
 * for every allow, fresh or from the verified-token cache. Synchronous while the user's record is in
 * the lookup's cache; a failed lookup fails closed (500), as a failed JWKS fetch does.
 */
function checkRevocation(decision: ConnectDecision, revocations: () => NotBeforeSource): MaybePromise<ConnectDecision> {
  if (decision.effect !== "allow") return decision;
  const { identity } = decision;
  let notBefore: number | undefined | Promise<number | undefined>;
  try {
    notBefore = revocations().notBefore(identity.userId);
  } catch (cause) {
    return revocationFailed(identity, cause);
  }
  if (notBefore instanceof Promise) {
    return notBefore.then(
      (settled) => revocationVerdict(decision, settled),
      (cause: unknown) => revocationFailed(identity, cause),
    );
  }
  return revocationVerdict(decision, notBefore);
}

function revocationVerdict(decision: ConnectDecision & { effect: "allow" }, notBefore: number | undefined) {
  const { identity } = decision;
  if (!isRevoked(identity.authTime, notBefore)) return decision;
  return { effect: outcomeOf("token_revoked"), reason: "token_revoked", transport: identity.transport } as const;
}

function revocationFailed(identity: ConnectionIdentity, cause: unknown): ConnectDecision {
  return { effect: "error", reason: "revocation_unavailable", transport: identity.transport, cause };
}

/** An IAM policy allowing or denying `execute-api:Invoke` on the `$connect` method ARN. */
export function connectPolicy(
  effect: "Allow" | "Deny",
  principalId: string,
  methodArn: string,
  context?: AuthorizerContext,
): APIGatewayAuthorizerResult {
  const result: APIGatewayAuthorizerResult = {
    principalId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: methodArn }],
    },
  };
  // AuthorizerContext holds only strings and numbers, which is what API Gateway's context allows;
  // the cast only adds the index signature the aws-lambda type declares.
  if (context) result.context = context as unknown as NonNullable<APIGatewayAuthorizerResult["context"]>;
  return result;
}

const defaultLog = createLog("authorizer");

/**
 * The `$connect` authorizer: Allow with the identity as context, or the documented rejection
 * (`Error("Unauthorized")` -> 401, Deny policy -> 403, other error -> 500; see reasons.ts for which
 * reason gets which). Logs one line per decision with a reason code; never the token or the event.
 * `verifier` may be a function so a configuration error is reported here as a 500, not at import.
 * Never throws synchronously: every outcome, rejections included, comes through the promise.
 */
export function authorizeConnect(
  event: WebSocketConnectAuthorizerEvent,
  verifier: TokenVerifier | (() => TokenVerifier),
  log: Log = defaultLog,
  revocations?: NotBeforeSource | (() => NotBeforeSource),
): Promise<APIGatewayAuthorizerResult> {
  let decision: MaybePromise<ConnectDecision>;
  try {
    decision = decide(event, typeof verifier === "function" ? verifier() : verifier);
    if (revocations) {
      // The source is built only for a token worth looking up (a configuration error then is a 500).
      const source = () => (typeof revocations === "function" ? revocations() : revocations);
      decision =
        decision instanceof Promise
          ? decision.then((decided) => checkRevocation(decided, source))
          : checkRevocation(decision, source);
    }
  } catch (cause) {
    decision = { effect: "error", reason: reasonOf(cause) ?? "internal_error", cause };
  }
  if (decision instanceof Promise) return settle(decision.then((decided) => respondSafely(event, decided, log)));
  return settle(respondSafely(event, decision, log));
}

/** `respond`, with anything it throws (a failing log write, say) turned into the 500 answer. */
function respondSafely(
  event: WebSocketConnectAuthorizerEvent,
  decision: ConnectDecision,
  log: Log,
): APIGatewayAuthorizerResult | Error {
  try {
    return respond(event, decision, log);
  } catch (error) {
    return error instanceof Error ? error : new AuthUnavailableError("internal_error");
  }
}

/** Logs a decision and maps it to the gateway's answer: a policy, or the error to reject with. */
function respond(
  event: WebSocketConnectAuthorizerEvent,
  decision: ConnectDecision,
  log: Log,
): APIGatewayAuthorizerResult | Error {
  // Log fields are built as plain literals (no spreads): this path runs on every `$connect`.
  const request = event.requestContext;
  if (decision.effect === "allow") {
    const { identity, cached } = decision;
    // Debug, not info: the `$connect` route logs every accepted connection ("connected", with the
    // same connection and user ids) once it is registered, so an info line here would only double
    // the log volume of the hot path. Rejections never reach that route and are logged below.
    log.debug("connect allowed", {
      connectionId: request?.connectionId,
      requestId: request?.requestId,
      sourceIp: request?.identity?.sourceIp,
      userId: identity.userId,
      transport: identity.transport,
      cached,
      tokenExp: identity.tokenExp,
    });
    return connectPolicy("Allow", identity.userId, event.methodArn, encodeAuthorizerContext(identity));
  }

  // The outcome is in the message; `userId` only exists for a verified caller (a policy deny).
  const fields: LogFields = {
    connectionId: request?.connectionId,
    requestId: request?.requestId,
    sourceIp: request?.identity?.sourceIp,
    reason: decision.reason,
    transport: decision.transport,
  };
  if (decision.effect === "deny") {
    fields.userId = decision.userId;
    log.warn("connect denied", fields);
    return connectPolicy("Deny", decision.userId ?? "anonymous", event.methodArn);
  }
  if (decision.effect === "error") {
    fields.error = decision.cause;
    log.error("connect refused: verification unavailable", fields);
    return new AuthUnavailableError(decision.reason);
  }
  log.info("connect unauthorized", fields);
  return UNAUTHORIZED_SIGNAL;
}
