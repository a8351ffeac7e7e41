import pMap from "p-map";
import {
  type ChannelAction,
  type ChannelActor,
  type ChannelName,
  type ChannelStore,
  decide,
  type Member,
  parseChannelName,
  tracksPresence,
} from "../channel/index";
import { DependencyError, IdentityError } from "../errors/index";
import type { Log } from "../logging/index";
import { frames, type JsonValue, type ServerFrame } from "../protocol/index";
import { replayAndHandOff } from "./channel-join";
import type { FanOut, FanOutReceipt } from "./fanout";
import type { DeliveryReport, Messenger } from "./messenger";

/** The connection that subscribes, unsubscribes or publishes (from the registry). */
export interface ChannelCaller extends Member {
  connectionId: string;
  groups: readonly string[];
  /** The connection's TTL (epoch seconds): its subscription rows expire with it. */
  expireAt: number;
}

/** A publish's outcome: the event's seq and how its fan-out went (inline, or `jobs` queued). */
export interface PublishReport extends FanOutReceipt {
  channel: string;
  seq: number;
}

export interface Channels {
  /** Subscribes the caller; replies `subscribed` (with members on presence channels), a `gap` and the missed events. */
  subscribe(caller: ChannelCaller, channel: string, since?: number): Promise<void>;
  /** Unsubscribes the caller and replies `unsubscribed`. */
  unsubscribe(caller: ChannelCaller, channel: string): Promise<void>;
  /** Publishes an event as `from`: history first, then the fan-out to every subscribed connection. */
  publish(actor: ChannelActor, from: Member, channel: string, data: JsonValue): Promise<PublishReport>;
  /** Drops every subscription (and presence) of a connection that closed or is gone. */
  removeConnection(connectionId: string): Promise<void>;
}

export interface ChannelsOptions {
  store: ChannelStore;
  messenger: Messenger;
  /** Parallel fan-out of events past FANOUT.inlineMax subscribers (without it, every publish sends inline). */
  fanOut?: FanOut;
  now: () => number;
  log: Log;
}

/** Channels of one closed connection cleaned up at once. */
const CLEANUP_CONCURRENCY = 4;

export function createChannels({ store, messenger, fanOut: parallel, now, log }: ChannelsOptions): Channels {
  /** Checks the namespace rule and logs its decision with the reason; a refusal is `forbidden`. */
  function authorize(channel: ChannelName, action: ChannelAction, actor: ChannelActor, connectionId?: string): void {
    const decision = decide(channel, action, actor);
    log.info("channel rule", {
      channel: channel.name,
      action,
      actor: actor === "server" ? "server" : actor.userId,
      ...(connectionId ? { connectionId } : {}),
      allowed: decision.allowed,
      reason: decision.reason,
    });
    if (!decision.allowed) throw new IdentityError("forbidden", `${action} ${channel.name}: ${decision.reason}`);
  }

  /** Sends a frame to every live subscriber of a channel (bounded concurrency; 410s prune the connection). */
  async function fanOut(channel: string, frame: ServerFrame, except?: string): Promise<DeliveryReport> {
    const subscribers = await store.subscribers(channel);
    return messenger.toConnections(
      subscribers.filter(({ connectionId }) => connectionId !== except),
      frame,
    );
  }

  async function leave(channel: ChannelName, userId: string, connectionId: string): Promise<void> {
    const left = await store.leave(channel.name, userId, connectionId);
    if (left) await fanOut(channel.name, frames.presence(channel.name, "leave", left));
  }

  return {
    async subscribe(caller, name, since) {
      const channel = parseChannelName(name);
      authorize(channel, "subscribe", caller, caller.connectionId);
      const member = { userId: caller.userId, username: caller.username };
      // Joining first (the counter stands at `joined.seq`), then the row: publishes from here on either
      // leave their event to the replay below or send it live once the replay has handed over.
      const joined = await store.beginJoin(channel.name, caller.connectionId);
      await store.subscribe({
        channel: channel.name,
        connectionId: caller.connectionId,
        ...member,
        expireAt: caller.expireAt,
        fromSeq: joined.seq,
      });
      let members: Member[] | undefined;
      if (tracksPresence(channel)) {
        if (await store.join(channel.name, member, caller.connectionId)) {
          await fanOut(channel.name, frames.presence(channel.name, "join", member), caller.connectionId);
        }
        members = await store.members(channel.name);
      }
      const answered = await messenger.toConnection(
        caller.connectionId,
        frames.subscribed(channel.name, joined.seq, members),
      );
      const handOff =
        answered.gone > 0
          ? { replayed: 0, rounds: 0, voided: 0, forced: false, gone: true }
          : await replayAndHandOff({ store, messenger, now }, caller.connectionId, channel.name, joined, since);
      if (handOff.gone) {
        // The caller vanished mid-request. Its 410 pruned its rows, but that finds subscriptions through
        // the index, which may not show the row written a moment ago: this one goes by its key.
        await store.forceEndJoin(channel.name, caller.connectionId);
        await store.unsubscribe(channel.name, caller.connectionId);
        if (tracksPresence(channel)) await leave(channel, caller.userId, caller.connectionId);
        log.info("subscriber gone before the hand-off", { channel: channel.name, connectionId: caller.connectionId });
        return;
      }
      if (since !== undefined || handOff.replayed > 0 || handOff.rounds > 0) {
        log.info("subscription replayed", { channel: channel.name, since, latest: joined.seq, ...handOff });
      }
    },

    async unsubscribe(caller, name) {
      const channel = parseChannelName(name);
      await store.unsubscribe(channel.name, caller.connectionId);
      if (tracksPresence(channel)) await leave(channel, caller.userId, caller.connectionId);
      await messenger.toConnection(caller.connectionId, frames.unsubscribed(channel.name));
    },

    async publish(actor, from, name, data) {
      const channel = parseChannelName(name);
      authorize(channel, "publish", actor);
      // The seq first: the atomic ADD also says which connections are joining (their subscribe
      // replays this event). The subscribers are read after it, while the event is stored: a
      // subscription whose joining mark was cleared before this seq was taken is in that Query.
      const { seq, joining } = await store.nextSeq(channel.name);
      const sentAt = now();
      const [stored, subscribers] = await Promise.all([
        store.append({ channel: channel.name, seq, from, data, sentAt }),
        store.subscribers(channel.name),
      ]);
      if (!stored) {
        throw new DependencyError(`publish ${channel.name}: event ${seq} was not stored in time; it is not published`);
      }
      const live = subscribers.filter(({ connectionId, fromSeq }) => fromSeq < seq && !joining.has(connectionId));
      const frame = frames.event(channel.name, seq, from, data, sentAt);
      const receipt: FanOutReceipt = parallel
        ? await parallel.send([live], frame)
        : { recipients: live.length, jobs: 0, ...(await messenger.toConnections(live, frame)) };
      log.info("published", { channel: channel.name, seq, ...receipt });
      return { channel: channel.name, seq, ...receipt };
    },

    async removeConnection(connectionId) {
      const subscriptions = await store.channelsOf(connectionId);
      await pMap(
        subscriptions,
        async ({ channel: name, userId }) => {
          const channel = parseChannelName(name);
          await store.unsubscribe(channel.name, connectionId);
          if (tracksPresence(channel)) await leave(channel, userId, connectionId);
        },
        { concurrency: CLEANUP_CONCURRENCY },
      );
      if (subscriptions.length > 0) {
        log.info("channel subscriptions removed", { connectionId, channels: subscriptions.length });
      }
    },
  };
}
