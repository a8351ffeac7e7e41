import { z } from "zod";
import { type ConnectionIdentity, splitGroups, TRANSPORTS } from "./identity";

/**
 * The decoder of the authorizer context (`encodeAuthorizerContext` in identity.ts is its encoder):
 * what API Gateway hands every later event of a connection as `requestContext.authorizer`, next to
 * `principalId`. API Gateway only carries flat string/number/boolean values and may stringify them,
 * so the schema accepts both. This is the only source of a connection's identity: nothing a client
 * sends can change it.
 */
export const authorizerContextSchema = z.object({
  principalId: z.string().min(1).optional(),
  userId: z.string().min(1),
  username: z.string().min(1),
  email: z.string().optional(),
  groups: z.string().default(""),
  tokenExp: z.coerce.number().int().positive(),
  authTime: z.coerce.number().int().nonnegative().optional(),
  transport: z.enum(TRANSPORTS),
});

/** Decodes `requestContext.authorizer`; `undefined` when it is missing or malformed. */
export function decodeAuthorizerContext(value: unknown): ConnectionIdentity | undefined {
  const parsed = authorizerContextSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const { userId, username, email, groups, tokenExp, authTime, transport } = parsed.data;
  return {
    userId,
    username,
    ...(email ? { email } : {}),
    groups: splitGroups(groups),
    tokenExp,
    ...(authTime !== undefined ? { authTime } : {}),
    transport,
  };
}
