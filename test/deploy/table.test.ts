import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createConnectionEntity, createUserConnectionsEntity, createUsernameEntity } from "@wsauth/core/connection";
import { CONNECTIONS_TABLE } from "@wsauth/core/constants";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declaredTable, type Graph, type TableShape, tableOf } from "./checks";
import { deployShell, evaluate } from "./graph";

// One table, four descriptions that must agree: CONNECTIONS_TABLE (the constant), the table the deploy
// graph creates, the ElectroDB model the registry reads and writes through, and the table the local
// stack creates in dynalite (as DescribeTable reports it).

const TABLE_NAME = "deploy-table-check";

/** Differences between two table shapes, as readable lines (empty when they agree). */
function differences(expected: TableShape, actual: TableShape, label: string): string[] {
  const lines: string[] = [];
  for (const key of ["hashKey", "rangeKey", "ttl"] as const) {
    if (expected[key] !== actual[key]) lines.push(`${label}: ${key} is ${actual[key]}, expected ${expected[key]}`);
  }
  if (JSON.stringify(expected.attributes) !== JSON.stringify(actual.attributes)) {
    lines.push(
      `${label}: attributes ${JSON.stringify(actual.attributes)}, expected ${JSON.stringify(expected.attributes)}`,
    );
  }
  if (JSON.stringify(expected.indexes) !== JSON.stringify(actual.indexes)) {
    lines.push(`${label}: indexes ${JSON.stringify(actual.indexes)}, expected ${JSON.stringify(expected.indexes)}`);
  }
  return lines;
}

const sorted = <T>(record: Record<string, T>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
const normalized = (shape: TableShape): TableShape => ({
  ...shape,
  attributes: sorted(shape.attributes),
  indexes: sorted(shape.indexes),
});

interface ModelIndex {
  index?: string;
  pk: { field: string };
  sk?: { field: string };
}
interface Model {
  indexes: Record<string, ModelIndex>;
  attributes: Record<string, { field?: string; type: string }>;
}

/** What an ElectroDB entity needs of the table: key fields per index, and the TTL attribute it writes. */
function modelDifferences(entity: { schema: Model }, table: TableShape, label: string): string[] {
  const lines: string[] = [];
  for (const [name, index] of Object.entries(entity.schema.indexes)) {
    const keys =
      index.index === undefined ? { hashKey: table.hashKey, rangeKey: table.rangeKey } : table.indexes[index.index];
    if (!keys) {
      lines.push(`${label}: index ${name} uses ${index.index}, which the table does not have`);
      continue;
    }
    if (index.pk.field !== keys.hashKey || index.sk?.field !== keys.rangeKey) {
      lines.push(
        `${label}: index ${name} keys ${index.pk.field}/${index.sk?.field}, table has ${keys.hashKey}/${keys.rangeKey}`,
      );
    }
    for (const field of [index.pk.field, index.sk?.field]) {
      if (field !== undefined && table.attributes[field] !== "S")
        lines.push(`${label}: key ${field} is not a string attribute`);
    }
  }
  const ttlAttribute = Object.values(entity.schema.attributes).find((attribute) => attribute.field === table.ttl);
  if (ttlAttribute?.type !== "number") lines.push(`${label}: writes no number attribute ${table.ttl} (the TTL)`);
  return lines;
}

async function describeLocalTable(client: DynamoDBClient): Promise<Omit<TableShape, "ttl">> {
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
  const key = (schema: Array<{ AttributeName?: string; KeyType?: string }> | undefined, type: string) =>
    String(schema?.find((k) => k.KeyType === type)?.AttributeName);
  return {
    hashKey: key(table?.KeySchema, "HASH"),
    rangeKey: key(table?.KeySchema, "RANGE"),
    attributes: Object.fromEntries(
      (table?.AttributeDefinitions ?? []).map((a) => [String(a.AttributeName), String(a.AttributeType)]),
    ),
    indexes: Object.fromEntries(
      (table?.GlobalSecondaryIndexes ?? []).map((index) => [
        String(index.IndexName),
        {
          hashKey: key(index.KeySchema, "HASH"),
          rangeKey: key(index.KeySchema, "RANGE"),
          projection: String(index.Projection?.ProjectionType),
        },
      ]),
    ),
  };
}

let graph: Graph;
let dynamo: LocalDynamo;
let client: DynamoDBClient;

beforeAll(async () => {
  [graph, dynamo] = await Promise.all([evaluate({ stage: "alice", env: deployShell() }), startDynamo({ port: 0 })]);
  client = localDynamoClient(dynamo.endpoint);
  await createConnectionsTable(client, TABLE_NAME);
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

describe("the connections table", () => {
  it("is deployed as CONNECTIONS_TABLE declares it", () => {
    expect(differences(normalized(declaredTable()), normalized(tableOf(graph)), "deployed")).toEqual([]);
  });

  it("is the table the local stack creates in dynalite (DescribeTable; dynalite has no TTL)", async () => {
    const local = { ...(await describeLocalTable(client)), ttl: CONNECTIONS_TABLE.ttl };
    expect(differences(normalized(tableOf(graph)), normalized(local), "local")).toEqual([]);
  });

  it("fits the ElectroDB model of every row kind", () => {
    const deployed = tableOf(graph);
    const entities = {
      connection: createConnectionEntity(client, TABLE_NAME),
      username: createUsernameEntity(client, TABLE_NAME),
      userConnections: createUserConnectionsEntity(client, TABLE_NAME),
    };
    for (const [label, entity] of Object.entries(entities)) {
      expect(modelDifferences(entity as unknown as { schema: Model }, deployed, label)).toEqual([]);
    }
  });

  it("reports a table that differs (mutation proofs)", () => {
    const deployed = normalized(tableOf(graph));
    const withoutIndex = { ...deployed, indexes: {} };
    expect(differences(deployed, withoutIndex, "mutant")).toEqual([expect.stringContaining("mutant: indexes {}")]);
    const keysOnly = {
      ...deployed,
      indexes: { byUser: { ...(deployed.indexes.byUser as TableShape["indexes"][string]), projection: "KEYS_ONLY" } },
    };
    expect(differences(deployed, keysOnly, "mutant")).toHaveLength(1);
    expect(differences(deployed, { ...deployed, ttl: undefined }, "mutant")).toEqual([
      "mutant: ttl is undefined, expected expireAt",
    ]);
    const entity = createConnectionEntity(client, TABLE_NAME) as unknown as { schema: Model };
    expect(
      modelDifferences(
        entity,
        { ...deployed, rangeKey: "sk2", attributes: { ...deployed.attributes, sk2: "S" } },
        "mutant",
      ),
    ).toEqual(["mutant: index primary keys pk/sk, table has pk/sk2"]);
    expect(modelDifferences(entity, { ...deployed, ttl: "ttl" }, "mutant")).toEqual([
      "mutant: writes no number attribute ttl (the TTL)",
    ]);
  });
});
