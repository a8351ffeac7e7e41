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
  /** Cognito groups, comma-joined ("" for none); a `,` or `%` inside a name is escaped (`joinGroups`). */
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

/**
 * Cognito group names may contain commas, so joining them plainly would let a group called
 * `admins,staff` read back as membership of `admins`. Each name has `%` and `,` percent-escaped before
 * joining: ordinary names read exactly as a plain comma-joined list, and every name survives.
 */
export function joinGroups(groups: readonly string[]): string {
  return groups.map((group) => group.replaceAll("%", "%25").replaceAll(",", "%2C")).join(",");
}

/** The inverse of `joinGroups`. */
export function splitGroups(joined: string): string[] {
  if (joined === "") return [];
  return joined
    .split(",")
    .filter((group) => group !== "")
    .map((group) => group.replace(/%(25|2C)/gi, (sequence) => (sequence === "%25" ? "%" : ",")));
}

/** Flattens an identity into the authorizer context API Gateway accepts. */
export function toAuthorizerContext(identity: ConnectionIdentity): AuthorizerContext {
  return {
    userId: identity.userId,
    username: identity.username,
    ...(identity.email ? { email: identity.email } : {}),
    groups: joinGroups(identity.groups),
    tokenExp: identity.tokenExp,
    transport: identity.transport,
  };
}
