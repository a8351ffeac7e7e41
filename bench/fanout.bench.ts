import { performance } from "node:perf_hooks";
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { createMessenger } from "@wsauth/core/messaging";
import { localDynamoClient } from "../packages/local/src/dynamo/index";
import type { BenchStack } from "./lib/bench-stack";
import { closeAll, connectMany } from "./lib/clients";
import type { BenchResult } from "./lib/result";
import { figure } from "./lib/stats";

/**
 * Fan-out: the Messenger's `broadcast` to every live connection and `toUser` for a user with many
 * connections, against the naive pattern of the original sample (list, then one awaited
 * PostToConnection after another). Both list the same rows and post the same bytes through the
 * local gateway's `@connections` API to real sockets; each round runs both, the best round counts.
 */

const ROUNDS = 3;
const silentLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export async function runFanoutBench(
  env: BenchStack,
  options: { rounds?: number; connectionsPerUser?: number } = {},
): Promise<BenchResult[]> {
  const rounds = options.rounds ?? ROUNDS;
  const perUser = options.connectionsPerUser ?? 100;
  const { users, stack } = env;
  const total = users.length * perUser;
  const { outputs } = stack;
  const dynamo = localDynamoClient(outputs.dynamoEndpoint);
  const management = new ApiGatewayManagementApiClient({
    endpoint: outputs.managementEndpoint,
    region: LOCAL.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const store = createConnectionStore({ tableName: outputs.tableName, client: dynamo });
  const messenger = createMessenger({
    endpoint: outputs.managementEndpoint,
    store,
    client: management,
    log: silentLog,
  });
  const clients = await connectMany(
    outputs.webSocketUrl,
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
  const frame = { type: "message", from: { userId: "system", username: "system" }, data: { bench: true }, sentAt: "" };
  const bytes = new TextEncoder().encode(JSON.stringify(frame));
  const naiveSend = async (ids: string[]) => {
    for (const id of ids) await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: bytes }));
  };
  const timed = async (run: () => Promise<unknown>) => {
    const start = performance.now();
    await run();
    return performance.now() - start;
  };
  const best = { broadcast: Infinity, naiveAll: Infinity, toUser: Infinity, naiveUser: Infinity };
  let delivered = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      best.broadcast = Math.min(
        best.broadcast,
        await timed(async () => {
          delivered = (await messenger.broadcast(frame as never)).delivered;
        }),
      );
      best.naiveAll = Math.min(
        best.naiveAll,
        await timed(async () => {
          const ids: string[] = [];
          for await (const page of store.walk()) ids.push(...page.map((record) => record.connectionId));
          await naiveSend(ids);
        }),
      );
      best.toUser = Math.min(best.toUser, await timed(() => messenger.toUser(target.userId, frame as never)));
      best.naiveUser = Math.min(
        best.naiveUser,
        await timed(async () => naiveSend((await store.listByUser(target.userId)).map((r) => r.connectionId))),
      );
    }
  } finally {
    await closeAll(clients);
    management.destroy();
    dynamo.destroy();
  }
  if (delivered !== total) throw new Error(`broadcast delivered ${delivered} of ${total}`);
  const expected = rounds * (2 * total + 2 * perUser);
  if (received !== expected) throw new Error(`clients received ${received} frames, expected ${expected}`);
  return [
    figure({
      name: `naive sequential send to ${total} connections`,
      value: best.naiveAll,
      unit: "ms",
      lowerIsBetter: true,
    }),
    figure({
      name: `broadcast to ${total} live connections`,
      value: best.broadcast,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: best.naiveAll, name: "naive sequential" },
      minRatio: 10,
      maxValue: 1000,
    }),
    figure({
      name: `naive sequential send to a user's ${perUser} connections`,
      value: best.naiveUser,
      unit: "ms",
      lowerIsBetter: true,
    }),
    figure({
      name: `toUser, a user with ${perUser} connections`,
      value: best.toUser,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: best.naiveUser, name: "naive sequential" },
      minRatio: 10,
    }),
  ];
}
