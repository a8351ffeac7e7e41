export { authorizeConnect, type ConnectDecision, connectPolicy } from "./authorize";
export {
  type AuthResources,
  assertLocalIssuerAllowed,
  isAwsUserPoolId,
  type LocalIssuer,
  readLocalIssuer,
  type TokenVerifierConfig,
  verifierConfigFromResource,
} from "./config";
export { authorizerContextSchema, decodeAuthorizerContext } from "./context";
export { type ConnectRequest, type ExtractedToken, extractConnectToken, offeredSubprotocol } from "./extract";
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
export {
  AuthRejection,
  AuthUnavailableError,
  codeOf,
  outcomeOf,
  REJECTION_REASONS,
  type RejectionOutcome,
  type RejectionReason,
  reasonOf,
  rejection,
} from "./reasons";
export { sharedTokenVerifier, verifyIdToken } from "./shared-verifier";
export { createTokenVerifier, type TokenVerifier, type VerifyOutcome } from "./verifier";
