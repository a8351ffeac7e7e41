import { z } from "zod";
import { type ConnectionIdentity, splitGroups, TRANSPORTS } from "./identity";

/**
 * The authorizer context: what the `$connect` authorizer returns next to `principalId`, and what API
 * Gateway hands every later event of the connection as `requestContext.authorizer`. API Gateway only
 * carries flat string/number/boolean values and may stringify them, so the parser accepts both.
 * This is the only source of a connection's identity: nothing a client sends can change it.
 */
export {
  type AuthorizerContext,
  type ConnectionIdentity,
  joinGroups,
  splitGroups,
  TRANSPORTS,
  type Transport,
  toAuthorizerContext,
} from "./identity";

export const authorizerContextSchema = z.object({
  principalId: z.string().min(1).optional(),
  userId: z.string().min(1),
  username: z.string().min(1),
  email: z.string().optional(),
  groups: z.string().default(""),
  tokenExp: z.coerce.number().int().positive(),
  transport: z.enum(TRANSPORTS),
});

/** Parses `requestContext.authorizer`; returns `undefined` when it is missing or malformed. */
export function parseAuthorizerContext(value: unknown): ConnectionIdentity | undefined {
  const parsed = authorizerContextSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { userId, username, email, groups, tokenExp, transport } = parsed.data;
  return {
    userId,
    username,
    ...(email ? { email } : {}),
    groups: splitGroups(groups),
    tokenExp,
    transport,
  };
}
