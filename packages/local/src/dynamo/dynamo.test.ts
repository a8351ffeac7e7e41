import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { CONNECTIONS_TABLE } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "./index";

describe("local DynamoDB", () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynamo({ port: 0 });
  });
  afterAll(() => dynamo.stop());

  it("creates the connections table from the shared constants, idempotently", async () => {
    const client = localDynamoClient(dynamo.endpoint);
    await createConnectionsTable(client, "connections-test");
    await createConnectionsTable(client, "connections-test");
    const { Table } = await client.send(new DescribeTableCommand({ TableName: "connections-test" }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema?.map((k) => k.AttributeName)).toEqual([
      CONNECTIONS_TABLE.primaryIndex.hashKey,
      CONNECTIONS_TABLE.primaryIndex.rangeKey,
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(
      Object.keys(CONNECTIONS_TABLE.globalIndexes),
    );
  });
});
