import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { isConditionalFailure } from "../connection/index";
import { CHANNELS } from "../constants/index";
import { DependencyError } from "../errors/index";
import { createHistoryEntity, createPresenceEntity, createSequenceEntity, createSubscriptionEntity } from "./schema";

/** A user as channels show them: in `from` of events and in presence. */
export interface Member {
  userId: string;
  /** The human sign-in name. */
  username: string;
}

export interface NewSubscription extends Member {
  channel: string;
  connectionId: string;
  /** TTL of the row: the connection's own `expireAt` (epoch seconds). */
  expireAt: number;
}

/** One published event, as history keeps it. */
export interface ChannelEvent {
  channel: string;
  seq: number;
  from: Member;
  data: unknown;
  /** Epoch milliseconds. */
  sentAt: number;
}

export interface ChannelStore {
  /** Records that a connection is subscribed to a channel (again: no change). */
  subscribe(input: NewSubscription): Promise<void>;
  /** Removes a subscription; resolves whether there was one. */
  unsubscribe(channel: string, connectionId: string): Promise<boolean>;
  /** Channels a connection is subscribed to, with its user (for cleanup). */
  channelsOf(connectionId: string): Promise<Array<{ channel: string; userId: string }>>;
  /** Live subscribed connections of a channel. */
  subscribers(channel: string): Promise<Array<{ connectionId: string }>>;
  /** Adds a connection to a user's presence; resolves `true` when the user was not present before. */
  join(channel: string, member: Member, connectionId: string): Promise<boolean>;
  /** Removes a connection from a user's presence; resolves the member when that was their last one. */
  leave(channel: string, userId: string, connectionId: string): Promise<Member | undefined>;
  /** Users present in a channel. */
  members(channel: string): Promise<Member[]>;
  /** Takes the channel's next sequence number (an atomic counter). */
  nextSeq(channel: string): Promise<number>;
  /** The channel's latest sequence number, 0 when nothing was ever published. */
  latestSeq(channel: string): Promise<number>;
  /** Stores an event in the channel's history. */
  append(event: ChannelEvent): Promise<void>;
  /** Retained events with `since < seq <= latest`, oldest first. */
  retained(channel: string, since: number, latest: number): Promise<ChannelEvent[]>;
}

export interface ChannelStoreOptions {
  tableName: string;
  client?: DynamoDBClient;
  /** Clock in epoch milliseconds (tests pin it). */
  now?: () => number;
}

async function dynamo<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DependencyError(`channels: ${operation} failed`, { cause: error });
  }
}

/** A string set as ElectroDB returns it (an array, or a Set from the document client). */
function setOf(value: unknown): string[] {
  if (value instanceof Set) return [...value].map(String);
  return Array.isArray(value) ? value.map(String) : [];
}

export function createChannelStore(options: ChannelStoreOptions): ChannelStore {
  const client = options.client ?? new DynamoDBClient({});
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const subscriptions = createSubscriptionEntity(client, options.tableName);
  const presence = createPresenceEntity(client, options.tableName);
  const sequences = createSequenceEntity(client, options.tableName);
  const history = createHistoryEntity(client, options.tableName);
  /** Presence and sequence rows live as long as a connection could (see `expireAtFor`), or history. */
  const channelStateExpiry = () => nowSeconds() + CHANNELS.historyTtlSeconds;

  /**
   * Retention: the last `historyEvents` events, or those younger than `historyWindowMs`, whichever
   * keeps more; never a row past its TTL (DynamoDB deletes late, dynalite never).
   */
  const isRetained = (row: { seq: number; sentAt: number; expireAt: number }, latest: number) =>
    row.expireAt > nowSeconds() &&
    (row.seq > latest - CHANNELS.historyEvents || row.sentAt > now() - CHANNELS.historyWindowMs);

  return {
    async subscribe(input) {
      await dynamo("put subscription", () => subscriptions.put(input).go());
    },

    async unsubscribe(channel, connectionId) {
      const { data } = await dynamo("delete subscription", () =>
        subscriptions.delete({ channel, connectionId }).go({ response: "all_old" }),
      );
      return Boolean(data);
    },

    async channelsOf(connectionId) {
      const { data } = await dynamo("query subscriptions of a connection", () =>
        subscriptions.query.byConnection({ connectionId }).go({ pages: "all" }),
      );
      return data.map((row) => ({ channel: row.channel, userId: row.userId }));
    },

    async subscribers(channel) {
      const cutoff = nowSeconds();
      const { data } = await dynamo("query subscribers", () =>
        subscriptions.query
          .primary({ channel })
          .where(({ expireAt }, { gt }) => gt(expireAt, cutoff))
          .go({ pages: "all", attributes: ["connectionId"] }),
      );
      return data.map((row) => ({ connectionId: row.connectionId }));
    },

    async join(channel, member, connectionId) {
      const { data } = await dynamo("join presence", () =>
        presence
          .update({ channel, userId: member.userId })
          .add({ connections: [connectionId] })
          .set({ username: member.username, expireAt: channelStateExpiry() })
          .go({ response: "all_old" }),
      );
      const before = data as { connections?: unknown; expireAt?: number } | null | undefined;
      const live = before && (before.expireAt ?? 0) > nowSeconds();
      return !live || setOf(before.connections).length === 0;
    },

    async leave(channel, userId, connectionId) {
      let before: { connections?: unknown; username?: string } | null | undefined;
      try {
        const { data } = await presence
          .patch({ channel, userId })
          .delete({ connections: [connectionId] })
          .go({ response: "all_old" });
        before = data as typeof before;
      } catch (error) {
        if (isConditionalFailure(error)) return undefined; // no presence row: nothing to leave
        throw new DependencyError("channels: leave presence failed", { cause: error });
      }
      const connections = setOf(before?.connections);
      if (!connections.includes(connectionId) || connections.length !== 1) return undefined;
      // The last connection left: drop the row unless another connection joined in the meantime.
      try {
        await presence
          .delete({ channel, userId })
          .where(({ connections: current }, { notExists }) => notExists(current))
          .go();
      } catch (error) {
        if (!isConditionalFailure(error)) {
          throw new DependencyError("channels: delete presence failed", { cause: error });
        }
        return undefined; // someone re-joined: still present, no leave
      }
      return { userId, username: before?.username ?? userId };
    },

    async members(channel) {
      const cutoff = nowSeconds();
      const { data } = await dynamo("query presence", () =>
        presence.query
          .primary({ channel })
          .where(({ expireAt }, { gt }) => gt(expireAt, cutoff))
          .go({ pages: "all" }),
      );
      return data
        .filter((row) => setOf(row.connections).length > 0)
        .map((row) => ({ userId: row.userId, username: row.username ?? row.userId }));
    },

    async nextSeq(channel) {
      const { data } = await dynamo("take sequence number", () =>
        sequences
          .update({ channel })
          .add({ seq: 1 })
          .set({ expireAt: channelStateExpiry() })
          .go({ response: "all_new" }),
      );
      return Number(data.seq);
    },

    async latestSeq(channel) {
      const { data } = await dynamo("read sequence", () => sequences.get({ channel }).go());
      return data && (data.expireAt ?? 0) > nowSeconds() ? Number(data.seq ?? 0) : 0;
    },

    async append(event) {
      await dynamo("put history", () =>
        history
          .put({
            channel: event.channel,
            seq: event.seq,
            fromUserId: event.from.userId,
            fromUsername: event.from.username,
            data: JSON.stringify(event.data),
            sentAt: event.sentAt,
            expireAt: Math.floor(event.sentAt / 1000) + CHANNELS.historyTtlSeconds,
          })
          .go(),
      );
    },

    async retained(channel, since, latest) {
      if (latest <= since) return [];
      // Newest first, page by page, until the first row that is no longer retained: retention keeps a
      // suffix of the sequence, so nothing older needs reading even when TTL has not deleted it yet.
      const found: ChannelEvent[] = [];
      let cursor: string | null = null;
      do {
        const from: string | null = cursor;
        const page: { data: Array<Record<string, unknown>>; cursor: string | null } = await dynamo(
          "query history",
          () =>
            history.query
              .primary({ channel })
              .between({ seq: since + 1 }, { seq: latest })
              .go({ order: "desc", cursor: from, limit: CHANNELS.historyEvents }),
        );
        for (const row of page.data) {
          const event = {
            seq: Number(row.seq),
            sentAt: Number(row.sentAt),
            expireAt: Number(row.expireAt),
          };
          if (!isRetained(event, latest)) return found.reverse();
          found.push({
            channel,
            seq: event.seq,
            from: { userId: String(row.fromUserId), username: String(row.fromUsername) },
            data: JSON.parse(String(row.data)) as unknown,
            sentAt: event.sentAt,
          });
        }
        cursor = page.cursor;
      } while (cursor);
      return found.reverse();
    },
  };
}
