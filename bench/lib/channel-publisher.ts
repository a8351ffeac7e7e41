import { performance } from "node:perf_hooks";
import { createChannelStore } from "@wsauth/core/channel";
import { createChannels, createMessenger } from "@wsauth/core/messaging";
import { frames, SYSTEM_SENDER } from "@wsauth/core/protocol";
import { senderClients, silentLog } from "./sender-clients";
import { serveTask } from "./worker";

/**
 * The publishing side of the channel benchmark, in its own worker thread (as a Lambda runs apart from
 * API Gateway): a channel publish (seq counter, history row, subscriber query, fan-out) against the
 * same fan-out to the same connections without any channel bookkeeping (the Messenger alone).
 */

export interface PublishTask {
  endpoint: string;
  dynamoEndpoint: string;
  tableName: string;
  channel: string;
  subscribers: number;
  rounds: number;
}

export interface PublishTimes {
  publish: number;
  bareFanout: number;
}

export async function measurePublish(task: PublishTask): Promise<PublishTimes> {
  const clients = senderClients(task);
  const { dynamo, management, store } = clients;
  const channelStore = createChannelStore({ tableName: task.tableName, client: dynamo });
  const messenger = createMessenger({ endpoint: task.endpoint, store, client: management, log: silentLog });
  const channels = createChannels({ store: channelStore, messenger, now: Date.now, log: silentLog });
  const timed = async (run: () => Promise<{ delivered: number }>) => {
    const start = performance.now();
    const { delivered } = await run();
    if (delivered !== task.subscribers) throw new Error(`delivered ${delivered} of ${task.subscribers}`);
    return performance.now() - start;
  };
  const best: PublishTimes = { publish: Infinity, bareFanout: Infinity };
  try {
    const ids = await channelStore.subscribers(task.channel);
    const frame = frames.event(task.channel, 0, SYSTEM_SENDER, { bench: true }, Date.now());
    for (let round = 0; round < task.rounds; round += 1) {
      best.bareFanout = Math.min(best.bareFanout, await timed(() => messenger.toConnections(ids, frame)));
      best.publish = Math.min(
        best.publish,
        await timed(() => channels.publish("server", SYSTEM_SENDER, task.channel, { bench: true })),
      );
    }
  } finally {
    clients.destroy();
  }
  return best;
}

serveTask(measurePublish);
