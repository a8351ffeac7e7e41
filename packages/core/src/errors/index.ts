/**
 * The one error hierarchy of wsauth. Every error that crosses a module boundary is a `WsAuthError`
 * with a stable `code`; clients see the code in `error` frames, logs carry it as `code`, and
 * `packages/functions` maps errors to gateway responses in one place.
 */

export const ERROR_CODES = [
  // client input
  "invalid_json",
  "validation_failed",
  "payload_too_large",
  // identity
  "unauthorized",
  "forbidden",
  "token_expired",
  // dependencies and bugs
  "dependency_failed",
  "timeout",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class WsAuthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The client sent something we cannot accept. Safe to show to the client. */
export class InputError extends WsAuthError {}

/** Who the caller is, or what they may do, does not allow the request. Safe to show to the client. */
export class IdentityError extends WsAuthError {}

/** A dependency (DynamoDB, Cognito JWKS, the management API) failed. The client sees only the code. */
export class DependencyError extends WsAuthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("dependency_failed", message, options);
  }
}

/** Normalises anything thrown into a `WsAuthError` (unknown failures become `internal`). */
export function toWsAuthError(error: unknown): WsAuthError {
  if (error instanceof WsAuthError) return error;
  return new WsAuthError("internal", "internal error", { cause: error });
}

/** Whether the error's message may be shown to a client as is. */
export function isClientSafe(error: WsAuthError): boolean {
  return error instanceof InputError || error instanceof IdentityError;
}
