import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { CONNECTIONS_TABLE, LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import dynalite from "dynalite";
import { refuseForeignHost } from "../loopback/index.js";

/** A running dynalite (a real DynamoDB API, in memory) on loopback. */
export interface LocalDynamo {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * dynalite answers CORS for any origin, so any web page could read and write the local registry. Its
 * handler is put behind the local stack's front door: loopback `Host` names only (421), and no browser
 * at all (a request with an `Origin` gets 403; the SDK, the handlers and the CLI send none).
 */
function closeToBrowsers(server: ReturnType<typeof dynalite>): void {
  const handlers = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (refuseForeignHost(req, res)) return;
    if (req.headers.origin !== undefined) {
      res
        .writeHead(403, { "content-type": "application/json" })
        .end('{"message":"browsers may not call the local DynamoDB"}');
      return;
    }
    for (const handler of handlers) handler.call(server, req, res);
  });
}

/** Starts dynalite on `port` (0 for an ephemeral one). Tables are ACTIVE at once (`createTableMs: 0`). */
export async function startDynamo(options: { port?: number; host?: string } = {}): Promise<LocalDynamo> {
  const host = options.host ?? "127.0.0.1";
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  closeToBrowsers(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? LOCAL.ports.dynamo, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** A DynamoDB client for a local endpoint (static dummy credentials: dynalite does not check them). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL.region,
    credentials: { ...LOCAL_CREDENTIALS },
  });
}

/**
 * Creates the connections table exactly as `infra/storage.ts` declares it (both read
 * `CONNECTIONS_TABLE`). Idempotent: an existing table is left as it is.
 */
export async function createConnectionsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { fields, primaryIndex, globalIndexes } = CONNECTIONS_TABLE;
  const attributeDefinitions: AttributeDefinition[] = Object.entries(fields).map(([name, type]) => ({
    AttributeName: name,
    AttributeType: type === "string" ? "S" : type === "number" ? "N" : "B",
  }));
  const gsis: GlobalSecondaryIndex[] = Object.entries(globalIndexes).map(([indexName, index]) => ({
    IndexName: indexName,
    KeySchema: [
      { AttributeName: index.hashKey, KeyType: "HASH" },
      { AttributeName: index.rangeKey, KeyType: "RANGE" },
    ],
    Projection: { ProjectionType: "ALL" },
  }));
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: attributeDefinitions,
        KeySchema: [
          { AttributeName: primaryIndex.hashKey, KeyType: "HASH" },
          { AttributeName: primaryIndex.rangeKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: gsis,
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
}
