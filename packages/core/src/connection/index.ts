export { type ConnectionRecord, type ConnectionRow, decodeConnectionRow, encodeConnectionRow } from "./record";
export { CONNECTION_SHARDS, createConnectionEntity, createUsernameEntity, expireAtFor, shardOf } from "./schema";
export {
  type ConnectionStore,
  type ConnectionStoreOptions,
  createConnectionStore,
  type NewConnection,
  type WalkOptions,
} from "./store";
