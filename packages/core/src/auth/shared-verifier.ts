import { type AuthResources, verifierConfigFromResource } from "./config";
import type { VerifiedToken } from "./identity";
import { createTokenVerifier, type TokenVerifier } from "./verifier";

/**
 * The container's token verifier: a singleton per container (per Lambda execution environment / per
 * local handler process), built on first use from the linked resources, shared by every handler module in it: the authorizer and
 * any route that re-verifies a token (e.g. `reauth`). If building it fails (bad configuration), the
 * error is thrown to the caller and the next call tries again.
 */
let shared: TokenVerifier | undefined;

export function sharedTokenVerifier(resources: AuthResources): TokenVerifier {
  shared ??= createTokenVerifier(verifierConfigFromResource(resources));
  return shared;
}

/**
 * Verifies a token with the container's shared verifier, with the same checks as `$connect`
 * (pass `Resource` from "sst"). Resolves to the token's identity; rejects with AuthRejection
 * (caller at fault; `.reason`, `.code` "unauthorized" | "token_expired" | "forbidden") or
 * AuthUnavailableError (JWKS or configuration failed; `.code` "dependency_failed" | "internal").
 */
export function verifyIdToken(token: string, resources: AuthResources): Promise<VerifiedToken> {
  return sharedTokenVerifier(resources).verify(token);
}
