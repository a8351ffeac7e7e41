import { CHANNELS, ROUTE } from "@wsauth/core/constants";
import type { ChannelEventFrame, GapFrame, PresenceFrame, ServerFrame, SubscribedFrame } from "@wsauth/core/protocol";

/** What a channel's handler receives: its events in seq order, each once, and what else concerns it. */
export type ChannelMessage =
  | ChannelEventFrame
  | PresenceFrame
  | GapFrame
  | SubscribedFrame
  | Extract<ServerFrame, { type: "error" }>;
export type ChannelHandler = (message: ChannelMessage) => void;

const SEGMENT = new RegExp(CHANNELS.segmentPattern);

/** Why `channel` is not a channel name (the server's rule, checked before sending), or `undefined`. */
export function channelNameProblem(channel: string): string | undefined {
  const segments = channel.split("/");
  if (segments.length < CHANNELS.minSegments || segments.length > CHANNELS.maxSegments) {
    return `a channel name has ${CHANNELS.minSegments} to ${CHANNELS.maxSegments} segments separated by "/"`;
  }
  return segments.every((segment) => SEGMENT.test(segment))
    ? undefined
    : "each segment of a channel name is 1-64 characters of A-Z, a-z, 0-9, _ and -";
}

/** How long an out-of-order event waits for the ones before it before they are reported as a gap. */
export const REORDER_WINDOW_MS = 3_000;

interface Subscription {
  handlers: Set<ChannelHandler>;
  /** The last seq handed to the handlers; `undefined` until the first `subscribed`. */
  lastSeq: number | undefined;
  /** Events that arrived ahead of a missing seq (or before `subscribed`). */
  pending: Map<number, ChannelEventFrame>;
  reorderTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The client's channel subscriptions. After every (re)connect each one is sent again with `since` set
 * to the last seq its handlers saw, so the server replays what was missed within its retention window.
 * Live events and the replay may interleave and repeat (a publish racing a subscribe): events are
 * handed over strictly in seq order and at most once; a seq that never comes is reported as a `gap`.
 */
export class ChannelSubscriptions {
  readonly #subscriptions = new Map<string, Subscription>();

  constructor(private readonly sendFrame: (frame: unknown) => boolean) {}

  get channels(): string[] {
    return [...this.#subscriptions.keys()];
  }

  add(channel: string, handler: ChannelHandler): () => void {
    let subscription = this.#subscriptions.get(channel);
    if (!subscription) {
      subscription = { handlers: new Set(), lastSeq: undefined, pending: new Map(), reorderTimer: undefined };
      this.#subscriptions.set(channel, subscription);
      this.#subscribe(channel, subscription);
    }
    subscription.handlers.add(handler);
    const held = subscription;
    return () => {
      held.handlers.delete(handler);
      if (held.handlers.size > 0 || this.#subscriptions.get(channel) !== held) return;
      clearTimeout(held.reorderTimer);
      this.#subscriptions.delete(channel);
      this.sendFrame({ action: ROUTE.unsubscribe, channel });
    };
  }

  /** The socket (re)opened: subscribe to everything again, from where each channel left off. */
  resubscribeAll(): void {
    for (const [channel, subscription] of this.#subscriptions) this.#subscribe(channel, subscription);
  }

  /** Routes a frame to its channel; resolves whether it was a channel frame. */
  handle(frame: ServerFrame): boolean {
    if (!("channel" in frame) || typeof frame.channel !== "string") return false;
    const subscription = this.#subscriptions.get(frame.channel);
    if (!subscription) return frame.type === "event" || frame.type === "presence" || frame.type === "gap";
    switch (frame.type) {
      case "subscribed":
        // First subscription: start from now. A resubscription keeps its place (the replay follows).
        subscription.lastSeq ??= frame.seq;
        this.#emit(subscription, frame);
        this.#flush(frame.channel, subscription);
        return true;
      case "gap":
        this.#emit(subscription, frame);
        subscription.lastSeq = Math.max(subscription.lastSeq ?? 0, frame.oldest - 1);
        this.#flush(frame.channel, subscription);
        return true;
      case "event":
        if (subscription.lastSeq === undefined || frame.seq > subscription.lastSeq) {
          subscription.pending.set(frame.seq, frame);
          this.#flush(frame.channel, subscription);
        }
        return true;
      case "presence":
        this.#emit(subscription, frame);
        return true;
      default:
        return false;
    }
  }

  /** An `error` frame about a channel (the server names it in the message): goes to that channel. */
  handleError(frame: Extract<ServerFrame, { type: "error" }>): boolean {
    const match = /^(?:subscribe|publish) ([^:\s]+):/.exec(frame.message);
    const subscription = match?.[1] ? this.#subscriptions.get(match[1]) : undefined;
    if (!subscription) return false;
    this.#emit(subscription, frame);
    return true;
  }

  clear(): void {
    for (const subscription of this.#subscriptions.values()) clearTimeout(subscription.reorderTimer);
    this.#subscriptions.clear();
  }

  #subscribe(channel: string, subscription: Subscription): void {
    const since = subscription.lastSeq;
    this.sendFrame({ action: ROUTE.subscribe, channel, ...(since === undefined ? {} : { since }) });
  }

  #flush(channel: string, subscription: Subscription): void {
    if (subscription.lastSeq === undefined) return; // wait for `subscribed`
    for (const seq of subscription.pending.keys()) {
      if (seq <= subscription.lastSeq) subscription.pending.delete(seq);
    }
    for (let next = subscription.pending.get(subscription.lastSeq + 1); next; ) {
      subscription.pending.delete(next.seq);
      subscription.lastSeq = next.seq;
      this.#emit(subscription, next);
      next = subscription.pending.get(subscription.lastSeq + 1);
    }
    clearTimeout(subscription.reorderTimer);
    subscription.reorderTimer = undefined;
    if (subscription.pending.size === 0) return;
    subscription.reorderTimer = setTimeout(() => {
      const oldest = Math.min(...subscription.pending.keys());
      this.handle({ type: "gap", channel, since: subscription.lastSeq ?? 0, oldest });
    }, REORDER_WINDOW_MS);
  }

  #emit(subscription: Subscription, message: ChannelMessage): void {
    for (const handler of subscription.handlers) handler(message);
  }
}
