import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { sharedTokenVerifier } from "@wsauth/core/auth";
import { createChannelStore } from "@wsauth/core/channel";
import { createConnectionStore } from "@wsauth/core/connection";
import { DEPENDENCY_TIMEOUTS } from "@wsauth/core/constants";
import {
  createFanOut,
  createFanOutMarkers,
  createManagementClient,
  createMessenger,
  createRealtime,
  type FanOutDispatcher,
  type Realtime,
} from "@wsauth/core/messaging";
import { createRevocationStore } from "@wsauth/core/revocation";
import { Resource } from "sst";

/**
 * The one place handlers read configuration (`Resource` only) and build clients: once per container,
 * on first use, shared by every handler module loaded in it. The DynamoDB client takes region,
 * credentials and, locally, `AWS_ENDPOINT_URL_DYNAMODB` from the environment.
 */
let instance: Realtime | undefined;

/**
 * Every SDK call gives up after DEPENDENCY_TIMEOUTS (the SDK only warns about a slow request unless
 * told to throw), so a stalled dependency becomes `dependency_failed` instead of a hung handler.
 */
export const dependencyRequestHandler = {
  connectionTimeout: DEPENDENCY_TIMEOUTS.connectionTimeoutMs,
  requestTimeout: DEPENDENCY_TIMEOUTS.requestTimeoutMs,
  throwOnRequestTimeout: true,
} as const;

/**
 * Queues fan-out jobs as asynchronous invocations of `FanOut` (`InvocationType: Event`): accepted once
 * Lambda answers 202, run at least once, retried by Lambda after a failure.
 */
function lambdaDispatcher(): FanOutDispatcher {
  const client = new LambdaClient({ requestHandler: dependencyRequestHandler });
  const functionName = Resource.FanOut.name;
  const encoder = new TextEncoder();
  return {
    async dispatch(job) {
      const { StatusCode } = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: "Event",
          Payload: encoder.encode(JSON.stringify(job)),
        }),
      );
      if (StatusCode !== 202) throw new Error(`FanOut invocation answered ${StatusCode}, not 202`);
    },
  };
}

export function realtime(): Realtime {
  if (!instance) {
    const requestHandler = dependencyRequestHandler;
    const dynamo = new DynamoDBClient({ requestHandler });
    const tableName = Resource.Connections.name;
    const store = createConnectionStore({ tableName, client: dynamo });
    const channelStore = createChannelStore({ tableName, client: dynamo });
    const messenger = createMessenger({
      endpoint: Resource.Realtime.managementEndpoint,
      store,
      client: createManagementClient(
        { endpoint: Resource.Realtime.managementEndpoint },
        { requestTimeoutMs: DEPENDENCY_TIMEOUTS.requestTimeoutMs },
      ),
    });
    // Built on first use: only a fan-out above FANOUT.inlineMax (`broadcast`, a channel publish from
    // `publish` or `Notify`) queues jobs, and only the `FanOut` function reads markers.
    let dispatcher: FanOutDispatcher | undefined;
    let markers: ReturnType<typeof createFanOutMarkers> | undefined;
    const fanOut = createFanOut({
      messenger,
      dispatcher: () => (dispatcher ??= lambdaDispatcher()),
      markers: () => (markers ??= createFanOutMarkers({ client: dynamo, tableName })),
    });
    instance = createRealtime({
      store,
      channelStore,
      revocations: createRevocationStore({ tableName, client: dynamo }),
      messenger,
      fanOut,
      verifier: () => sharedTokenVerifier(Resource),
    });
  }
  return instance;
}
