/**
 * The one identity model: who a caller is (`Identity`), and the shapes derived from it on the way
 * from a token to a registry row:
 *
 *   token claims --decodeTokenIdentity--> VerifiedToken (Identity + tokenUse)
 *   VerifiedToken + transport --connectionIdentityOf--> ConnectionIdentity (Identity + transport)
 *   ConnectionIdentity <--encodeAuthorizerContext / decodeAuthorizerContext--> AuthorizerContext (flat)
 *   ConnectionIdentity + connection facts --> ConnectionRecord (`@wsauth/core/connection`, with its row codec)
 *
 * Kept free of runtime dependencies (no schema library) because the `$connect` authorizer bundles this
 * module and its size budget is small; the context's decoder, which validates with a schema, lives in
 * `context.ts`.
 */
export const TRANSPORTS = ["query", "subprotocol"] as const;
/** How the token travelled on `$connect`. */
export type Transport = (typeof TRANSPORTS)[number];

/** Who the caller is, as a verified Cognito token says. */
export interface Identity {
  /** `sub`. */
  userId: string;
  /** The human sign-in name: the verified `email` when present, else `cognito:username` (access tokens: `username`). */
  username: string;
  email?: string;
  /** `cognito:groups`. */
  groups: string[];
  /** The token's `exp`, epoch seconds. */
  tokenExp: number;
  /**
   * When the user signed in for this token, epoch seconds: `auth_time` (kept by Cognito across
   * refreshes), else `iat`. A revocation refuses every token whose sign-in predates it.
   */
  authTime?: number;
}

/** The identity of a verified token. */
export interface VerifiedToken extends Identity {
  tokenUse: "id" | "access";
}

/** The identity of a live connection, as handlers use it. */
export interface ConnectionIdentity extends Identity {
  transport: Transport;
}

/**
 * The identity flattened into what API Gateway accepts as authorizer context (string, number and
 * boolean values only); later events of the connection carry it, stringified, as
 * `requestContext.authorizer`.
 */
export type AuthorizerContext = Omit<ConnectionIdentity, "groups"> & {
  /** Cognito groups, comma-joined ("" for none); a `,` or `%` inside a name is escaped (`joinGroups`). */
  groups: string;
};

/**
 * The identity a verified token gives a connection that used `transport` (also: the identity fields
 * of anything that carries one; `groups` is shared, never mutated).
 */
export function connectionIdentityOf(token: Identity, transport: Transport): ConnectionIdentity {
  const identity: ConnectionIdentity = {
    userId: token.userId,
    username: token.username,
    ...(token.email ? { email: token.email } : {}),
    groups: token.groups,
    tokenExp: token.tokenExp,
    transport,
  };
  // Assigned, not spread: this runs on every allowed `$connect`.
  if (token.authTime !== undefined) identity.authTime = token.authTime;
  return identity;
}

/** `auth_time`, else `iat`, when it is a finite number of epoch seconds. */
function signInTimeOf(payload: Record<string, unknown>): number | undefined {
  for (const value of [payload.auth_time, payload.iat]) {
    if (typeof value === "number" && Number.isFinite(value)) return Math.floor(value);
  }
  return undefined;
}

/** `cognito:groups` as a list; a lone string counts as one group, as aws-jwt-verify's group check reads it. */
function stringList(value: unknown): string[] {
  if (typeof value === "string") return value === "" ? [] : [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/**
 * Decodes the identity of a token whose signature and claims were verified (`sub` and `exp` as the
 * pre-check read them). The encoder is the token issuer: Cognito, or the test token minter
 * (`tokenClaimsOf` in `@wsauth/core/testing`).
 */
export function decodeTokenIdentity(payload: Record<string, unknown>, sub: string, exp: number): VerifiedToken {
  const email = typeof payload.email === "string" && payload.email !== "" ? payload.email : undefined;
  // The address is the name others see and address messages to, so it counts only once the user has
  // proved they own it; an unverified one (a pending change, an unconfirmed sign-up) never does.
  const emailVerified = payload.email_verified === true || payload.email_verified === "true";
  const signInName = [emailVerified ? email : undefined, payload["cognito:username"], payload.username].find(
    (value): value is string => typeof value === "string" && value !== "",
  );
  const verified: VerifiedToken = {
    userId: sub,
    username: signInName ?? sub,
    ...(email ? { email } : {}),
    groups: stringList(payload["cognito:groups"]),
    tokenExp: exp,
    tokenUse: payload.token_use === "access" ? "access" : "id",
  };
  const authTime = signInTimeOf(payload);
  if (authTime !== undefined) verified.authTime = authTime;
  return verified;
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

/** Encodes an identity as the authorizer context; `decodeAuthorizerContext` (context.ts) reads it back. */
export function encodeAuthorizerContext(identity: ConnectionIdentity): AuthorizerContext {
  const context: AuthorizerContext = {
    userId: identity.userId,
    username: identity.username,
    ...(identity.email ? { email: identity.email } : {}),
    groups: joinGroups(identity.groups),
    tokenExp: identity.tokenExp,
    transport: identity.transport,
  };
  if (identity.authTime !== undefined) context.authTime = identity.authTime;
  return context;
}
