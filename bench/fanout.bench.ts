import { startTcpRelay } from "../test/helpers/tcp-relay";
import type { BenchStack } from "./lib/bench-stack";
import { closeAll, connectMany } from "./lib/clients";
import type { FanoutTimes, SenderTask } from "./lib/fanout-sender";
import type { BenchResult } from "./lib/result";
import { figure } from "./lib/stats";
import { runInWorker } from "./lib/worker";

/**
 * Fan-out: the Messenger's `broadcast` to every live connection and `toUser` for a user with many
 * connections, against the naive pattern of the original sample (list, then one awaited
 * PostToConnection after another). Both list the same rows and post the same bytes through the local
 * gateway's `@connections` API to real sockets; the sender runs in its own thread (as a Lambda runs
 * apart from API Gateway). Measured straight over loopback, and through a relay that adds an emulated
 * round trip per request (RTT_MS), as between Lambda and API Gateway.
 */

const ROUNDS = 3;
/** Round trip added per management API request in the second measurement. */
const RTT_MS = 10;
/** A higher Messenger concurrency than its default, measured with RTT_MS to show what it buys. */
const WIDE_CONCURRENCY = 64;

/** Runs one sender task in a fresh worker thread. */
const measure = (task: SenderTask) =>
  runInWorker<SenderTask, FanoutTimes>(new URL("./lib/fanout-sender.ts", import.meta.url), task);

/**
 * Over plain loopback both patterns are bound by the same CPU per post (nothing to overlap), so those
 * figures are plain measurements; the targets apply with the emulated round trip.
 */
function figures(times: FanoutTimes, total: number, perUser: number, label: string, withTargets = true): BenchResult[] {
  const targets = (input: { minRatio?: number; maxValue?: number }) => (withTargets ? input : {});
  return [
    figure({
      name: `naive sequential send to ${total} connections${label}`,
      value: times.naiveAll,
      unit: "ms",
      lowerIsBetter: true,
    }),
    figure({
      name: `broadcast to ${total} live connections${label}`,
      value: times.broadcast,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: times.naiveAll, name: "naive sequential" },
      ...targets({ minRatio: 10, maxValue: 1000 }),
    }),
    figure({
      name: `naive sequential send to a user's ${perUser} connections${label}`,
      value: times.naiveUser,
      unit: "ms",
      lowerIsBetter: true,
    }),
    figure({
      name: `toUser, a user with ${perUser} connections${label}`,
      value: times.toUser,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: times.naiveUser, name: "naive sequential" },
      ...targets({ minRatio: 10 }),
    }),
  ];
}

export async function runFanoutBench(
  env: BenchStack,
  options: { rounds?: number; connectionsPerUser?: number } = {},
): Promise<BenchResult[]> {
  const rounds = options.rounds ?? ROUNDS;
  const perUser = options.connectionsPerUser ?? 100;
  const { users, stack } = env;
  const total = users.length * perUser;
  const clients = await connectMany(
    stack.outputs.webSocketUrl,
    total,
    (index) => users[Math.floor(index / perUser)]?.idToken ?? "",
    25,
  );
  let received = 0;
  for (const client of clients) {
    client.keepFrames = false;
    client.onFrame = () => {
      received += 1;
    };
  }
  const target = users[0];
  if (!target) throw new Error("no bench users");
  const management = new URL(stack.outputs.managementEndpoint);
  const relay = await startTcpRelay({ host: management.hostname, port: Number(management.port) }, { delayMs: RTT_MS });
  let loopback: FanoutTimes;
  let withRtt: FanoutTimes;
  let wide: FanoutTimes;
  try {
    const base = {
      dynamoEndpoint: stack.outputs.dynamoEndpoint,
      tableName: stack.outputs.tableName,
      userId: target.userId,
      expectedTotal: total,
    };
    const delayed = `${relay.endpoint}${management.pathname}`;
    loopback = await measure({
      ...base,
      endpoint: stack.outputs.managementEndpoint,
      rounds: { fast: rounds, naive: rounds },
    });
    // The naive pattern takes about total x RTT here: one round is enough and keeps the run bounded.
    withRtt = await measure({ ...base, endpoint: delayed, rounds: { fast: rounds, naive: 1 } });
    wide = await measure({
      ...base,
      endpoint: delayed,
      rounds: { fast: rounds, naive: 0 },
      concurrency: WIDE_CONCURRENCY,
    });
  } finally {
    await relay.stop();
    await closeAll(clients);
  }
  const sends = (fast: number, naive: number) => fast * (total + perUser) + naive * (total + perUser);
  const expected = sends(rounds, rounds) + sends(rounds, 1) + sends(rounds, 0);
  if (received !== expected) throw new Error(`clients received ${received} frames, expected ${expected}`);
  const wideLabel = `, ${RTT_MS} ms RTT, concurrency ${WIDE_CONCURRENCY}`;
  return [
    ...figures(loopback, total, perUser, "", false),
    ...figures(withRtt, total, perUser, `, ${RTT_MS} ms RTT`),
    // Same naive baseline as the RTT run (the naive pattern has no concurrency to change).
    ...figures({ ...wide, naiveAll: withRtt.naiveAll, naiveUser: withRtt.naiveUser }, total, perUser, wideLabel).filter(
      (result) => !result.name.startsWith("naive"),
    ),
  ];
}
