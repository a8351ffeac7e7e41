import { CognitoJwtVerifier, validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";
import {
  CognitoJwtInvalidClientIdError,
  CognitoJwtInvalidGroupError,
  CognitoJwtInvalidTokenUseError,
  FetchError,
  JwkInvalidKtyError,
  JwkInvalidUseError,
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
import { SimpleJwksCache, SimplePenaltyBox } from "aws-jwt-verify/jwk";
import { JwtVerifier } from "aws-jwt-verify/jwt-verifier";
import { createLog, type Log } from "../logging/index";
import { assertLocalIssuerAllowed, type TokenVerifierConfig } from "./config";
import type { ConnectionIdentity, Transport } from "./identity";
import { JwksFetchError, JwksFetcher, parseJwksSnapshot } from "./jwks";
import { type ClaimsPolicy, precheckToken } from "./precheck";
import { type RejectionReason, rejection } from "./reasons";
import { VerifiedTokenCache } from "./token-cache";

/** Who a verified token says the caller is. */
export interface VerifiedToken {
  /** `sub`. */
  userId: string;
  /** The human sign-in name: `email` when present, else `cognito:username` (access tokens: `username`). */
  username: string;
  email?: string;
  /** `cognito:groups`. */
  groups: string[];
  /** `exp`, epoch seconds. */
  tokenExp: number;
  tokenUse: "id" | "access";
}

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
  /** Verifies a token; never throws, never logs. */
  check(token: string): Promise<VerifyOutcome>;
  /** Verifies a token; throws AuthRejection (caller at fault) or AuthUnavailableError (dependency/config). */
  verify(token: string): Promise<VerifiedToken>;
}

/** The identity a verified token gives a connection that used `transport`. */
export function toConnectionIdentity(token: VerifiedToken, transport: Transport): ConnectionIdentity {
  return {
    userId: token.userId,
    username: token.username,
    ...(token.email ? { email: token.email } : {}),
    groups: token.groups,
    tokenExp: token.tokenExp,
    transport,
  };
}

const DEFAULTS = {
  jwksTimeoutMs: 1500,
  jwksFailureCooldownMs: 2000,
  unknownKidCooldownSeconds: 10,
  cacheMaxEntries: 2000,
  jwksMaxBytes: 64 * 1024,
} as const;

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

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function identityOf(payload: Record<string, unknown>, sub: string, exp: number): VerifiedToken {
  const email = typeof payload.email === "string" && payload.email !== "" ? payload.email : undefined;
  const signInName = [email, payload["cognito:username"], payload.username].find(
    (value): value is string => typeof value === "string" && value !== "",
  );
  return {
    userId: sub,
    username: signInName ?? sub,
    ...(email ? { email } : {}),
    groups: stringList(payload["cognito:groups"]),
    tokenExp: exp,
    tokenUse: payload.token_use === "access" ? "access" : "id",
  };
}

interface Backend {
  verify(token: string): Promise<unknown>;
  cacheJwks(snapshot: string): void;
  issuers: readonly string[];
}

/** aws-jwt-verify for the configured pool: CognitoJwtVerifier on AWS, JwtVerifier + Cognito checks locally. */
function createBackend(config: TokenVerifierConfig): Backend {
  const tokenUse = config.acceptAccessTokens ? null : "id";
  const groups = config.requiredGroups && config.requiredGroups.length > 0 ? [...config.requiredGroups] : null;
  const jwksCache = new SimpleJwksCache({
    fetcher: new JwksFetcher({
      timeoutMs: config.jwksTimeoutMs ?? DEFAULTS.jwksTimeoutMs,
      failureCooldownMs: config.jwksFailureCooldownMs ?? DEFAULTS.jwksFailureCooldownMs,
      maxBytes: DEFAULTS.jwksMaxBytes,
    }),
    penaltyBox: new SimplePenaltyBox({
      waitSeconds: config.unknownKidCooldownSeconds ?? DEFAULTS.unknownKidCooldownSeconds,
    }),
  });
  if (config.local) {
    assertLocalIssuerAllowed(config.userPoolId, config.local);
    const verifier = JwtVerifier.create(
      {
        issuer: config.local.issuer,
        jwksUri: config.local.jwksUri,
        // `aud` is checked by validateCognitoJwtFields below (ID tokens: aud; access tokens: client_id).
        audience: null,
        customJwtCheck: ({ payload }) =>
          validateCognitoJwtFields(payload, { tokenUse, clientId: config.clientId, groups }),
      },
      { jwksCache },
    );
    return {
      verify: (token) => verifier.verify(token),
      cacheJwks: (snapshot) => verifier.cacheJwks(parseJwksSnapshot(snapshot)),
      issuers: [config.local.issuer],
    };
  }
  const verifier = CognitoJwtVerifier.create(
    { userPoolId: config.userPoolId, clientId: config.clientId, tokenUse, groups },
    { jwksCache },
  );
  const regional = CognitoJwtVerifier.parseUserPoolId(config.userPoolId).issuer;
  // Cognito signs with either issuer form; the verifier accepts both, so the pre-check does too.
  const global = CognitoJwtVerifier.parseUserPoolId(config.userPoolId, "https://issuer-cognito-idp").issuer;
  return {
    verify: (token) => verifier.verify(token),
    cacheJwks: (snapshot) => verifier.cacheJwks(parseJwksSnapshot(snapshot)),
    issuers: [regional, global],
  };
}

/**
 * Creates the token verifier of a container. Create it once (module scope or lazily on first use),
 * never per invocation: it holds the JWKS, the parsed public keys and the verified-token cache.
 */
export function createTokenVerifier(config: TokenVerifierConfig, log: Log = createLog("auth")): TokenVerifier {
  const backend = createBackend(config);
  if (config.jwksSnapshot) {
    try {
      backend.cacheJwks(config.jwksSnapshot);
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
  const cache = new VerifiedTokenCache<VerifiedToken>(config.cacheMaxEntries ?? DEFAULTS.cacheMaxEntries);

  async function check(token: string): Promise<VerifyOutcome> {
    const nowSeconds = Date.now() / 1000;
    const cached = cache.get(token, nowSeconds);
    if (cached) return { ok: true, token: cached, cached: true };
    const prechecked = precheckToken(token, policy, nowSeconds);
    if (!prechecked.ok) return prechecked;
    const { payload, sub, exp } = prechecked.token;
    try {
      await backend.verify(token);
    } catch (cause) {
      const reason = reasonForError(cause);
      // The library checks groups only after the signature, so the claims are genuine here.
      return reason === "group_required"
        ? { ok: false, reason, verifiedSub: sub, cause }
        : { ok: false, reason, cause };
    }
    const verified = identityOf(payload, sub, exp);
    cache.set(token, verified, exp);
    return { ok: true, token: verified, cached: false };
  }

  return {
    check,
    async verify(token) {
      const outcome = await check(token);
      if (outcome.ok) return outcome.token;
      throw rejection(outcome.reason, { cause: outcome.cause });
    },
  };
}
