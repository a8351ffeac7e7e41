import { z } from "zod";

/**
 * The authorizer context: what the `$connect` authorizer returns next to `principalId`, and what API
 * Gateway hands every later event of the connection as `requestContext.authorizer`. API Gateway only
 * carries flat string/number/boolean values and may stringify them, so the parser accepts both.
 * This is the only source of a connection's identity: nothing a client sends can change it.
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

export const authorizerContextSchema = z.object({
  principalId: z.string().min(1).optional(),
  userId: z.string().min(1),
  username: z.string().min(1),
  email: z.string().optional(),
  groups: z.string().default(""),
  tokenExp: z.coerce.number().int().positive(),
  transport: z.enum(TRANSPORTS),
});

/** The identity of a live connection, as handlers use it. */
export interface ConnectionIdentity {
  userId: string;
  username: string;
  email?: string;
  groups: string[];
  tokenExp: number;
  transport: Transport;
}

/** Parses `requestContext.authorizer`; returns `undefined` when it is missing or malformed. */
export function parseAuthorizerContext(value: unknown): ConnectionIdentity | undefined {
  const parsed = authorizerContextSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { userId, username, email, groups, tokenExp, transport } = parsed.data;
  return {
    userId,
    username,
    ...(email ? { email } : {}),
    groups: groups ? groups.split(",").filter(Boolean) : [],
    tokenExp,
    transport,
  };
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
