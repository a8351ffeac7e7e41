export {
  createRevocationLookup,
  isRevoked,
  type NotBeforeSource,
  notBeforeOfItem,
  type RevocationLookup,
  type RevocationLookupOptions,
  revocationKeyOf,
} from "../auth/index";
export {
  COGNITO_CLOUDTRAIL,
  type CognitoAdminEvent,
  cognitoAdminEventSchema,
  isEventBridgeEvent,
  parseCognitoAdminEvent,
  targetOfAdminEvent,
} from "./cloudtrail";
export {
  parseRevokeInput,
  type RevokeDependencies,
  type RevokeReport,
  type RevokeTarget,
  revokeInputSchema,
  revokeUser,
} from "./revoke";
export { createRevocationEntity } from "./schema";
export {
  createRevocationStore,
  type RevocationRecord,
  type RevocationStore,
  type RevocationStoreOptions,
} from "./store";
