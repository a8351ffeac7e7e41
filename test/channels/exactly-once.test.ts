import { randomUUID } from "node:crypto";
import { createChannelStore } from "@wsauth/core/channel";
import { expireAtFor } from "@wsauth/core/connection";
import { FANOUT } from "@wsauth/core/constants";
import { localDynamoClient } from "@wsauth/local/dynamo";
import { LOAD_LIMITS, signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import pMap from "p-map";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Frame, type RealtimeClient } from "../../bench/lib/clients";

// Black-box, raw sockets against the whole local stack: subscribes (with and without `since`) race
// publishes to the same channel. Every socket must see `subscribed`, then each event after its
// starting point exactly once, in seq order, with nothing lost and nothing older.

const ROUNDS = 24;
const SUBSCRIBERS = 8;

interface Subscriber {
  client: RealtimeClient;
  channel: string;
  since: number | undefined;
}

describe("subscribe racing publish, over raw sockets", () => {
  let stack: TestStack;
  let tokens: { alice: string; bob: string };
  const opened: RealtimeClient[] = [];

  const open = async (who: "alice" | "bob") => {
    const client = await connect(stack.outputs.webSocketUrl, tokens[who]);
    opened.push(client);
    return client;
  };

  beforeAll(async () => {
    // Many sockets of two users publishing as fast as they are answered: the abuse limits (tested on
    // their own) would refuse most of them.
    stack = await startTestStack(LOAD_LIMITS);
    const [alice, bob] = await Promise.all([signInDemoUser(stack.outputs, 0), signInDemoUser(stack.outputs, 1)]);
    tokens = { alice: alice.idToken, bob: bob.idToken };
  });
  afterAll(async () => {
    for (const client of opened) client.vanish();
    await stack?.stop();
  });

  /** Publishes `rounds` events one after another; resolves the seqs that were published. */
  async function publishInTurn(
    publisher: RealtimeClient,
    channel: string,
    rounds: number,
    onSeq: (seq: number) => void,
  ) {
    const seqs: number[] = [];
    for (let n = 0; n < rounds; n++) {
      const reply = await publisher.request(
        { action: "publish", channel, data: { n } },
        (frame) => (frame.type === "published" && frame.channel === channel) || frame.type === "error",
      );
      if (reply.type !== "published") continue; // not published: expected nowhere
      seqs.push(Number(reply.seq));
      onSeq(Number(reply.seq));
    }
    return seqs;
  }

  /** What one socket received on its channel, checked against the published seqs. */
  function problemsOf(subscriber: Subscriber, published: ReadonlySet<number>): string[] {
    const frames = subscriber.client.frames.filter((frame) => frame.channel === subscriber.channel);
    const [first, ...rest] = frames;
    if (first?.type !== "subscribed") return [`first frame is ${JSON.stringify(first)}`];
    const start = subscriber.since ?? Number(first.seq);
    const seqs = rest.filter((frame) => frame.type === "event").map((frame) => Number(frame.seq));
    const expected = [...published].filter((seq) => seq > start).sort((a, b) => a - b);
    const problems: string[] = [];
    if (rest.some((frame: Frame) => frame.type !== "event")) problems.push("a frame other than an event");
    if (JSON.stringify(seqs) !== JSON.stringify(expected)) {
      const counts = new Map<number, number>();
      for (const seq of seqs) counts.set(seq, (counts.get(seq) ?? 0) + 1);
      const twice = [...counts].filter(([, count]) => count > 1).map(([seq]) => seq);
      const missing = expected.filter((seq) => !counts.has(seq));
      const extra = seqs.filter((seq) => !expected.includes(seq));
      const disorder = seqs.some((seq, index) => index > 0 && seq < (seqs[index - 1] ?? 0));
      problems.push(
        `since ${subscriber.since ?? "-"} subscribed ${first.seq}: ` +
          `${twice.length} twice, ${missing.length} missing, ${extra.length} not expected, ` +
          `${disorder ? "out of order" : "in order"}`,
      );
    }
    return problems;
  }

  /** Waits until every subscriber has the last published seq (or a few seconds passed), then a round trip. */
  async function drain(subscribers: readonly Subscriber[], last: number) {
    const deadline = Date.now() + 10_000;
    const done = (s: Subscriber) =>
      s.client.frames.some((frame) => frame.channel === s.channel && frame.type === "event" && frame.seq === last);
    while (!subscribers.every(done) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    await pMap(subscribers, (s) => s.client.request({ action: "ping" }, (frame) => frame.type === "pong"));
  }

  it("one publisher per channel, subscribes with and without `since` in flight: exactly once and in order", async () => {
    const channels = ["public/race-a", "public/race-b", "public/race-c"];
    const subscribers: Subscriber[] = [];
    const published = new Map<string, Set<number>>();
    await pMap(channels, async (channel) => {
      const publisher = await open("bob");
      const sockets = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => open("alice")));
      const due = subscribeAsPublished(sockets, channel, ROUNDS, subscribers);
      const seqs = await publishInTurn(publisher, channel, ROUNDS, due);
      published.set(channel, new Set(seqs));
      await drain(
        subscribers.filter((s) => s.channel === channel),
        Math.max(...seqs),
      );
    });
    const problems = subscribers.flatMap((s) => problemsOf(s, published.get(s.channel) ?? new Set()));
    expect(problems).toEqual([]);
  }, 60_000);

  it("several publishers on one channel: every subscriber gets each event after its start exactly once", async () => {
    const channel = "public/race-many";
    const publishers = await Promise.all([open("bob"), open("bob"), open("alice")]);
    const sockets = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => open("alice")));
    const subscribers: Subscriber[] = [];
    const due = subscribeAsPublished(sockets, channel, ROUNDS * publishers.length, subscribers);
    const seqs = (
      await Promise.all(publishers.map((publisher) => publishInTurn(publisher, channel, ROUNDS, due)))
    ).flat();
    await drain(subscribers, Math.max(...seqs));
    // Concurrent publishers' live events may interleave, so compare the sets: once each, none missing.
    const problems = subscribers.flatMap((s) => {
      const copy = { ...s, client: { frames: sortedEvents(s) } as unknown as RealtimeClient };
      return problemsOf(copy, new Set(seqs));
    });
    expect(problems).toEqual([]);
  }, 60_000);
  it("past FANOUT.inlineMax subscribers, publishes go out as FanOut jobs: each socket gets each event once", async () => {
    const channel = "public/race-crowd";
    // The crowd: subscription rows of connections that vanished without `$disconnect`. The jobs'
    // sends to them answer 410 and prune them, so each publish gets a fresh crowd.
    const client = localDynamoClient(stack.outputs.dynamoEndpoint);
    const store = createChannelStore({ tableName: stack.outputs.tableName, client });
    const crowd = () =>
      pMap(
        Array.from({ length: FANOUT.inlineMax }),
        () =>
          store.subscribe({
            channel,
            connectionId: `gone${randomUUID().replaceAll("-", "").slice(0, 12)}=`,
            userId: "vanished",
            username: "vanished@example.com",
            expireAt: expireAtFor(Date.now()),
          }),
        { concurrency: 32 },
      );
    try {
      const publisher = await open("bob");
      const early = await Promise.all([open("alice"), open("alice"), open("alice")]);
      for (const socket of early) {
        await socket.request({ action: "subscribe", channel }, (frame) => frame.type === "subscribed");
      }
      const racing = await Promise.all([open("alice"), open("alice"), open("alice"), open("alice")]);
      const subscribers: Subscriber[] = early.map((socket) => ({ client: socket, channel, since: undefined }));
      const published: number[] = [];
      const receipts: Frame[] = [];
      for (let round = 0; round < 2; round++) {
        await crowd();
        if (round === 1) {
          for (const [index, socket] of racing.entries()) {
            const since = index % 2 === 0 ? undefined : Math.max(0, (published.at(-1) ?? 0) - 1);
            subscribers.push({ client: socket, channel, since });
            socket.send({ action: "subscribe", channel, ...(since === undefined ? {} : { since }) });
          }
        }
        const receipt = await publisher.request(
          { action: "publish", channel, data: { round } },
          (frame) => frame.type === "published" || frame.type === "error",
        );
        receipts.push(receipt);
        published.push(Number(receipt.seq));
        await stack.handlers.asyncSettled();
      }
      expect(receipts.map((receipt) => receipt.jobs)).toEqual([2, 2]);
      await drain(subscribers, Math.max(...published));
      const problems = subscribers.flatMap((s) => {
        const copy = { ...s, client: { frames: sortedEvents(s) } as unknown as RealtimeClient };
        return problemsOf(copy, new Set(published));
      });
      expect(problems).toEqual([]);
    } finally {
      client.destroy();
    }
  }, 90_000);
});

/**
 * Subscribes the sockets one by one, spread over a run of `total` publishes: socket i sends its
 * `subscribe` (every other one with a `since` a little behind the latest seq) once i/n of them are
 * published, without waiting for the answer. Returns what to call with each published seq.
 */
function subscribeAsPublished(
  sockets: readonly RealtimeClient[],
  channel: string,
  total: number,
  subscribers: Subscriber[],
): (seq: number) => void {
  let latest = 0;
  let next = 0;
  const due = () => {
    while (next < sockets.length && latest >= Math.floor((next * total) / sockets.length)) {
      const client = sockets[next] as RealtimeClient;
      const since = next % 2 === 0 ? undefined : Math.max(0, latest - (next % 4));
      subscribers.push({ client, channel, since });
      client.send({ action: "subscribe", channel, ...(since === undefined ? {} : { since }) });
      next++;
    }
  };
  due();
  return (seq) => {
    latest = Math.max(latest, seq);
    due();
  };
}

/** A subscriber's frames with its events sorted by seq (duplicates kept). */
function sortedEvents(s: Subscriber): Frame[] {
  const frames = s.client.frames.filter((frame) => frame.channel === s.channel);
  const events = frames.filter((frame) => frame.type === "event").sort((a, b) => Number(a.seq) - Number(b.seq));
  return [...frames.filter((frame) => frame.type !== "event"), ...events];
}
