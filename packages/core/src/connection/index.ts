export { CONNECTION_SHARDS, expireAtFor, shardOf } from "./schema";
export {
  type ConnectionRecord,
  type ConnectionStore,
  type ConnectionStoreOptions,
  createConnectionStore,
  type NewConnection,
  type WalkOptions,
} from "./store";
