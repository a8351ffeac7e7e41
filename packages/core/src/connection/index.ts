export { type ConnectionRecord, type ConnectionRow, decodeConnectionRow, encodeConnectionRow } from "./record";
export {
  CONNECTION_SHARDS,
  type ConnectionSlot,
  createConnectionEntity,
  createUserConnectionsEntity,
  createUsernameEntity,
  expireAtFor,
  keysOf,
  shardOf,
} from "./schema";
export {
  type ConnectionStore,
  type ConnectionStoreOptions,
  createConnectionStore,
  type FrameCount,
  type FrameWindow,
  isConditionalFailure,
  type NewConnection,
  type RecipientRecord,
  type WalkOptions,
} from "./store";
