import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { sharedTokenVerifier } from "@wsauth/core/auth";
import { createConnectionStore } from "@wsauth/core/connection";
import { createMessenger, createRealtime, type Realtime } from "@wsauth/core/messaging";
import { Resource } from "sst";

/**
 * The one place handlers read configuration (`Resource` only) and build clients: once per container,
 * on first use, shared by every handler module loaded in it. The DynamoDB client takes region,
 * credentials and, locally, `AWS_ENDPOINT_URL_DYNAMODB` from the environment.
 */
let instance: Realtime | undefined;

export function realtime(): Realtime {
  if (!instance) {
    const store = createConnectionStore({ tableName: Resource.Connections.name, client: new DynamoDBClient({}) });
    const messenger = createMessenger({ endpoint: Resource.Realtime.managementEndpoint, store });
    instance = createRealtime({ store, messenger, verifier: () => sharedTokenVerifier(Resource) });
  }
  return instance;
}
