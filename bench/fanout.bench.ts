import { performance } from "node:perf_hooks";
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { createMessenger } from "@wsauth/core/messaging";
import type { ServerFrame } from "@wsauth/core/protocol";
import { localDynamoClient } from "../packages/local/src/dynamo/index";
import type { BenchStack } from "./lib/bench-stack";
import { closeAll, connectMany } from "./lib/clients";
import { startLatencyRelay } from "./lib/latency-relay";
import type { BenchResult } from "./lib/result";
import { figure } from "./lib/stats";

/**
 * Fan-out: the Messenger's `broadcast` to every live connection and `toUser` for a user with many
 * connections, against the naive pattern of the original sample (list, then one awaited
 * PostToConnection after another). Both list the same rows and post the same bytes through the local
 * gateway's `@connections` API to real sockets. Measured twice: straight over loopback, and through
 * a relay that adds an emulated round trip per request (RTT_MS), as between Lambda and API Gateway.
 */

const ROUNDS = 3;
/** Round trip added per management API request in the second measurement. */
const RTT_MS = 10;
/** A higher Messenger concurrency than its default, measured with RTT_MS to show what it buys. */
const WIDE_CONCURRENCY = 64;
const silentLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const FRAME: ServerFrame = {
  type: "message",
  from: { userId: "system", username: "system" },
  data: { bench: true },
  sentAt: new Date(0).toISOString(),
};

interface FanoutTimes {
  broadcast: number;
  naiveAll: number;
  toUser: number;
  naiveUser: number;
}

async function measure(
  env: BenchStack,
  endpoint: string,
  rounds: { fast: number; naive: number },
  expectedTotal: number,
  concurrency?: number,
): Promise<FanoutTimes> {
  const { outputs } = env.stack;
  const dynamo = localDynamoClient(outputs.dynamoEndpoint);
  const management = new ApiGatewayManagementApiClient({
    endpoint,
    region: LOCAL.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const store = createConnectionStore({ tableName: outputs.tableName, client: dynamo });
  const messenger = createMessenger({
    endpoint,
    store,
    client: management,
    log: silentLog,
    ...(concurrency ? { concurrency } : {}),
  });
  const bytes = new TextEncoder().encode(JSON.stringify(FRAME));
  const target = env.users[0];
  if (!target) throw new Error("no bench users");
  const naiveSend = async (ids: string[]) => {
    for (const id of ids) await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: bytes }));
  };
  const timed = async (run: () => Promise<unknown>) => {
    const start = performance.now();
    await run();
    return performance.now() - start;
  };
  const best: FanoutTimes = { broadcast: Infinity, naiveAll: Infinity, toUser: Infinity, naiveUser: Infinity };
  try {
    for (let round = 0; round < Math.max(rounds.fast, rounds.naive); round += 1) {
      if (round < rounds.fast) {
        best.broadcast = Math.min(
          best.broadcast,
          await timed(async () => {
            const report = await messenger.broadcast(FRAME);
            if (report.delivered !== expectedTotal) {
              throw new Error(`broadcast delivered ${report.delivered} of ${expectedTotal}`);
            }
          }),
        );
        best.toUser = Math.min(best.toUser, await timed(() => messenger.toUser(target.userId, FRAME)));
      }
      if (round < rounds.naive) {
        best.naiveAll = Math.min(
          best.naiveAll,
          await timed(async () => {
            const ids: string[] = [];
            for await (const page of store.walk()) ids.push(...page.map((record) => record.connectionId));
            await naiveSend(ids);
          }),
        );
        best.naiveUser = Math.min(
          best.naiveUser,
          await timed(async () => naiveSend((await store.listByUser(target.userId)).map((r) => r.connectionId))),
        );
      }
    }
  } finally {
    management.destroy();
    dynamo.destroy();
  }
  return best;
}

function figures(times: FanoutTimes, total: number, perUser: number, label: string): BenchResult[] {
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
      minRatio: 10,
      maxValue: 1000,
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
      minRatio: 10,
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
  const management = new URL(stack.outputs.managementEndpoint);
  const relay = await startLatencyRelay({ host: management.hostname, port: Number(management.port) }, RTT_MS);
  let loopback: FanoutTimes;
  let withRtt: FanoutTimes;
  let wide: FanoutTimes;
  try {
    loopback = await measure(env, stack.outputs.managementEndpoint, { fast: rounds, naive: rounds }, total);
    // The naive pattern takes about total x RTT here: one round is enough and keeps the run bounded.
    withRtt = await measure(env, `${relay.endpoint}${management.pathname}`, { fast: rounds, naive: 1 }, total);
    wide = await measure(
      env,
      `${relay.endpoint}${management.pathname}`,
      { fast: rounds, naive: 0 },
      total,
      WIDE_CONCURRENCY,
    );
  } finally {
    await relay.stop();
    await closeAll(clients);
  }
  const sends = (fast: number, naive: number) => fast * (total + perUser) + naive * (total + perUser);
  const expected = sends(rounds, rounds) + sends(rounds, 1) + sends(rounds, 0);
  if (received !== expected) throw new Error(`clients received ${received} frames, expected ${expected}`);
  const wideLabel = `, ${RTT_MS} ms RTT, concurrency ${WIDE_CONCURRENCY}`;
  return [
    ...figures(loopback, total, perUser, ""),
    ...figures(withRtt, total, perUser, `, ${RTT_MS} ms RTT`),
    // Same naive baseline as the RTT run (the naive pattern has no concurrency to change).
    ...figures({ ...wide, naiveAll: withRtt.naiveAll, naiveUser: withRtt.naiveUser }, total, perUser, wideLabel).filter(
      (result) => !result.name.startsWith("naive"),
    ),
  ];
}
