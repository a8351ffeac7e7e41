import { CognitoJwtVerifier, validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";
import {
  CognitoJwtInvalidClientIdError,
  CognitoJwtInvalidGroupError,
  CognitoJwtInvalidTokenUseError,
  FetchError,
  JwkInvalidKtyError,
  JwkInvalidUseError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwkValidationError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  ParameterValidationError,
  WaitPeriodNotYetEndedJwkError,
} from "aws-jwt-verify/error";
import { type JwksCache, SimplePenaltyBox } from "aws-jwt-verify/jwk";
import type { DecomposedJwt } from "aws-jwt-verify/jwt";
import type { JwtPayload } from "aws-jwt-verify/jwt-model";
import { JwtVerifierBase, type VerifyProperties } from "aws-jwt-verify/jwt-verifier";
import { createLog, type Log } from "../logging/index";
import { assertLocalIssuerAllowed, type TokenVerifierConfig } from "./config";
import { decodeTokenIdentity, type VerifiedToken } from "./identity";
import { JwksFetchError, JwksFetcher, parseJwksSnapshot } from "./jwks";
import { type JwksLifetime, RefreshingJwksCache } from "./jwks-cache";
import { type ClaimsPolicy, type PrecheckedToken, precheckToken } from "./precheck";
import { type RejectionReason, rejection } from "./reasons";
import { VerifiedTokenCache } from "./token-cache";

export type VerifyOutcome =
  | { ok: true; token: VerifiedToken; cached: boolean }
  | {
      ok: false;
      reason: RejectionReason;
      /** Set only when the signature was verified (e.g. a group is missing): the caller is then known. */
      verifiedSub?: string;
      /** Why, for logs: the verifier's error (messages never contain the token). */
      cause?: unknown;
    };

export interface TokenVerifier {
  /** Verifies a token; never rejects, never logs. */
  check(token: string): Promise<VerifyOutcome>;
  /** Verifies a token; rejects with AuthRejection (caller at fault) or AuthUnavailableError (dependency/config). */
  verify(token: string): Promise<VerifiedToken>;
}

/** The synchronous check behind a verifier this module created (see `checkNow`); the key is not exported. */
const SYNCHRONOUS_CHECK = Symbol("synchronous check");

interface VerifierWithSynchronousCheck extends TokenVerifier {
  [SYNCHRONOUS_CHECK]?: (token: string) => VerifyOutcome | Promise<VerifyOutcome>;
}

/**
 * The `$connect` authorizer's fast path, private to this package: the outcome comes synchronously
 * unless the JWKS (or the token's key) has to be fetched first, so a cached token, a pre-check
 * rejection and a signature check against a cached key cost no promise round trips. Any other
 * `TokenVerifier` answers through its `check`.
 */
export function checkNow(verifier: TokenVerifier, token: string): VerifyOutcome | Promise<VerifyOutcome> {
  const synchronous = (verifier as VerifierWithSynchronousCheck)[SYNCHRONOUS_CHECK];
  return synchronous ? synchronous(token) : verifier.check(token);
}

const DEFAULTS = {
  jwksTimeoutMs: 1500,
  jwksFailureCooldownMs: 2000,
  unknownKidCooldownSeconds: 10,
  cacheMaxEntries: 2000,
  jwksMaxBytes: 64 * 1024,
} as const;

/**
 * How long the pool's key set is trusted before it is refetched (in the background; see
 * RefreshingJwksCache): a key Cognito retires is refused within about an hour. If refreshes keep
 * failing, a set older than six hours is no longer used and verification fails closed until the
 * JWKS endpoint answers again.
 */
export const JWKS_LIFETIME: JwksLifetime = {
  refreshAfterMs: 60 * 60 * 1000,
  maxAgeMs: 6 * 60 * 60 * 1000,
  retryAfterMs: 30 * 1000,
};

// Ordered: subclasses before their parents.
const ERROR_REASONS: ReadonlyArray<[new (...args: never[]) => Error, RejectionReason]> = [
  [JwtExpiredError, "token_expired"],
  [JwtNotBeforeError, "token_not_yet_valid"],
  [JwtInvalidIssuerError, "issuer_mismatch"],
  [JwtInvalidAudienceError, "audience_mismatch"],
  [CognitoJwtInvalidClientIdError, "audience_mismatch"],
  [CognitoJwtInvalidTokenUseError, "token_use_not_allowed"],
  [CognitoJwtInvalidGroupError, "group_required"],
  [JwtInvalidSignatureAlgorithmError, "alg_not_allowed"],
  [JwtInvalidSignatureError, "signature_invalid"],
  [JwtParseError, "token_malformed"],
  [JwtWithoutValidKidError, "kid_missing"],
  [KidNotFoundInJwksError, "kid_unknown"],
  [WaitPeriodNotYetEndedJwkError, "kid_unknown"],
  [JwksFetchError, "jwks_unavailable"],
  [FetchError, "jwks_unavailable"],
  [JwksValidationError, "jwks_invalid"],
  [JwkValidationError, "jwks_invalid"],
  [JwkInvalidUseError, "jwks_invalid"],
  [JwkInvalidKtyError, "jwks_invalid"],
  [ParameterValidationError, "verifier_misconfigured"],
];

function reasonForError(error: unknown): RejectionReason {
  for (const [type, reason] of ERROR_REASONS) if (error instanceof type) return reason;
  return "internal_error";
}

/** The verification options of every issuer we accept: Cognito's claim rules instead of a bare `aud`. */
type IssuerVerifyProperties = {
  issuer: string;
  jwksUri: string;
  audience: null;
  customJwtCheck: NonNullable<VerifyProperties["customJwtCheck"]>;
};

/**
 * aws-jwt-verify's verifier, fed the token the pre-check already decoded: the library then does
 * everything a `verify(token)` call does (JWK lookup and penalty box, signature, standard and
 * Cognito claim checks) except decoding the token a second time (BENCHMARKS.md has what that saves).
 * `verifyDecomposedJwt` and `getIssuerConfig` are the library's protected
 * extension points (hence the subclass); the version is pinned exactly and the auth tests cover this.
 */
class DecodedTokenVerifier extends JwtVerifierBase<IssuerVerifyProperties, IssuerVerifyProperties, true> {
  constructor(issuers: IssuerVerifyProperties[], jwksCache: JwksCache) {
    super(issuers, jwksCache);
  }

  verifyDecoded(token: DecomposedJwt): Promise<JwtPayload> {
    const config = this.getIssuerConfig(token.payload.iss);
    return this.verifyDecomposedJwt(token, config.jwksUri, config);
  }

  /**
   * The same checks, synchronously, against the JWKS already in the cache: the library's own sync
   * path. Throws JwksNotAvailableInCacheError or KidNotFoundInJwksError when the key is not cached;
   * `verifyDecoded` then fetches it (rate limited by the penalty box).
   */
  verifyDecodedSync(token: DecomposedJwt): JwtPayload {
    const config = this.getIssuerConfig(token.payload.iss);
    return this.verifyDecomposedJwtSync(token, config.jwksUri, config);
  }

  /** Loads a JWKS snapshot for every issuer (all are forms of the same pool, signed by the same keys). */
  cacheSnapshot(snapshot: string): void {
    const jwks = parseJwksSnapshot(snapshot);
    for (const issuer of this.issuersConfig.keys()) this.cacheJwks(jwks, issuer);
  }
}

/**
 * The configured pool's issuers (on AWS, Cognito's regional and global issuer forms, as
 * CognitoJwtVerifier accepts; locally, the emulator's) with Cognito's claim checks: token use,
 * client id, groups.
 */
function createBackend(
  config: TokenVerifierConfig,
  events: { onKeysChanged: () => void; onRefreshFailed: (error: unknown, ageMs: number) => void },
): { verifier: DecodedTokenVerifier; issuers: string[]; jwksCache: RefreshingJwksCache } {
  const tokenUse = config.acceptAccessTokens ? null : "id";
  const groups = config.requiredGroups && config.requiredGroups.length > 0 ? [...config.requiredGroups] : null;
  const jwksCache = new RefreshingJwksCache({
    fetcher: new JwksFetcher({
      timeoutMs: config.jwksTimeoutMs ?? DEFAULTS.jwksTimeoutMs,
      failureCooldownMs: config.jwksFailureCooldownMs ?? DEFAULTS.jwksFailureCooldownMs,
      maxBytes: DEFAULTS.jwksMaxBytes,
    }),
    penaltyBox: new SimplePenaltyBox({
      waitSeconds: config.unknownKidCooldownSeconds ?? DEFAULTS.unknownKidCooldownSeconds,
    }),
    lifetime: { ...JWKS_LIFETIME, ...config.jwksLifetime },
    onKeysChanged: events.onKeysChanged,
    onRefreshFailed: (_uri, error, ageMs) => events.onRefreshFailed(error, ageMs),
  });
  const cognitoChecks: IssuerVerifyProperties["customJwtCheck"] = ({ payload }) =>
    validateCognitoJwtFields(payload, { tokenUse, clientId: config.clientId, groups });
  let issuers: { issuer: string; jwksUri: string }[];
  if (config.local) {
    assertLocalIssuerAllowed(config.userPoolId, config.local);
    issuers = [config.local];
  } else {
    // Cognito signs with either issuer form, each with its own JWKS URI (parseUserPoolId also
    // validates the pool id).
    issuers = [
      CognitoJwtVerifier.parseUserPoolId(config.userPoolId),
      CognitoJwtVerifier.parseUserPoolId(config.userPoolId, "https://issuer-cognito-idp"),
    ];
  }
  const verifier = new DecodedTokenVerifier(
    issuers.map(({ issuer, jwksUri }) => ({ issuer, jwksUri, audience: null, customJwtCheck: cognitoChecks })),
    jwksCache,
  );
  return { verifier, issuers: issuers.map(({ issuer }) => issuer), jwksCache };
}

/**
 * Creates the token verifier of a container. Create it once (module scope or lazily on first use),
 * never per invocation: it holds the JWKS, the parsed public keys and the verified-token cache.
 */
export function createTokenVerifier(config: TokenVerifierConfig, log: Log = createLog("auth")): TokenVerifier {
  const cache = new VerifiedTokenCache<VerifiedToken>(config.cacheMaxEntries ?? DEFAULTS.cacheMaxEntries);
  const backend = createBackend(config, {
    // A token verified with a key that is gone now must be verified again (and refused).
    onKeysChanged: () => cache.clear(),
    onRefreshFailed: (error, ageMs) =>
      log.warn("JWKS refresh failed; the current keys stay in use", {
        reason: reasonForError(error),
        ageMinutes: Math.round(ageMs / 60_000),
        error,
      }),
  });
  if (config.jwksSnapshot) {
    try {
      backend.verifier.cacheSnapshot(config.jwksSnapshot);
      // A deploy-time snapshot is only a bootstrap: its age is unknown, so the first use refetches.
      backend.jwksCache.markStale();
    } catch (error) {
      // A broken snapshot only costs the cold-start fetch it was meant to save.
      log.warn("JWKS snapshot ignored", { reason: "jwks_invalid", error });
    }
  }
  const policy: ClaimsPolicy = {
    issuers: backend.issuers,
    clientId: config.clientId,
    tokenUses: config.acceptAccessTokens ? ["id", "access"] : ["id"],
  };

  function check(token: string): VerifyOutcome | Promise<VerifyOutcome> {
    const nowSeconds = Date.now() / 1000;
    // Cached verdicts rest on the current key set: it must still be trusted (and be refreshed when due).
    if (!backend.jwksCache.refreshIfDue()) cache.clear();
    const cached = cache.get(token, nowSeconds);
    if (cached) return { ok: true, token: cached, cached: true };
    const prechecked = precheckToken(token, policy, nowSeconds);
    if (!prechecked.ok) return prechecked;
    return verifySignature(token, prechecked.token);
  }

  /**
   * Verifies the signature and claims. Synchronously while the key is cached (every request once the
   * snapshot or the first fetch loaded the JWKS), so a valid token costs no promise round trips;
   * through the library's fetching path only when the JWKS or the token's key is not cached yet.
   */
  function verifySignature(token: string, prechecked: PrecheckedToken): VerifyOutcome | Promise<VerifyOutcome> {
    try {
      backend.verifier.verifyDecodedSync(prechecked.decomposed);
    } catch (cause) {
      if (cause instanceof JwksNotAvailableInCacheError || cause instanceof KidNotFoundInJwksError) {
        return backend.verifier.verifyDecoded(prechecked.decomposed).then(
          () => accepted(token, prechecked),
          (error: unknown) => refused(error, prechecked),
        );
      }
      return refused(cause, prechecked);
    }
    return accepted(token, prechecked);
  }

  function accepted(token: string, { decomposed, sub, exp }: PrecheckedToken): VerifyOutcome {
    const verified = decodeTokenIdentity(decomposed.payload, sub, exp);
    cache.set(token, verified, exp);
    return { ok: true, token: verified, cached: false };
  }

  function refused(cause: unknown, { sub }: PrecheckedToken): VerifyOutcome {
    const reason = reasonForError(cause);
    // The library checks groups only after the signature, so the claims are genuine here.
    return reason === "group_required" ? { ok: false, reason, verifiedSub: sub, cause } : { ok: false, reason, cause };
  }

  const verifier: VerifierWithSynchronousCheck = {
    [SYNCHRONOUS_CHECK]: check,
    check: async (token) => check(token),
    async verify(token) {
      const outcome = await check(token);
      if (outcome.ok) return outcome.token;
      throw rejection(outcome.reason, { cause: outcome.cause });
    },
  };
  return verifier;
}
