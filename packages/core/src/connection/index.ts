export { type ConnectionRecord, type ConnectionRow, decodeConnectionRow, encodeConnectionRow } from "./record";
export {
  CONNECTION_SHARDS,
  createConnectionEntity,
  createUsernameEntity,
  expireAtFor,
  keysOf,
  shardOf,
} from "./schema";
export {
  type ConnectionStore,
  type ConnectionStoreOptions,
  createConnectionStore,
  isConditionalFailure,
  type NewConnection,
  type RecipientRecord,
  type WalkOptions,
} from "./store";
