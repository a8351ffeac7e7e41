import { CognitoJwtVerifier } from "aws-jwt-verify/cognito-verifier";
import { AUTHORIZER_ENV } from "../constants/index";
import { splitGroups } from "./identity";
import type { JwksLifetime } from "./jwks-cache";
import { AuthUnavailableError } from "./reasons";

/** The local Cognito emulator's issuer and JWKS; only ever honoured on loopback (see assertLocalIssuerAllowed). */
export interface LocalIssuer {
  issuer: string;
  jwksUri: string;
}

export interface TokenVerifierConfig {
  /** The user pool (`Resource.UserPool.id`). */
  userPoolId: string;
  /** The web app client (`Resource.WebClient.id`): `aud` of ID tokens. */
  clientId: string;
  /** Local stack only: verify against the emulator instead of Cognito. */
  local?: LocalIssuer;
  /** Accept access tokens as well as ID tokens. Off by default. */
  acceptAccessTokens?: boolean;
  /** When non-empty, the caller must belong to at least one of these groups (else 403). Off by default. */
  requiredGroups?: readonly string[];
  /** The pool's JWKS as JSON, captured at deploy time: a cold start then needs no network call. */
  jwksSnapshot?: string;
  /** Budget for one JWKS request (default 1500 ms). */
  jwksTimeoutMs?: number;
  /** After a failed JWKS request, fail fast for this long (default 2000 ms). */
  jwksFailureCooldownMs?: number;
  /** After a token with an unknown `kid` forced a refetch, wait this long before the next (default 10 s). */
  unknownKidCooldownSeconds?: number;
  /** Verified tokens kept to skip repeated signature checks (default 2000; 0 disables). */
  cacheMaxEntries?: number;
  /** How long the key set is trusted before it is refreshed or dropped (default JWKS_LIFETIME). */
  jwksLifetime?: Partial<JwksLifetime>;
}

/** The linked resources the verifier is configured from (`Resource` from "sst" satisfies this). */
export interface AuthResources {
  UserPool: { id: string };
  WebClient: { id: string };
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether an id has the shape of a real Cognito user pool id (`<region>_<id>`). */
export function isAwsUserPoolId(userPoolId: string): boolean {
  try {
    CognitoJwtVerifier.parseUserPoolId(userPoolId);
    return true;
  } catch {
    return false;
  }
}

function isLoopbackHttp(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
}

/** The local Cognito emulator's pool ids. */
const LOCAL_POOL_ID = /^local_[A-Za-z0-9]+$/;

/**
 * The guard that keeps the local issuer out of deployed stages. The local path is taken only when
 * the issuer and the JWKS URI are plain http on a loopback host AND the pool id is the emulator's
 * (`local_…`, never shaped like a real Cognito pool id). A deployed stage links a real pool, so it
 * can never satisfy both; and a loopback issuer is unreachable from Lambda anyway. Anything else with
 * a local issuer set is a misconfiguration and fails closed.
 */
export function assertLocalIssuerAllowed(userPoolId: string, local: LocalIssuer): void {
  if (isAwsUserPoolId(userPoolId)) {
    throw new AuthUnavailableError("verifier_misconfigured", {
      cause: new Error("a local issuer is configured for a real Cognito user pool id"),
    });
  }
  // Not merely "not an AWS id" (upper case or a trailing newline would pass that): exactly the
  // emulator's shape.
  if (!LOCAL_POOL_ID.test(userPoolId)) {
    throw new AuthUnavailableError("verifier_misconfigured", {
      cause: new Error("a local issuer needs a local pool id (local_ followed by letters and digits)"),
    });
  }
  if (!isLoopbackHttp(local.issuer) || !isLoopbackHttp(local.jwksUri)) {
    throw new AuthUnavailableError("verifier_misconfigured", {
      cause: new Error("a local issuer must be an http URL on a loopback host"),
    });
  }
}

/** Reads the local-only fields the local runner adds to `Resource.UserPool`; undefined on AWS. */
export function readLocalIssuer(userPool: unknown): LocalIssuer | undefined {
  if (typeof userPool !== "object" || userPool === null) return undefined;
  const { localIssuer, localJwksUri } = userPool as { localIssuer?: unknown; localJwksUri?: unknown };
  if (localIssuer === undefined) return undefined;
  if (typeof localIssuer !== "string" || (localJwksUri !== undefined && typeof localJwksUri !== "string")) {
    throw new AuthUnavailableError("verifier_misconfigured", {
      cause: new Error("UserPool.localIssuer / localJwksUri must be strings"),
    });
  }
  const jwksUri = localJwksUri ?? `${localIssuer.replace(/\/$/, "")}/.well-known/jwks.json`;
  return { issuer: localIssuer, jwksUri };
}

/**
 * The verifier configuration of a handler: pool and client from the linked resources, the local
 * issuer when the local runner provides one, and the optional settings of AUTHORIZER_ENV.
 */
export function verifierConfigFromResource(
  resources: AuthResources,
  env: Record<string, string | undefined> = process.env,
): TokenVerifierConfig {
  const userPoolId = resources.UserPool.id;
  const clientId = resources.WebClient.id;
  if (!userPoolId || !clientId) {
    throw new AuthUnavailableError("verifier_misconfigured", {
      cause: new Error("UserPool.id and WebClient.id are required"),
    });
  }
  const local = readLocalIssuer(resources.UserPool);
  if (local) assertLocalIssuerAllowed(userPoolId, local);
  // The same encoding as the context's `groups`: a name with a comma is written with `%2C`.
  const requiredGroups = splitGroups(env[AUTHORIZER_ENV.requiredGroups] ?? "")
    .map((group) => group.trim())
    .filter(Boolean);
  const jwksSnapshot = env[AUTHORIZER_ENV.jwksSnapshot];
  return {
    userPoolId,
    clientId,
    ...(local ? { local } : {}),
    acceptAccessTokens: env[AUTHORIZER_ENV.acceptAccessTokens] === "true",
    ...(requiredGroups.length > 0 ? { requiredGroups } : {}),
    ...(jwksSnapshot ? { jwksSnapshot } : {}),
  };
}
