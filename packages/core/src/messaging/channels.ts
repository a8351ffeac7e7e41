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
import { IdentityError } from "../errors/index";
import type { Log } from "../logging/index";
import { frames, type JsonValue, type ServerFrame } from "../protocol/index";
import type { DeliveryReport, Messenger } from "./messenger";

/** The connection that subscribes, unsubscribes or publishes (from the registry). */
export interface ChannelCaller extends Member {
  connectionId: string;
  groups: readonly string[];
  /** The connection's TTL (epoch seconds): its subscription rows expire with it. */
  expireAt: number;
}

/** A publish's outcome: the event's seq and how its fan-out went. */
export interface PublishReport extends DeliveryReport {
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
  now: () => number;
  log: Log;
}

/** Channels of one closed connection cleaned up at once. */
const CLEANUP_CONCURRENCY = 4;

export function createChannels({ store, messenger, now, log }: ChannelsOptions): Channels {
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
      // The row first: events published from here on reach this connection live; the replay below
      // covers everything up to the seq read after it (a client drops a seq it has already seen).
      await store.subscribe({
        channel: channel.name,
        connectionId: caller.connectionId,
        ...member,
        expireAt: caller.expireAt,
      });
      let members: Member[] | undefined;
      if (tracksPresence(channel)) {
        if (await store.join(channel.name, member, caller.connectionId)) {
          await fanOut(channel.name, frames.presence(channel.name, "join", member), caller.connectionId);
        }
        members = await store.members(channel.name);
      }
      const latest = await store.latestSeq(channel.name);
      await messenger.toConnection(caller.connectionId, frames.subscribed(channel.name, latest, members));
      if (since === undefined || since >= latest) return;
      const events = await store.retained(channel.name, since, latest);
      const oldest = events[0]?.seq ?? latest + 1;
      if (oldest > since + 1) {
        await messenger.toConnection(caller.connectionId, frames.gap(channel.name, since, oldest));
      }
      // One after another: the order of the frames is the order of the events.
      for (const event of events) {
        await messenger.toConnection(
          caller.connectionId,
          frames.event(channel.name, event.seq, event.from, event.data as JsonValue, event.sentAt),
        );
      }
      log.info("subscription replayed", { channel: channel.name, since, latest, replayed: events.length });
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
      // The subscriber list is read while the event is numbered and stored; history is written before
      // the fan-out starts, so a subscriber that resubscribes right after this event can replay it.
      const [subscribers, { seq, sentAt }] = await Promise.all([
        store.subscribers(channel.name),
        store.nextSeq(channel.name).then(async (seq) => {
          const sentAt = now();
          await store.append({ channel: channel.name, seq, from, data, sentAt });
          return { seq, sentAt };
        }),
      ]);
      const report = await messenger.toConnections(subscribers, frames.event(channel.name, seq, from, data, sentAt));
      log.info("published", { channel: channel.name, seq, ...report });
      return { channel: channel.name, seq, ...report };
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
