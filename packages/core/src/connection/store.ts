import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type ConnectionIdentity, connectionIdentityOf } from "../auth/index";
import { DependencyError, WsAuthError } from "../errors/index";
import { type ConnectionRecord, decodeConnectionRow, encodeConnectionRow, type StoredRow } from "./record";
import {
  ALL_SHARDS,
  type ConnectionSlot,
  createConnectionEntity,
  createUserConnectionsEntity,
  createUsernameEntity,
  expireAtFor,
  parseSlotEntry,
  shardOf,
  slotEntry,
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

/** A fixed window of rate-limited frames: at most `max` frames per `windowMs`. */
export interface FrameWindow {
  windowMs: number;
  max: number;
}

/**
 * A rate-limited frame, counted on its connection's row: `counted` (with the row, as `get` reads it),
 * `throttled` (the window is full; the row), or `unregistered` (no live row: nothing was counted).
 */
export type FrameCount =
  | { outcome: "counted" | "throttled"; record: ConnectionRecord }
  | { outcome: "unregistered"; record?: undefined };

export interface ConnectionStore {
  /**
   * Stores a new connection (and the username -> user id alias) and counts it for its user. With
   * `maxConnections`, a user who already has that many counted connections is refused: the result is
   * `undefined` and nothing is written.
   */
  register(input: NewConnection): Promise<ConnectionRecord>;
  register(input: NewConnection, limit: { maxConnections: number }): Promise<ConnectionRecord | undefined>;
  /** The connections counted for a user (a strongly consistent read of the counter row). */
  countedConnections(userId: string): Promise<ConnectionSlot[]>;
  /** Stops counting a connection for its user (idempotent); `remove` does this itself. */
  uncount(userId: string, slot: ConnectionSlot): Promise<void>;
  /**
   * Counts a rate-limited frame on the connection's row in place of reading it: one conditional
   * UpdateItem that returns the row (`ReturnValues: ALL_NEW`).
   */
  countFrame(connectionId: string, window: FrameWindow): Promise<FrameCount>;
  /** A live connection, or `undefined` when unknown or past `expireAt`. */
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** Deletes a connection's row and stops counting it for its user; deleting an unknown one is not an error. */
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
  extendToken(
    connectionId: string,
    tokenExp: number,
    groups?: string[],
    authTime?: number,
  ): Promise<ConnectionRecord | undefined>;
  /**
   * The user id of the one user signing in as `username`, from their live connection rows or, when
   * none is left, their alias rows (which outlive a user's newest connection by its lifetime cap);
   * `undefined` when the name names nobody the registry knows, or more than one user.
   */
  resolveUsername(username: string): Promise<string | undefined>;
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

/** Connections whose last counted window a container remembers (a hint only; cleared when full). */
const LAST_WINDOWS_MAX = 10_000;

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
  const counters = createUserConnectionsEntity(client, options.tableName);
  /**
   * The window this container last counted a frame of a connection in: a hint of which update to try
   * first (the next frame in the same window increments; the first of a new one opens it), so a frame
   * costs one write. Any order is correct; a wrong guess costs one refused conditional write.
   */
  const lastWindows = new Map<string, number>();
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

  /**
   * Counts a connection for its user: one conditional update of the user's counter row, refused when
   * the set already holds `max` other connections. False when refused.
   */
  async function count(userId: string, slot: ConnectionSlot & { expireAt: number }, max?: number): Promise<boolean> {
    const entry = slotEntry(slot);
    try {
      const update = counters
        .update({ userId })
        .add({ connections: [entry] })
        .set({ expireAt: slot.expireAt });
      await (max === undefined
        ? update
        : update.where(
            ({ connections: counted }, { notExists, size, value, contains }) =>
              // `value` is typed after the attribute (a set); the size it is compared with is a number.
              `${notExists(counted)} OR ${size(counted)} < ${value(counted, max as unknown as string[])} OR ${contains(counted, entry)}`,
          )
      ).go();
      return true;
    } catch (error) {
      if (isConditionalFailure(error)) return false;
      throw new DependencyError("connections table: count connection failed", { cause: error });
    }
  }

  async function countedConnections(userId: string): Promise<ConnectionSlot[]> {
    const { data } = await dynamo("read connection count", () => counters.get({ userId }).go({ consistent: true }));
    return (data?.connections ?? []).flatMap((entry) => parseSlotEntry(entry) ?? []);
  }

  async function uncount(userId: string, slot: ConnectionSlot): Promise<void> {
    await dynamo("uncount connection", () =>
      counters
        .update({ userId })
        .delete({ connections: [slotEntry(slot)] })
        .where(({ connections: counted }, { exists }) => exists(counted))
        .go(),
    ).catch((error: unknown) => {
      // Nothing counted for that user any more: nothing to take out.
      if (error instanceof WsAuthError && isConditionalFailure(error.cause)) return;
      throw error;
    });
  }

  /** A deleted connection row's count, taken out again. */
  async function uncountRow(row: StoredRow): Promise<void> {
    if (typeof row.userId !== "string" || typeof row.connectionId !== "string") return;
    await uncount(row.userId, { connectionId: row.connectionId, connectedAt: Number(row.connectedAt) });
  }

  async function countFrame(connectionId: string, window: FrameWindow): Promise<FrameCount> {
    const nowMs = now();
    let current = Math.floor(nowMs / window.windowMs);
    const { max } = window;
    const cutoff = Math.floor(nowMs / 1000);
    const key = { shard: shardOf(connectionId), connectionId };
    const increment = () =>
      connections
        .patch(key)
        .add({ rateCount: 1 })
        .where(
          ({ expireAt, rateWindow, rateCount }, { gt, eq, lt }) =>
            `${gt(expireAt, cutoff)} AND ${eq(rateWindow, current)} AND ${lt(rateCount, max)}`,
        )
        .go({ response: "all_new" });
    // Windows only move forward: a container whose clock lags cannot reopen a window already passed.
    const open = () =>
      connections
        .patch(key)
        .set({ rateWindow: current, rateCount: 1 })
        .where(
          ({ expireAt, rateWindow }, { gt, lt, notExists }) =>
            `${gt(expireAt, cutoff)} AND (${notExists(rateWindow)} OR ${lt(rateWindow, current)})`,
        )
        .go({ response: "all_new" });
    /** The first of `attempts` the row's condition admits, or `undefined` when each was refused. */
    const first = async (attempts: Array<typeof open>) => {
      for (const attempt of attempts) {
        try {
          return (await attempt()).data;
        } catch (error) {
          if (!isConditionalFailure(error)) {
            throw new DependencyError("connections table: count frame failed", { cause: error });
          }
        }
      }
      return undefined;
    };
    // Counted in this window by this container: the window is open (windows only move forward), so
    // only an increment can succeed. Otherwise the window is probably new: open it, else count in it.
    let attempts = lastWindows.get(connectionId) === current ? [increment] : [open, increment];
    let record: ConnectionRecord | undefined;
    for (let round = 0; round < 2; round++) {
      const data = await first(attempts);
      if (data) {
        if (lastWindows.size >= LAST_WINDOWS_MAX) lastWindows.clear();
        lastWindows.set(connectionId, current);
        return { outcome: "counted", record: decodeConnectionRow(data) };
      }
      // Refused: the window is full, there is no live row, or another frame moved the window in between.
      const { data: row } = await dynamo("get", () => connections.get(key).go({ consistent: true }));
      record = row ? decodeConnectionRow(row) : undefined;
      if (!record || !isLive(record)) return { outcome: "unregistered" };
      const seen = row?.rateWindow ?? Number.NEGATIVE_INFINITY;
      // A frame of a later window was counted meanwhile: this one counts in that window too.
      if (seen > current) current = seen;
      if (seen === current && (row?.rateCount ?? 0) >= max) return { outcome: "throttled", record };
      attempts = seen === current ? [increment] : [open];
    }
    // Still racing after a second round: other frames of this connection are filling the window.
    return record ? { outcome: "throttled", record } : { outcome: "unregistered" };
  }

  async function register(
    input: NewConnection,
    limit?: { maxConnections: number },
  ): Promise<ConnectionRecord | undefined> {
    const { identity } = input;
    const record: ConnectionRecord = {
      connectionId: input.connectionId,
      ...connectionIdentityOf(identity, identity.transport),
      connectedAt: input.connectedAt,
      expireAt: expireAtFor(input.connectedAt),
      ...(input.sourceIp ? { sourceIp: input.sourceIp } : {}),
      ...(input.userAgent ? { userAgent: input.userAgent.slice(0, USER_AGENT_MAX_LENGTH) } : {}),
    };
    // Counted first, with a condition (the cap holds under any number of concurrent connects); a
    // refused connect writes nothing. Then two independent puts (dynalite has no transactions). The
    // alias first: a connection row is never reachable by username before its alias exists, and a
    // stray alias is harmless. A count whose row never gets written is repaired at the cap (see
    // `countedConnections`).
    if (!(await count(identity.userId, record, limit?.maxConnections))) return undefined;
    await dynamo("put username", () =>
      usernames
        .put({ usernameKey: usernameKeyOf(identity.username), userId: identity.userId, expireAt: record.expireAt })
        .go(),
    );
    await dynamo("put connection", () => connections.put(encodeConnectionRow(record)).go());
    return record;
  }

  return {
    // The overloads of `register` (no limit: always stored) are one implementation.
    register: register as ConnectionStore["register"],

    async get(connectionId) {
      const { data } = await dynamo("get", () => connections.get({ shard: shardOf(connectionId), connectionId }).go());
      if (!data) return undefined;
      const record = decodeConnectionRow(data);
      return isLive(record) ? record : undefined;
    },

    countedConnections,
    uncount,
    countFrame,

    async remove(connectionId) {
      const { data } = await dynamo("delete", () =>
        connections.delete({ shard: shardOf(connectionId), connectionId }).go({ response: "all_old" }),
      );
      lastWindows.delete(connectionId);
      if (data) await uncountRow(data);
    },

    async removeIfTokenExpired(connectionId, nowSeconds) {
      try {
        const { data } = await connections
          .delete({ shard: shardOf(connectionId), connectionId })
          .where(({ tokenExp }, { lte }) => lte(tokenExp, nowSeconds))
          .go({ response: "all_old" });
        lastWindows.delete(connectionId);
        if (data) await uncountRow(data);
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

    async resolveUsername(username) {
      const named = await listForUsername(username);
      const fromConnections = new Set(named.map((record) => record.userId));
      if (fromConnections.size === 1) return [...fromConnections][0];
      const aliases = await aliasUserIds(username);
      return aliases.length === 1 ? aliases[0] : undefined;
    },

    async extendToken(connectionId, tokenExp, groups, authTime) {
      const cutoff = nowSeconds();
      try {
        const { data } = await connections
          .patch({ shard: shardOf(connectionId), connectionId })
          .set({ tokenExp, ...(groups ? { groups } : {}), ...(authTime !== undefined ? { authTime } : {}) })
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
