import { performance } from "node:perf_hooks";
import pMap from "p-map";
import { startTcpRelay } from "../test/helpers/tcp-relay";
import type { BenchStack } from "./lib/bench-stack";
import type { PublishTask, PublishTimes } from "./lib/channel-publisher";
import { closeAll, connect, connectMany, type RealtimeClient } from "./lib/clients";
import type { BenchResult } from "./lib/result";
import { figure } from "./lib/stats";
import { runInWorker } from "./lib/worker";

/**
 * Channels: a publish to a channel with 1,000 subscribers (the seq counter, the history row, the
 * subscriber query and the fan-out) against the bare fan-out of the same frame to the same
 * connections, over loopback and with an emulated round trip per `@connections` request; and the
 * replay of 100 missed events on resubscribe against a subscribe with nothing missed.
 */

const ROUNDS = 3;
const RTT_MS = 10;
const SUBSCRIBERS = 1_000;
const MISSED = 100;

const measure = (task: PublishTask) =>
  runInWorker<PublishTask, PublishTimes>(new URL("./lib/channel-publisher.ts", import.meta.url), task);

function publishFigures(times: PublishTimes, label: string): BenchResult[] {
  return [
    figure({
      name: `bare fan-out to ${SUBSCRIBERS} connections${label}`,
      value: times.bareFanout,
      unit: "ms",
      lowerIsBetter: true,
    }),
    figure({
      name: `publish to a channel with ${SUBSCRIBERS} subscribers${label}`,
      value: times.publish,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: times.bareFanout, name: "bare fan-out" },
      // The channel's own work (counter, history, one Query) should be small next to the fan-out.
      minRatio: 0.7,
    }),
  ];
}

/** Subscribes and waits for `subscribed` and `count` events of the channel; resolves the elapsed ms. */
async function timedSubscribe(client: RealtimeClient, channel: string, since: number, count: number): Promise<number> {
  const seen = client.frames.length;
  const start = performance.now();
  client.send({ action: "subscribe", channel, since });
  await client.next((frame) => frame.type === "subscribed" && client.frames.indexOf(frame) >= seen);
  if (count > 0) {
    await client.next((frame) => frame.type === "event" && frame.channel === channel && frame.seq === since + count);
  }
  return performance.now() - start;
}

export async function runChannelsBench(env: BenchStack, options: { rounds?: number } = {}): Promise<BenchResult[]> {
  const rounds = options.rounds ?? ROUNDS;
  const { users, stack } = env;
  const perUser = Math.ceil(SUBSCRIBERS / users.length);
  const channel = "public/bench";
  const clients = await connectMany(
    stack.outputs.webSocketUrl,
    SUBSCRIBERS,
    (index) => users[Math.floor(index / perUser)]?.idToken ?? "",
    25,
  );
  let publishTimes: PublishTimes;
  let rttTimes: PublishTimes;
  const management = new URL(stack.outputs.managementEndpoint);
  const relay = await startTcpRelay({ host: management.hostname, port: Number(management.port) }, { delayMs: RTT_MS });
  try {
    await pMap(
      clients,
      (client) => client.request({ action: "subscribe", channel }, (frame) => frame.type === "subscribed"),
      { concurrency: 25 },
    );
    for (const client of clients) client.keepFrames = false;
    const task = {
      dynamoEndpoint: stack.outputs.dynamoEndpoint,
      tableName: stack.outputs.tableName,
      channel,
      subscribers: SUBSCRIBERS,
      rounds,
    };
    publishTimes = await measure({ ...task, endpoint: stack.outputs.managementEndpoint });
    rttTimes = await measure({ ...task, endpoint: `${relay.endpoint}${management.pathname}` });
  } finally {
    await relay.stop();
    // A few at a time: every close runs `$disconnect`, which now also drops the channel rows, and the
    // local stack serves all of them from one DynamoDB emulator (on AWS each is its own invocation).
    await pMap(clients, (client) => client.close(), { concurrency: 20 });
  }

  // Replay: MISSED events published while nobody listened, then a subscribe with since 0.
  const token = users[0]?.idToken ?? "";
  const publisher = await connect(stack.outputs.webSocketUrl, token);
  const reader = await connect(stack.outputs.webSocketUrl, token);
  let replay = Infinity;
  let upToDate = Infinity;
  try {
    for (let round = 0; round < rounds; round += 1) {
      const missedChannel = `public/replay-${round}`;
      for (let n = 1; n <= MISSED; n += 1) {
        await publisher.request(
          { action: "publish", channel: missedChannel, data: { n } },
          (f) => f.type === "published",
        );
      }
      upToDate = Math.min(upToDate, await timedSubscribe(reader, missedChannel, MISSED, 0));
      await reader.request({ action: "unsubscribe", channel: missedChannel }, (f) => f.type === "unsubscribed");
      replay = Math.min(replay, await timedSubscribe(reader, missedChannel, 0, MISSED));
    }
  } finally {
    await closeAll([publisher, reader]);
  }
  return [
    ...publishFigures(publishTimes, ""),
    ...publishFigures(rttTimes, `, ${RTT_MS} ms RTT`),
    figure({ name: "resubscribe with nothing missed", value: upToDate, unit: "ms", lowerIsBetter: true }),
    figure({
      name: `resubscribe replaying ${MISSED} missed events`,
      value: replay,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: upToDate, name: "nothing missed" },
    }),
  ];
}
