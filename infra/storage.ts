import { CONNECTIONS_TABLE, RESOURCE } from "@wsauth/core/constants";
import { keepInProtectedStage } from "./stage";

/** The registry of live connections; rows expire through DynamoDB TTL once a connection cannot exist. */
export const table = new sst.aws.Dynamo(RESOURCE.table, {
  fields: CONNECTIONS_TABLE.fields,
  primaryIndex: CONNECTIONS_TABLE.primaryIndex,
  globalIndexes: CONNECTIONS_TABLE.globalIndexes,
  ttl: CONNECTIONS_TABLE.ttl,
  transform: {
    table: (_args, opts) => keepInProtectedStage(opts),
  },
});
