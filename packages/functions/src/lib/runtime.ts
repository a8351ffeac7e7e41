import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { sharedTokenVerifier } from "@wsauth/core/auth";
import { createChannelStore } from "@wsauth/core/channel";
import { createConnectionStore } from "@wsauth/core/connection";
import { DEPENDENCY_TIMEOUTS } from "@wsauth/core/constants";
import { createMessenger, createRealtime, type Realtime } from "@wsauth/core/messaging";
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

export function realtime(): Realtime {
  if (!instance) {
    const requestHandler = dependencyRequestHandler;
    const dynamo = new DynamoDBClient({ requestHandler });
    const store = createConnectionStore({ tableName: Resource.Connections.name, client: dynamo });
    const channelStore = createChannelStore({ tableName: Resource.Connections.name, client: dynamo });
    const messenger = createMessenger({
      endpoint: Resource.Realtime.managementEndpoint,
      store,
      client: new ApiGatewayManagementApiClient({ endpoint: Resource.Realtime.managementEndpoint, requestHandler }),
    });
    instance = createRealtime({ store, channelStore, messenger, verifier: () => sharedTokenVerifier(Resource) });
  }
  return instance;
}
