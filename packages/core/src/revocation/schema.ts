import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Entity } from "electrodb";
import { REVOCATION_ENTITY, REVOCATION_SCOPE } from "../auth/index";
import { keysOf } from "../connection/index";
import { CONNECTION_SERVICE, CONNECTIONS_TABLE } from "../constants/index";

/**
 * A user's revocation record in the registry table: `pk = userId`, one row per user (`sk` is the
 * fixed `scope`), with `notBefore` (epoch seconds) and a TTL. ElectroDB prefixes the keys with the
 * entity, so it never collides with the other row kinds. The authorizer reads it without ElectroDB
 * (`createRevocationLookup` in `@wsauth/core/auth` builds the same keys; a test holds the two together).
 */

const { primaryIndex, ttl } = CONNECTIONS_TABLE;

export function createRevocationEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, ...REVOCATION_ENTITY },
      attributes: {
        userId: { type: "string", required: true, readOnly: true },
        scope: { type: [REVOCATION_SCOPE] as const, required: true, readOnly: true, default: REVOCATION_SCOPE },
        /** Tokens whose sign-in (`auth_time`, else `iat`) is before this, epoch seconds, are refused. */
        notBefore: { type: "number", required: true },
        /** Epoch milliseconds of the revocation, for the record. */
        revokedAt: { type: "number", required: true },
        /** What asked for it (`cli`, `self`, `api`, a CloudTrail event name). */
        source: { type: "string" },
        expireAt: { type: "number", required: true, field: ttl },
      },
      indexes: {
        primary: keysOf(primaryIndex, "userId", "scope"),
      },
    },
    { client, table },
  );
}
