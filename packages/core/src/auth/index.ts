export { authorizeConnect } from "./authorize";
export { type AuthResources, type LocalIssuer, type TokenVerifierConfig, verifierConfigFromResource } from "./config";
export { decodeAuthorizerContext } from "./context";
export { offeredSubprotocol } from "./extract";
export {
  type AuthorizerContext,
  type ConnectionIdentity,
  connectionIdentityOf,
  decodeTokenIdentity,
  encodeAuthorizerContext,
  type Identity,
  joinGroups,
  splitGroups,
  TRANSPORTS,
  type Transport,
  type VerifiedToken,
} from "./identity";
export { JwksFetchError, JwksFetcher, type JwksFetcherOptions } from "./jwks";
export { AuthRejection, AuthUnavailableError, REJECTION_REASONS, type RejectionReason, reasonOf } from "./reasons";
export { isRevoked, type NotBeforeSource } from "./revocation-check";
export {
  createRevocationLookup,
  notBeforeOfItem,
  REVOCATION_ENTITY,
  REVOCATION_SCOPE,
  type RevocationLookup,
  type RevocationLookupOptions,
  revocationKeyOf,
} from "./revocation-lookup";
export { sharedTokenVerifier, verifyIdToken } from "./shared-verifier";
export { createTokenVerifier, type TokenVerifier, type VerifyOutcome } from "./verifier";
