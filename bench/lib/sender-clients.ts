import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { localDynamoClient } from "@wsauth/local/dynamo";

/** A benchmark's sender logs nothing: its figures are the output. */
export const silentLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The clients a benchmark's sender uses against the local stack (DynamoDB, `@connections`, the registry). */
export function senderClients(task: { endpoint: string; dynamoEndpoint: string; tableName: string }) {
  const dynamo = localDynamoClient(task.dynamoEndpoint);
  const management = new ApiGatewayManagementApiClient({
    endpoint: task.endpoint,
    region: LOCAL.region,
    credentials: { ...LOCAL_CREDENTIALS },
  });
  const store = createConnectionStore({ tableName: task.tableName, client: dynamo });
  return {
    dynamo,
    management,
    store,
    destroy() {
      management.destroy();
      dynamo.destroy();
    },
  };
}
