import { type ConnectRefusal, ERROR_WIRE, type ErrorCode, IdentityError, WsAuthError } from "../errors/index";

/**
 * Why a token or a `$connect` request was not accepted. Every rejection is logged with exactly one
 * of these codes; they are stable (dashboards and tests match on them).
 */
export const REJECTION_REASONS = [
  // where the token comes from
  "token_missing",
  "token_empty",
  "token_ambiguous",
  "query_param_repeated",
  "subprotocol_malformed",
  // shape, checked before any crypto
  "token_too_large",
  "token_malformed",
  "token_encoding",
  "header_not_json",
  "payload_not_json",
  "alg_none",
  "alg_not_allowed",
  "kid_missing",
  "claims_invalid",
  // claims, checked before any crypto and again by the verifier
  "exp_missing",
  "token_expired",
  "token_not_yet_valid",
  "issuer_mismatch",
  "audience_mismatch",
  "token_use_not_allowed",
  "sub_missing",
  // keys and signature
  "kid_unknown",
  "signature_invalid",
  // policy: the caller is known but not allowed
  "group_required",
  // the user's sessions were revoked after this token's sign-in (remedy: sign in again, hence 401)
  "token_revoked",
  // dependencies and configuration: not the caller's fault
  "jwks_unavailable",
  "jwks_invalid",
  "verifier_misconfigured",
  "revocation_unavailable",
  "internal_error",
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/**
 * The error code of each reason; `ERROR_WIRE` (errors) then decides how `$connect` answers it,
 * following API Gateway's Lambda authorizer contract:
 * - `unauthorized` / `token_expired` (throw `Error("Unauthorized")` -> 401): we could not establish
 *   who the caller is (no token, garbage, forged, expired, for another pool or client). The remedy is
 *   the client's: sign in again or refresh the token, so 401 is the honest answer and what clients
 *   retry on. A token of the wrong kind (an access token where ID tokens are required) is also 401:
 *   the remedy is to present the right token, and this is decided before the signature is checked.
 * - `forbidden` (Deny policy -> 403): the signature was verified, so the caller is known, but policy
 *   refuses them (none of the required groups). Refreshing the token will not help. Only issued
 *   after verification, so a 403 never rests on an unverified claim.
 * - `dependency_failed` / `internal` (any other thrown error -> 500): a dependency (the JWKS endpoint)
 *   or our configuration failed. The caller is not at fault; the failure must show up as an error in
 *   metrics and logs, and the connection is refused all the same (fail closed).
 */
export function codeOf(reason: RejectionReason): ErrorCode {
  switch (reason) {
    case "token_expired":
      return "token_expired";
    case "group_required":
      return "forbidden";
    case "jwks_unavailable":
    case "jwks_invalid":
    case "revocation_unavailable":
      return "dependency_failed";
    case "verifier_misconfigured":
    case "internal_error":
      return "internal";
    default:
      return "unauthorized";
  }
}

export type RejectionOutcome = ConnectRefusal;

export function outcomeOf(reason: RejectionReason): RejectionOutcome {
  return ERROR_WIRE[codeOf(reason)].connect;
}

/** A token or request the caller is at fault for. Safe to show to the client (message names the reason only). */
export class AuthRejection extends IdentityError {
  readonly reason: RejectionReason;
  constructor(reason: RejectionReason, options?: { cause?: unknown }) {
    super(codeOf(reason), `token rejected: ${reason}`, options);
    this.reason = reason;
  }
}

/**
 * Verification could not be completed because a dependency or the configuration failed. Its code is
 * `dependency_failed` or `internal`, so handlers report it like any other failed dependency.
 */
export class AuthUnavailableError extends WsAuthError {
  readonly reason: RejectionReason;
  constructor(reason: RejectionReason, options?: { cause?: unknown }) {
    super(codeOf(reason), `token verification unavailable: ${reason}`, options);
    this.reason = reason;
  }
}

/** Builds the right error class for a reason. */
export function rejection(
  reason: RejectionReason,
  options?: { cause?: unknown },
): AuthRejection | AuthUnavailableError {
  return outcomeOf(reason) === "error" ? new AuthUnavailableError(reason, options) : new AuthRejection(reason, options);
}

/** The reason carried by an auth error, or undefined for anything else. */
export function reasonOf(error: unknown): RejectionReason | undefined {
  if (error instanceof AuthRejection || error instanceof AuthUnavailableError) return error.reason;
  return undefined;
}
