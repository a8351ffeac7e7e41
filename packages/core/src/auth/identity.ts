/**
 * The identity of a connection and its flat authorizer-context form. Kept free of runtime
 * dependencies (no schema library) because the `$connect` authorizer bundles this module and its
 * size budget is small; parsing lives in `context.ts`.
 */
export const TRANSPORTS = ["query", "subprotocol"] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface AuthorizerContext {
  userId: string;
  username: string;
  email?: string;
  /** Cognito groups, comma-joined ("" for none). */
  groups: string;
  /** The token's `exp`, epoch seconds. */
  tokenExp: number;
  transport: Transport;
}

/** The identity of a live connection, as handlers use it. */
export interface ConnectionIdentity {
  userId: string;
  username: string;
  email?: string;
  groups: string[];
  tokenExp: number;
  transport: Transport;
}

/** Flattens an identity into the authorizer context API Gateway accepts. */
export function toAuthorizerContext(identity: ConnectionIdentity): AuthorizerContext {
  return {
    userId: identity.userId,
    username: identity.username,
    ...(identity.email ? { email: identity.email } : {}),
    groups: identity.groups.join(","),
    tokenExp: identity.tokenExp,
    transport: identity.transport,
  };
}
