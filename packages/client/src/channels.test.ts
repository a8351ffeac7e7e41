import type { ServerFrame } from "@wsauth/core/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ChannelMessage, ChannelSubscriptions, channelNameProblem, REORDER_WINDOW_MS } from "./channels";

const from = { userId: "u", username: "u@example.com" };
const event = (seq: number): ServerFrame => ({
  type: "event",
  channel: "public/a",
  seq,
  from,
  data: seq,
  sentAt: new Date(0).toISOString(),
});

describe("channel subscriptions", () => {
  let sent: unknown[];
  let seen: ChannelMessage[];
  let subscriptions: ChannelSubscriptions;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    seen = [];
    subscriptions = new ChannelSubscriptions((frame) => sent.push(frame) > 0);
  });
  afterEach(() => vi.useRealTimers());
  const seqs = () =>
    seen.flatMap(
      (m): Array<number | string> => (m.type === "event" ? [m.seq] : m.type === "gap" ? [`gap<${m.oldest}`] : []),
    );

  it("starts from `subscribed`, hands events over in seq order and once, and resubscribes with since", () => {
    subscriptions.add("public/a", (m) => seen.push(m));
    expect(sent).toEqual([{ action: "subscribe", channel: "public/a" }]);
    subscriptions.handle(event(5)); // live, ahead of `subscribed`
    subscriptions.handle({ type: "subscribed", channel: "public/a", seq: 4 });
    for (const seq of [7, 6, 6, 5, 8]) subscriptions.handle(event(seq));
    expect(seqs()).toEqual([5, 6, 7, 8]);
    subscriptions.resubscribeAll();
    expect(sent.at(-1)).toEqual({ action: "subscribe", channel: "public/a", since: 8 });
  });

  it("reports a seq that never arrives as a gap after the reorder window, and server gaps as they come", () => {
    subscriptions.add("public/a", (m) => seen.push(m));
    subscriptions.handle({ type: "subscribed", channel: "public/a", seq: 0 });
    subscriptions.handle(event(2));
    expect(seqs()).toEqual([]);
    vi.advanceTimersByTime(REORDER_WINDOW_MS);
    expect(seqs()).toEqual(["gap<2", 2]);
    subscriptions.handle({ type: "gap", channel: "public/a", since: 2, oldest: 10 });
    subscriptions.handle(event(10));
    expect(seqs()).toEqual(["gap<2", 2, "gap<10", 10]);
  });

  it("unsubscribes when the last handler goes; checks names like the server", () => {
    const off = subscriptions.add("public/a", () => {});
    off();
    expect(sent.at(-1)).toEqual({ action: "unsubscribe", channel: "public/a" });
    expect(channelNameProblem("public/a")).toBeUndefined();
    expect(channelNameProblem("public")).toMatch(/segments/);
    expect(channelNameProblem("public/a b")).toMatch(/characters/);
  });
});
