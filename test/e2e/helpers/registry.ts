import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type ConnectionStore, createConnectionStore } from "@wsauth/core/connection";
import { LOCAL_CREDENTIALS, type LocalOutputs } from "@wsauth/core/constants";

/** Reads the local stack's connection registry the way the handlers do (dynalite, dummy credentials). */
export function openRegistry(outputs: LocalOutputs): { store: ConnectionStore; close(): void } {
  const client = new DynamoDBClient({
    endpoint: outputs.dynamoEndpoint,
    region: outputs.region,
    credentials: { ...LOCAL_CREDENTIALS },
  });
  return { store: createConnectionStore({ tableName: outputs.tableName, client }), close: () => client.destroy() };
}
