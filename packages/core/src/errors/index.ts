/**
 * The one error hierarchy of the domain. Every error that crosses a module boundary is a `WsAuthError`
 * with a stable `code`; logs carry the code, and `ERROR_WIRE` below is the one place that decides
 * how each code reaches a client (`$connect` status, `error` frame message, whether the connection
 * closes). Developer tooling (the local stack, the CLIs, the handler build) has a root of its own
 * in `@wsauth/local/runner`: those errors never reach a client.
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
  // limits
  "throttled",
  "too_many_connections",
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

/**
 * The caller is over one of the abuse limits (frames per connection, connections per user). Safe to
 * show to the client; nothing was done, and trying again later succeeds.
 */
export class LimitError extends WsAuthError {}

/** A dependency (DynamoDB, Cognito JWKS, the management API) failed. The client sees only the code. */
export class DependencyError extends WsAuthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("dependency_failed", message, options);
  }
}

/** How API Gateway answers a refused `$connect`: 401 (thrown `Unauthorized`), 403 (Deny policy), 500. */
export type ConnectRefusal = "unauthorized" | "deny" | "error";

export interface WireMapping {
  /** The error class a code belongs to (what `fromWire` rebuilds). */
  kind: "input" | "identity" | "limit" | "dependency" | "internal";
  /**
   * How the `$connect` authorizer refuses a caller for this code. Input codes never arise there (the
   * authorizer reads no body); if one did, it would be a bug, hence a 500.
   */
  connect: ConnectRefusal;
  /** The `error` frame's message: `undefined` shows the error's own message (client errors only). */
  clientMessage: string | undefined;
  /** The connection is closed after the `error` frame. */
  closesConnection: boolean;
  /** The HTTP status a refused `$connect` integration answers with for this code (default 500). */
  connectStatus?: number;
}

/**
 * Every code's way to the client: the one mapping from `ErrorCode` to `$connect` answers and `error`
 * frames. Client errors (input, identity) show their own message and are logged at info; dependency
 * failures and bugs show a generic message and are logged as errors with their cause.
 */
export const ERROR_WIRE: Readonly<Record<ErrorCode, WireMapping>> = {
  invalid_json: { kind: "input", connect: "error", clientMessage: undefined, closesConnection: false },
  validation_failed: { kind: "input", connect: "error", clientMessage: undefined, closesConnection: false },
  payload_too_large: { kind: "input", connect: "error", clientMessage: undefined, closesConnection: false },
  unauthorized: { kind: "identity", connect: "unauthorized", clientMessage: undefined, closesConnection: false },
  forbidden: { kind: "identity", connect: "deny", clientMessage: undefined, closesConnection: false },
  token_expired: { kind: "identity", connect: "unauthorized", clientMessage: undefined, closesConnection: true },
  throttled: { kind: "limit", connect: "error", clientMessage: undefined, closesConnection: false },
  too_many_connections: {
    kind: "limit",
    connect: "error",
    clientMessage: undefined,
    closesConnection: false,
    connectStatus: 429,
  },
  dependency_failed: {
    kind: "dependency",
    connect: "error",
    clientMessage: "a service the server depends on failed; try again",
    closesConnection: false,
  },
  timeout: {
    kind: "dependency",
    connect: "error",
    clientMessage: "the server timed out; try again",
    closesConnection: false,
  },
  internal: { kind: "internal", connect: "error", clientMessage: "internal error", closesConnection: false },
};

/** Normalises anything thrown into a `WsAuthError` (unknown failures become `internal`). */
export function toWsAuthError(error: unknown): WsAuthError {
  if (error instanceof WsAuthError) return error;
  return new WsAuthError("internal", "internal error", { cause: error });
}

/** Whether the error's own message may be shown to a client. */
export function isClientSafe(error: WsAuthError): boolean {
  return ERROR_WIRE[error.code].clientMessage === undefined;
}

/** An error as a client receives it (the body of an `error` frame). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** Encodes an error for the client: its code, and its own message only when that is safe to show. */
export function toWire(error: WsAuthError): WireError {
  return { code: error.code, message: ERROR_WIRE[error.code].clientMessage ?? error.message };
}

const ERROR_CLASSES = {
  input: InputError,
  identity: IdentityError,
  limit: LimitError,
  dependency: WsAuthError,
  internal: WsAuthError,
} as const;

/** Decodes an error a client received back into the domain error of its code (CLIs, tests, services). */
export function fromWire(wire: WireError): WsAuthError {
  const { kind } = ERROR_WIRE[wire.code];
  if (kind === "dependency" && wire.code === "dependency_failed") return new DependencyError(wire.message);
  return new ERROR_CLASSES[kind](wire.code, wire.message);
}
