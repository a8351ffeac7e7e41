import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type ConnectionIdentity, connectionIdentityOf } from "../auth/index";
import { DependencyError } from "../errors/index";
import { type ConnectionRecord, decodeConnectionRow, encodeConnectionRow, type StoredRow } from "./record";
import {
  ALL_SHARDS,
  createConnectionEntity,
  createUsernameEntity,
  expireAtFor,
  shardOf,
  usernameKeyOf,
} from "./schema";

export interface NewConnection {
  connectionId: string;
  /** From the authorizer context only. */
  identity: ConnectionIdentity;
  /** Epoch milliseconds (API Gateway's `requestContext.connectedAt`). */
  connectedAt: number;
  sourceIp?: string;
  userAgent?: string;
}

export interface WalkOptions {
  /** Rows per page (DynamoDB `Limit`); defaults to 100. */
  pageSize?: number;
  /** Also yield rows past `expireAt` (the sweep deletes them). */
  includeExpired?: boolean;
  /** The shard to start from (then the following ones, wrapping around); default the first. */
  startShard?: number;
}

export interface ConnectionStore {
  /** Stores a new connection (and the username -> user id alias). */
  register(input: NewConnection): Promise<ConnectionRecord>;
  /** A live connection, or `undefined` when unknown or past `expireAt`. */
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** Deletes a connection's row; deleting an unknown one is not an error. */
  remove(connectionId: string): Promise<void>;
  /**
   * Deletes a connection's row only if its token has expired by `nowSeconds` (one conditional delete).
   * False when it was not deleted: the row is gone, or a `reauth` renewed the token since it was read.
   */
  removeIfTokenExpired(connectionId: string, nowSeconds: number): Promise<boolean>;
  /** All live connections of a user id. */
  listByUser(userId: string): Promise<ConnectionRecord[]>;
  /**
   * All live connections of the one user `to` names: by user id when that id has live connections,
   * else by the name they sign in with (case-insensitively, unless two users' names differ only in
   * case: then only an exact match names one). A name that does not name exactly one user names nobody.
   */
  listForTarget(target: string): Promise<ConnectionRecord[]>;
  /**
   * `reauth`: records a fresh token's `exp` and groups on a live row. Never moves `tokenExp` backwards
   * (a stale reauth must not shorten a newer one); the same `exp` again is accepted.
   */
  extendToken(connectionId: string, tokenExp: number, groups?: string[]): Promise<ConnectionRecord | undefined>;
  /** Pages of live connections, every shard in turn (a Query per shard, never a Scan). */
  walk(options?: WalkOptions): AsyncIterable<ConnectionRecord[]>;
  /**
   * The same walk over live connections, reading only what a fan-out needs (connection id and token
   * expiry): a projection, so the pages are smaller to send and to parse (the read units stay the same).
   */
  walkRecipients(options?: Pick<WalkOptions, "pageSize">): AsyncIterable<RecipientRecord[]>;
}

/** What a fan-out needs of a connection. */
export type RecipientRecord = Pick<ConnectionRecord, "connectionId" | "tokenExp">;

export interface ConnectionStoreOptions {
  tableName: string;
  /** Defaults to `new DynamoDBClient({})` (region, credentials and endpoint from the environment). */
  client?: DynamoDBClient;
  /** Clock in epoch milliseconds (tests pin it). */
  now?: () => number;
}

/** Longest user agent kept; the header is client-controlled. */
const USER_AGENT_MAX_LENGTH = 512;

/** Runs a DynamoDB call; its failure becomes a `DependencyError` naming the operation. */
async function dynamo<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DependencyError(`connections table: ${operation} failed`, { cause: error });
  }
}

export function createConnectionStore(options: ConnectionStoreOptions): ConnectionStore {
  const client = options.client ?? new DynamoDBClient({});
  const now = options.now ?? Date.now;
  const connections = createConnectionEntity(client, options.tableName);
  const usernames = createUsernameEntity(client, options.tableName);
  const nowSeconds = () => Math.floor(now() / 1000);
  const isLive = (record: { expireAt: number }) => record.expireAt > nowSeconds();

  async function listByUser(userId: string): Promise<ConnectionRecord[]> {
    const cutoff = nowSeconds();
    const { data } = await dynamo("query by user", () =>
      connections.query
        .byUser({ userId })
        .where(({ expireAt }, { gt }) => gt(expireAt, cutoff))
        .go({ pages: "all" }),
    );
    return data.map((row) => decodeConnectionRow(row)).filter(isLive);
  }

  /** User ids with a live alias row for `username` (lower-cased); a hint only, see `listForUsername`. */
  async function aliasUserIds(username: string): Promise<string[]> {
    const cutoff = nowSeconds();
    const { data } = await dynamo("resolve username", () =>
      usernames.query
        .primary({ usernameKey: usernameKeyOf(username) })
        .where(({ expireAt }, { gt }) => gt(expireAt, cutoff))
        .go({ pages: "all" }),
    );
    return [...new Set(data.filter(isLive).map((row) => row.userId))];
  }

  /**
   * Connections of the one user signing in as `username`. The connection rows decide, not the alias
   * rows: an alias outlives a change of name, and names that only fold to the same lower case (another
   * user's "Kate@..." or "\u212Aate@..." next to "kate@...") must not deliver one user's messages to both.
   */
  async function listForUsername(username: string): Promise<ConnectionRecord[]> {
    const key = usernameKeyOf(username);
    const lists = await Promise.all((await aliasUserIds(username)).map(listByUser));
    const named = lists.flat().filter((record) => usernameKeyOf(record.username) === key);
    if (new Set(named.map((record) => record.userId)).size <= 1) return named;
    const exact = named.filter((record) => record.username === username.trim());
    return new Set(exact.map((record) => record.userId)).size === 1 ? exact : [];
  }

  return {
    async register(input) {
      const { identity } = input;
      const record: ConnectionRecord = {
        connectionId: input.connectionId,
        ...connectionIdentityOf(identity, identity.transport),
        connectedAt: input.connectedAt,
        expireAt: expireAtFor(input.connectedAt),
        ...(input.sourceIp ? { sourceIp: input.sourceIp } : {}),
        ...(input.userAgent ? { userAgent: input.userAgent.slice(0, USER_AGENT_MAX_LENGTH) } : {}),
      };
      // Two independent puts (dynalite has no transactions). The alias first: a connection row is
      // never reachable by username before its alias exists, and a stray alias is harmless.
      await dynamo("put username", () =>
        usernames
          .put({ usernameKey: usernameKeyOf(identity.username), userId: identity.userId, expireAt: record.expireAt })
          .go(),
      );
      await dynamo("put connection", () => connections.put(encodeConnectionRow(record)).go());
      return record;
    },

    async get(connectionId) {
      const { data } = await dynamo("get", () => connections.get({ shard: shardOf(connectionId), connectionId }).go());
      if (!data) return undefined;
      const record = decodeConnectionRow(data);
      return isLive(record) ? record : undefined;
    },

    async remove(connectionId) {
      await dynamo("delete", () => connections.delete({ shard: shardOf(connectionId), connectionId }).go());
    },

    async removeIfTokenExpired(connectionId, nowSeconds) {
      try {
        await connections
          .delete({ shard: shardOf(connectionId), connectionId })
          .where(({ tokenExp }, { lte }) => lte(tokenExp, nowSeconds))
          .go();
        return true;
      } catch (error) {
        if (isConditionalFailure(error)) return false;
        throw new DependencyError("connections table: conditional delete failed", { cause: error });
      }
    },

    listByUser,

    async listForTarget(target) {
      // A user id (Cognito `sub`) names one user for certain; it wins over a sign-in name equal to it.
      const byUserId = await listByUser(target);
      return byUserId.length > 0 ? byUserId : listForUsername(target);
    },

    async extendToken(connectionId, tokenExp, groups) {
      const cutoff = nowSeconds();
      try {
        const { data } = await connections
          .patch({ shard: shardOf(connectionId), connectionId })
          .set(groups ? { tokenExp, groups } : { tokenExp })
          // Only a live row, and never backwards (a stale reauth must not shorten a newer one).
          .where(
            ({ expireAt, tokenExp: current }, { gt, lte }) => `${gt(expireAt, cutoff)} AND ${lte(current, tokenExp)}`,
          )
          .go({ response: "all_new" });
        return decodeConnectionRow(data);
      } catch (error) {
        if (isConditionalFailure(error)) {
          // Either the row is gone/expired or it already holds a later exp: tell them apart.
          const { data } = await dynamo("get", () =>
            connections.get({ shard: shardOf(connectionId), connectionId }).go(),
          );
          const record = data ? decodeConnectionRow(data) : undefined;
          return record && isLive(record) ? record : undefined;
        }
        throw new DependencyError("connections table: update token expiry failed", { cause: error });
      }
    },

    async *walkRecipients(walkOptions = {}) {
      const limit = walkOptions.pageSize ?? 100;
      const cutoff = nowSeconds();
      for (const shard of ALL_SHARDS) {
        let cursor: string | null = null;
        do {
          const from: string | null = cursor;
          const result: { data: Array<Partial<StoredRow>>; cursor: string | null } = await dynamo("walk", () =>
            connections.query
              .primary({ shard })
              .where(({ expireAt }, { gt }) => gt(expireAt, cutoff))
              .go({ cursor: from, limit, attributes: ["connectionId", "tokenExp"] }),
          );
          const page = result.data.map((row) => ({
            connectionId: String(row.connectionId),
            tokenExp: Number(row.tokenExp),
          }));
          if (page.length > 0) yield page;
          cursor = result.cursor;
        } while (cursor);
      }
    },

    async *walk(walkOptions = {}) {
      const limit = walkOptions.pageSize ?? 100;
      const cutoff = nowSeconds();
      const start = (((walkOptions.startShard ?? 0) % ALL_SHARDS.length) + ALL_SHARDS.length) % ALL_SHARDS.length;
      for (const shard of [...ALL_SHARDS.slice(start), ...ALL_SHARDS.slice(0, start)]) {
        let cursor: string | null = null;
        do {
          const from: string | null = cursor;
          const query = connections.query.primary({ shard });
          const result: { data: StoredRow[]; cursor: string | null } = await dynamo("walk", () =>
            walkOptions.includeExpired
              ? query.go({ cursor: from, limit })
              : query.where(({ expireAt }, { gt }) => gt(expireAt, cutoff)).go({ cursor: from, limit }),
          );
          const { data } = result;
          const records = data.map((row) => decodeConnectionRow(row));
          const visible = walkOptions.includeExpired ? records : records.filter(isLive);
          if (visible.length > 0) yield visible;
          cursor = result.cursor;
        } while (cursor);
      }
    },
  };
}

/** ElectroDB wraps the SDK error; the condition failure is its cause. */
export function isConditionalFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if ((current as { name?: unknown }).name === "ConditionalCheckFailedException") return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
