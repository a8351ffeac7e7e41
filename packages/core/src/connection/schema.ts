import { createHash } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Entity } from "electrodb";
import { TRANSPORTS } from "../auth/index";
import { CONNECTION_SERVICE, CONNECTIONS_TABLE, EXPIRE_MARGIN_SECONDS, LIMITS } from "../constants/index";

/**
 * Key design of the registry (one table, keys from CONNECTIONS_TABLE):
 *
 * - Connection rows live in the primary index under `pk = shard`, `sk = connectionId`. The shard is a
 *   hash of the connection id, so a lookup by connection is still a single GetItem (the shard is
 *   recomputed from the id), and the walk over all live connections for `broadcast`/the sweep is a
 *   Query per shard instead of a Scan over the whole table (which would also read every other row
 *   kind). Spreading rows over CONNECTION_SHARDS partitions keeps a burst of connects/disconnects, or
 *   a broadcast walk, from concentrating on one hot partition (each partition takes about 1,000
 *   writes/s); the walk costs CONNECTION_SHARDS Queries, which is cheap. Changing the count orphans
 *   rows of live connections until they expire, so change it only together with a migration.
 * - The `byUser` GSI holds `gsi1pk = userId`, `gsi1sk = connectionId`: all connections of a user.
 * - `to` may name a user by the name they sign in with. A small alias row
 *   (`pk = lower-cased username`, `sk = userId`) maps it to the user id; it is written on every
 *   connect with the connection's `expireAt`, so it outlives that user's newest connection and then
 *   expires with it (no delete needed, and no race between concurrent connects/disconnects).
 *   Usernames are compared lower-cased because Cognito sign-in with an e-mail is case-insensitive.
 *
 * - A user's live connections are counted in one row per user (`pk = userId`): a string set of
 *   `<connectedAt>:<connectionId>` entries. `$connect` adds its entry with a conditional update
 *   (`size < max`), every removal of a connection row takes its entry out again; both are single atomic
 *   updates, so concurrent connects of one user can never pass the cap together (no transactions, no
 *   count over the eventually consistent by-user index).
 *
 * Key casing is `none` throughout: API Gateway connection ids are case-sensitive base64-like strings,
 * and ElectroDB would otherwise lower-case them.
 */
export const CONNECTION_SHARDS = 8;

/** The shard of a connection (stable for a given id). */
export function shardOf(connectionId: string): string {
  const digest = createHash("sha256").update(connectionId).digest();
  return String(digest.readUInt32BE(0) % CONNECTION_SHARDS);
}

export const ALL_SHARDS: readonly string[] = Array.from({ length: CONNECTION_SHARDS }, (_, index) => String(index));

/** A registry row may be deleted by TTL this long (epoch seconds) after the connection opened. */
export function expireAtFor(connectedAtMs: number): number {
  return Math.floor(connectedAtMs / 1000) + LIMITS.connectionLifetimeMs / 1000 + EXPIRE_MARGIN_SECONDS;
}

const { primaryIndex, globalIndexes, ttl } = CONNECTIONS_TABLE;
const BY_USER = "byUser" satisfies keyof typeof globalIndexes;

/**
 * The keys of an index made of one attribute each, with case kept (see the casing note above). Other
 * row kinds of the table (channels) build their keys with it too.
 */
export function keysOf<const Hash extends string, const Range extends string>(
  index: { hashKey: string; rangeKey: string },
  hash: Hash,
  range: Range,
) {
  return {
    pk: { field: index.hashKey, composite: [hash] as [Hash], casing: "none" as const },
    sk: { field: index.rangeKey, composite: [range] as [Range], casing: "none" as const },
  };
}

export function createConnectionEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "connection", version: "1" },
      attributes: {
        shard: { type: "string", required: true, readOnly: true },
        connectionId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        username: { type: "string", required: true },
        email: { type: "string" },
        groups: { type: "list", items: { type: "string" }, required: true },
        /** Epoch milliseconds, as API Gateway reports `connectedAt`. */
        connectedAt: { type: "number", required: true, readOnly: true },
        /** The token's `exp`, epoch seconds; moved forward by `reauth`. */
        tokenExp: { type: "number", required: true },
        /** When the user signed in for the connection's token (`auth_time`), epoch seconds; moved by `reauth`. */
        authTime: { type: "number" },
        /** TTL attribute, epoch seconds. */
        expireAt: { type: "number", required: true, field: ttl },
        transport: { type: TRANSPORTS, required: true },
        sourceIp: { type: "string" },
        userAgent: { type: "string" },
        /** The fixed window (its number since the epoch) the rate-limited frames were last counted in. */
        rateWindow: { type: "number" },
        /** Rate-limited frames counted in `rateWindow`. */
        rateCount: { type: "number" },
      },
      indexes: {
        primary: keysOf(primaryIndex, "shard", "connectionId"),
        byUser: { index: BY_USER, ...keysOf(globalIndexes.byUser, "userId", "connectionId") },
      },
    },
    { client, table },
  );
}

export function createUsernameEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "username", version: "1" },
      attributes: {
        usernameKey: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        expireAt: { type: "number", required: true, field: ttl },
      },
      indexes: {
        primary: keysOf(primaryIndex, "usernameKey", "userId"),
      },
    },
    { client, table },
  );
}

export function usernameKeyOf(username: string): string {
  return username.trim().toLowerCase();
}

export function createUserConnectionsEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "userConnections", version: "1" },
      attributes: {
        userId: { type: "string", required: true, readOnly: true },
        /** `<connectedAt>:<connectionId>` of each counted connection. */
        connections: { type: "set", items: "string" },
        /** TTL: the latest `expireAt` of a counted connection. */
        expireAt: { type: "number", field: ttl },
      },
      indexes: {
        primary: {
          pk: { field: primaryIndex.hashKey, composite: ["userId"], casing: "none" },
          sk: { field: primaryIndex.rangeKey, composite: [], casing: "none" },
        },
      },
    },
    { client, table },
  );
}

/** A connection as the user's counter row holds it. */
export interface ConnectionSlot {
  connectionId: string;
  /** Epoch milliseconds. */
  connectedAt: number;
}

export function slotEntry(slot: ConnectionSlot): string {
  return `${slot.connectedAt}:${slot.connectionId}`;
}

export function parseSlotEntry(entry: string): ConnectionSlot | undefined {
  const separator = entry.indexOf(":");
  const connectedAt = Number(entry.slice(0, separator));
  if (separator <= 0 || !Number.isFinite(connectedAt)) return undefined;
  return { connectedAt, connectionId: entry.slice(separator + 1) };
}
