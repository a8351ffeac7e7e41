import { parentPort, workerData } from "node:worker_threads";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { createManagementClient, createMessenger } from "@wsauth/core/messaging";
import { frames } from "@wsauth/core/protocol";
import { localDynamoClient } from "@wsauth/local/dynamo";
import { silentLog } from "./sender-clients";

/**
 * The inline path (one invocation walking the registry and sending with the Messenger's bounded
 * concurrency, as `broadcast` did for every size before fan-out jobs), in a thread of its own as a
 * Lambda runs apart from API Gateway. Waits for `go` messages; each runs one broadcast tagged `run`.
 */

export interface InlineTask {
  endpoint: string;
  dynamoEndpoint: string;
  tableName: string;
}

const task = (workerData as { task?: InlineTask } | null)?.task;
const port = parentPort;
if (port && task) {
  const store = createConnectionStore({ tableName: task.tableName, client: localDynamoClient(task.dynamoEndpoint) });
  const messenger = createMessenger({
    endpoint: task.endpoint,
    store,
    client: createManagementClient({
      endpoint: task.endpoint,
      region: LOCAL.region,
      credentials: { ...LOCAL_CREDENTIALS },
    }),
    log: silentLog,
  });
  port.on("message", (message: { run: string }) => {
    const frame = frames.broadcast({ userId: "bench", username: "bench" }, { run: message.run }, Date.now());
    messenger.broadcast(frame).then(
      (report) => port.postMessage({ ok: true, report }),
      (error: unknown) => port.postMessage({ ok: false, error: String(error) }),
    );
  });
  port.postMessage({ ready: true });
}
