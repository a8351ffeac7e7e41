import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { createMessenger } from "@wsauth/core/messaging";
import type { ServerFrame } from "@wsauth/core/protocol";
import { localDynamoClient } from "@wsauth/local/dynamo";

/**
 * The sending side of the fan-out benchmark, run in its own worker thread: on AWS the sender is a
 * Lambda function on other hardware than API Gateway, so it must not share a thread with the gateway
 * and the receiving sockets. Posts the same frame with the Messenger and with the naive pattern.
 */

export interface SenderTask {
  endpoint: string;
  dynamoEndpoint: string;
  tableName: string;
  /** The user `toUser` targets. */
  userId: string;
  expectedTotal: number;
  rounds: { fast: number; naive: number };
  concurrency?: number;
}

export interface FanoutTimes {
  broadcast: number;
  naiveAll: number;
  toUser: number;
  naiveUser: number;
}

const silentLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
export const FANOUT_FRAME: ServerFrame = {
  type: "message",
  from: { userId: "system", username: "system" },
  data: { bench: true },
  sentAt: new Date(0).toISOString(),
};

export async function measureFanout(task: SenderTask): Promise<FanoutTimes> {
  const dynamo = localDynamoClient(task.dynamoEndpoint);
  const management = new ApiGatewayManagementApiClient({
    endpoint: task.endpoint,
    region: LOCAL.region,
    credentials: { ...LOCAL_CREDENTIALS },
  });
  const store = createConnectionStore({ tableName: task.tableName, client: dynamo });
  const messenger = createMessenger({
    endpoint: task.endpoint,
    store,
    client: management,
    log: silentLog,
    ...(task.concurrency ? { concurrency: task.concurrency } : {}),
  });
  const bytes = new TextEncoder().encode(JSON.stringify(FANOUT_FRAME));
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
    for (let round = 0; round < Math.max(task.rounds.fast, task.rounds.naive); round += 1) {
      if (round < task.rounds.fast) {
        best.broadcast = Math.min(
          best.broadcast,
          await timed(async () => {
            const report = await messenger.broadcast(FANOUT_FRAME);
            if (report.delivered !== task.expectedTotal) {
              throw new Error(`broadcast delivered ${report.delivered} of ${task.expectedTotal}`);
            }
          }),
        );
        best.toUser = Math.min(best.toUser, await timed(() => messenger.toUser(task.userId, FANOUT_FRAME)));
      }
      if (round < task.rounds.naive) {
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
          await timed(async () => naiveSend((await store.listByUser(task.userId)).map((r) => r.connectionId))),
        );
      }
    }
  } finally {
    management.destroy();
    dynamo.destroy();
  }
  return best;
}

const task = (workerData as { task?: SenderTask } | null)?.task;
if (parentPort && task) {
  const port = parentPort;
  measureFanout(task).then(
    (times) => port.postMessage({ ok: true, times }),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
}
