import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { isConditionalFailure } from "../connection/index";
import { CHANNELS } from "../constants/index";
import { DependencyError } from "../errors/index";
import { createHistoryEntity, createPresenceEntity, createSubscriptionEntity } from "./schema";
import { createSequenceRow, type SequenceState } from "./sequence";

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
  /** The channel's seq when the subscription began: later events only are sent to it live. */
  fromSeq?: number;
}

/** A subscribed connection, as a publish fans out to it. */
export interface Subscriber {
  connectionId: string;
  /** Events up to this seq are not sent to it live (its subscribe replays them). */
  fromSeq: number;
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

/** A history row: an event, or a seq that was voided (taken, never stored in time: not an event). */
export type HistoryEntry =
  | (ChannelEvent & { voided?: false })
  | { channel: string; seq: number; voided: true; sentAt: number };

export interface ChannelStore {
  /** Records that a connection is subscribed to a channel (again: no change). */
  subscribe(input: NewSubscription): Promise<void>;
  /** Removes a subscription; resolves whether there was one. */
  unsubscribe(channel: string, connectionId: string): Promise<boolean>;
  /** Channels a connection is subscribed to, with its user (for cleanup). */
  channelsOf(connectionId: string): Promise<Array<{ channel: string; userId: string }>>;
  /** Live subscribed connections of a channel (strongly consistent). */
  subscribers(channel: string): Promise<Subscriber[]>;
  /** Adds a connection to a user's presence; resolves `true` when the user was not present before. */
  join(channel: string, member: Member, connectionId: string): Promise<boolean>;
  /** Removes a connection from a user's presence; resolves the member when that was their last one. */
  leave(channel: string, userId: string, connectionId: string): Promise<Member | undefined>;
  /** Users present in a channel. */
  members(channel: string): Promise<Member[]>;
  /**
   * Takes the channel's next sequence number (an atomic counter), with the connections joining the
   * channel at that moment (their subscribe replays this event; it is not sent to them live).
   */
  nextSeq(channel: string): Promise<{ seq: number; joining: ReadonlySet<string> }>;
  /** The channel's latest sequence number, 0 when nothing was ever published. */
  latestSeq(channel: string): Promise<number>;
  /** Marks a connection as joining the channel; resolves the sequence row after the mark. */
  beginJoin(channel: string, connectionId: string): Promise<SequenceState>;
  /** The sequence row (strongly consistent). */
  sequence(channel: string): Promise<SequenceState>;
  /** Clears a joining mark while the counter stands at `seq`; `false` when it has moved on. */
  endJoin(channel: string, connectionId: string, seq: number, stale: readonly string[]): Promise<boolean>;
  /** Clears a joining mark unconditionally; resolves the seq the counter stood at. */
  forceEndJoin(channel: string, connectionId: string): Promise<number>;
  /** Stores an event in the channel's history; `false` when its seq was voided first (not published). */
  append(event: ChannelEvent): Promise<boolean>;
  /** Voids a seq that has no history row yet; `false` when its event was stored first. */
  voidSeq(channel: string, seq: number): Promise<boolean>;
  /** Retained history rows with `since < seq <= latest` (voided ones included), oldest first, strongly consistent. */
  retained(channel: string, since: number, latest: number): Promise<HistoryEntry[]>;
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

/** A conditional create: `false` when the row already existed. */
async function created(operation: string, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (isConditionalFailure(error)) return false;
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
  const sequences = createSequenceRow({ client, tableName: options.tableName, now });
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
          // Strongly consistent: a subscription written before this publish took its seq must be seen.
          .go({ pages: "all", attributes: ["connectionId", "fromSeq"], consistent: true }),
      );
      return data.map((row) => ({ connectionId: row.connectionId, fromSeq: row.fromSeq ?? 0 }));
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

    nextSeq: (channel) => sequences.next(channel),

    async latestSeq(channel) {
      return (await sequences.read(channel)).seq;
    },

    beginJoin: (channel, connectionId) => sequences.beginJoin(channel, connectionId),
    sequence: (channel) => sequences.read(channel),
    endJoin: (channel, connectionId, seq, stale) => sequences.endJoin(channel, connectionId, seq, stale),
    forceEndJoin: (channel, connectionId) => sequences.forceEndJoin(channel, connectionId),

    async append(event) {
      return created("put history", () =>
        history
          .create({
            channel: event.channel,
            seq: event.seq,
            fromUserId: event.from.userId,
            fromUsername: event.from.username,
            data: JSON.stringify(event.data),
            sentAt: event.sentAt,
            expireAt: Math.floor(event.sentAt / 1000) + CHANNELS.historyTtlSeconds,
          })
          .go({ response: "none" }),
      );
    },

    async voidSeq(channel, seq) {
      const at = now();
      return created("void a sequence number", () =>
        history
          .create({
            channel,
            seq,
            fromUserId: "",
            fromUsername: "",
            data: "null",
            sentAt: at,
            voided: true,
            expireAt: Math.floor(at / 1000) + CHANNELS.historyTtlSeconds,
          })
          .go({ response: "none" }),
      );
    },

    async retained(channel, since, latest) {
      if (latest <= since) return [];
      // Newest first, page by page, until the first row that is no longer retained: retention keeps a
      // suffix of the sequence, so nothing older needs reading even when TTL has not deleted it yet.
      const found: HistoryEntry[] = [];
      let cursor: string | null = null;
      do {
        const from: string | null = cursor;
        const page: { data: Array<Record<string, unknown>>; cursor: string | null } = await dynamo(
          "query history",
          () =>
            history.query
              .primary({ channel })
              .between({ seq: since + 1 }, { seq: latest })
              .go({ order: "desc", cursor: from, limit: CHANNELS.historyEvents, consistent: true }),
        );
        for (const row of page.data) {
          const event = {
            seq: Number(row.seq),
            sentAt: Number(row.sentAt),
            expireAt: Number(row.expireAt),
          };
          if (!isRetained(event, latest)) return found.reverse();
          if (row.voided === true) {
            found.push({ channel, seq: event.seq, voided: true, sentAt: event.sentAt });
            continue;
          }
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
