import type { APIGatewayAuthorizerResult } from "aws-lambda";
import type { SUBPROTOCOL } from "../constants/index";
import { createLog, type Log, type LogFields } from "../logging/index";
import { type ConnectRequest, extractConnectToken } from "./extract";
import { type AuthorizerContext, type ConnectionIdentity, type Transport, toAuthorizerContext } from "./identity";
import { outcomeOf, type RejectionOutcome, type RejectionReason, reasonOf } from "./reasons";
import { type TokenVerifier, toConnectionIdentity, type VerifyOutcome } from "./verifier";

/** The fields of API Gateway's WebSocket REQUEST authorizer event this module reads. */
export interface ConnectAuthorizerEvent extends ConnectRequest {
  methodArn: string;
  requestContext?: { connectionId?: string; requestId?: string; identity?: { sourceIp?: string } } | null;
}

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

/** Decides a `$connect` request: extract the token, verify it, map the result. Never throws. */
export async function decideConnect(event: ConnectRequest, verifier: TokenVerifier): Promise<ConnectDecision> {
  return decide(event, verifier);
}

/**
 * `decideConnect`, synchronous when the verifier answers synchronously (no token, a pre-check
 * rejection, a cached token): a flood of junk or a reconnect storm then costs no promise round trips.
 */
function decide(event: ConnectRequest, verifier: TokenVerifier): ConnectDecision | Promise<ConnectDecision> {
  const extracted = extractConnectToken(event);
  if (!extracted.ok) return { effect: outcomeOf(extracted.reason), reason: extracted.reason };
  const { token, transport, subprotocol } = extracted;
  let outcome: VerifyOutcome | Promise<VerifyOutcome>;
  try {
    outcome = verifier.check(token);
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
      identity: toConnectionIdentity(outcome.token, transport),
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

/** What API Gateway reads as "401": a thrown error whose message is exactly `Unauthorized`. */
export const UNAUTHORIZED_MESSAGE = "Unauthorized";

/**
 * The 401 signal, one shared frozen instance. API Gateway (and the local gateway) read only its
 * message; building a new Error per rejection (even without a stack) was one of the dearest steps of
 * rejecting a flood of junk tokens. Frozen so no caller can attach per-request state to it.
 */
const UNAUTHORIZED_SIGNAL: Error = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Object.freeze(new Error(UNAUTHORIZED_MESSAGE));
  } finally {
    Error.stackTraceLimit = limit;
  }
})();

/** Thrown for the 500 outcome; the message names the reason only. */
export class AuthorizerFailure extends Error {
  override readonly name = "AuthorizerFailure";
}

const defaultLog = createLog("authorizer");

/**
 * A promise rejected with `error` one microtask from now. The caller (Lambda's runtime, the local
 * gateway, a test's `await`) attaches its handler as soon as this returns, so the rejection finds a
 * handler and Node skips its unhandled-rejection bookkeeping, which cost more than everything else a
 * rejected `$connect` does. Rejected at once, it would be tracked as unhandled until the handler came.
 */
function rejectOnceHandled(error: Error): Promise<never> {
  return new Promise((_resolve, reject) => queueMicrotask(() => reject(error)));
}

/**
 * The `$connect` authorizer: Allow with the identity as context, or the documented rejection
 * (`Error("Unauthorized")` -> 401, Deny policy -> 403, other error -> 500; see reasons.ts for which
 * reason gets which). Logs one line per decision with a reason code; never the token or the event.
 * `verifier` may be a function so a configuration error is reported here as a 500, not at import.
 * Never throws synchronously: every outcome, rejections included, comes through the promise.
 */
export function authorizeConnect(
  event: ConnectAuthorizerEvent,
  verifier: TokenVerifier | (() => TokenVerifier),
  log: Log = defaultLog,
): Promise<APIGatewayAuthorizerResult> {
  let decided: ConnectDecision | Promise<ConnectDecision>;
  try {
    decided = decide(event, typeof verifier === "function" ? verifier() : verifier);
  } catch (cause) {
    decided = { effect: "error", reason: reasonOf(cause) ?? "internal_error", cause };
  }
  if (decided instanceof Promise) {
    return decided.then((decision) => {
      const answer = respond(event, decision, log);
      if (answer instanceof Error) throw answer;
      return answer;
    });
  }
  let answer: APIGatewayAuthorizerResult | Error;
  try {
    answer = respond(event, decided, log);
  } catch (error) {
    // Nothing in `respond` is expected to throw (a log write, say); if it does, it is still a 500.
    answer = error instanceof Error ? error : new AuthorizerFailure("authorizer failed: internal_error");
  }
  return answer instanceof Error ? rejectOnceHandled(answer) : Promise.resolve(answer);
}

/** Logs a decision and maps it to the gateway's answer: a policy, or the error to reject with. */
function respond(
  event: ConnectAuthorizerEvent,
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
    return connectPolicy("Allow", identity.userId, event.methodArn, toAuthorizerContext(identity));
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
    return new AuthorizerFailure(`authorizer failed: ${decision.reason}`);
  }
  log.info("connect unauthorized", fields);
  return UNAUTHORIZED_SIGNAL;
}
