import { CONNECTIONS_TABLE, RESOURCE } from "@wsauth/core/constants";

/**
 * What the connection registry does with its table (ElectroDB get/put/update/delete, queries on the
 * by-user index, batch writes and the sweeper's scan). No transactions: the local DynamoDB has none,
 * so the code never depends on them.
 */
const REGISTRY_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
  "dynamodb:Scan",
  "dynamodb:BatchGetItem",
  "dynamodb:BatchWriteItem",
];

// Linking a table grants `dynamodb:*` by default; narrow it to what the registry needs. Handlers still
// see `Resource.Connections.name` as before.
sst.Linkable.wrap(sst.aws.Dynamo, (dynamo) => ({
  properties: { name: dynamo.name },
  include: [
    sst.aws.permission({
      actions: REGISTRY_TABLE_ACTIONS,
      resources: [dynamo.arn, $interpolate`${dynamo.arn}/index/*`],
    }),
  ],
}));

/** The registry of live connections; rows expire through DynamoDB TTL once a connection cannot exist. */
export const table = new sst.aws.Dynamo(RESOURCE.table, {
  fields: CONNECTIONS_TABLE.fields,
  primaryIndex: CONNECTIONS_TABLE.primaryIndex,
  globalIndexes: CONNECTIONS_TABLE.globalIndexes,
  ttl: CONNECTIONS_TABLE.ttl,
});
