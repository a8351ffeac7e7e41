export { isRevoked, type NotBeforeSource } from "../auth/revocation-check";
export {
  COGNITO_CLOUDTRAIL,
  type CognitoAdminEvent,
  cognitoAdminEventSchema,
  isEventBridgeEvent,
  parseCognitoAdminEvent,
  targetOfAdminEvent,
} from "./cloudtrail";
export {
  createRevocationLookup,
  notBeforeOfItem,
  type RevocationLookup,
  type RevocationLookupOptions,
  revocationKeyOf,
} from "./lookup";
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
