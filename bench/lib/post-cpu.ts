import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { createManagementClient } from "@wsauth/core/messaging";
import pMap from "p-map";

/**
 * CPU per `PostToConnection`, measured in a process of its own (so `process.cpuUsage` is the sender's
 * alone): the SDK client with its defaults against the Messenger's client (`createManagementClient`),
 * in interleaved slices, posting to live connections of the local gateway with 16 in flight.
 * Argument: JSON `{ endpoint, connectionIds, postsPerSlice, slices }`; prints JSON µs per post.
 */

const { endpoint, connectionIds, postsPerSlice, slices } = JSON.parse(process.argv[2] ?? "{}") as {
  endpoint: string;
  connectionIds: string[];
  postsPerSlice: number;
  slices: number;
};
const data = new TextEncoder().encode(JSON.stringify({ type: "broadcast", data: { cpu: true } }));
const clients = {
  defaults: new ApiGatewayManagementApiClient({
    endpoint,
    region: LOCAL.region,
    credentials: { ...LOCAL_CREDENTIALS },
  }),
  messenger: createManagementClient({ endpoint, region: LOCAL.region, credentials: { ...LOCAL_CREDENTIALS } }),
};

async function slice(client: ApiGatewayManagementApiClient, posts: number): Promise<number> {
  const start = process.cpuUsage();
  await pMap(
    Array.from({ length: posts }, (_, index) => connectionIds[index % connectionIds.length] as string),
    (connectionId) => client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })),
    { concurrency: 16 },
  );
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const totals = { defaults: 0, messenger: 0 };
// Warm both (connections, JIT) before anything counts.
await slice(clients.defaults, 300);
await slice(clients.messenger, 300);
for (let index = 0; index < slices; index++) {
  totals.defaults += await slice(clients.defaults, postsPerSlice);
  totals.messenger += await slice(clients.messenger, postsPerSlice);
}
const posts = postsPerSlice * slices;
process.stdout.write(
  `${JSON.stringify({ defaults: totals.defaults / posts, messenger: totals.messenger / posts, posts })}\n`,
);
clients.defaults.destroy();
clients.messenger.destroy();
