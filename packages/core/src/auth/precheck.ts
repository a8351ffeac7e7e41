import type { DecomposedJwt } from "aws-jwt-verify/jwt";
import type { JwtHeader, JwtPayload } from "aws-jwt-verify/jwt-model";
import { LIMITS } from "../constants/index";
import type { RejectionReason } from "./reasons";

/**
 * Cheap structural and claim checks that run before any signature check, so garbage, expired tokens
 * and tokens for another pool or client cost microseconds instead of an RSA verification. Every check
 * here only ever rejects: a token that passes still goes through the full verification, so being
 * stricter than the verifier is safe and being more lenient is impossible.
 *
 * The result is also the decoded token the signature check consumes (aws-jwt-verify's
 * `DecomposedJwt`), so a token is decoded once per verification, not twice. That makes this module
 * the parser the library would otherwise be: it enforces every structural rule of the library's own
 * decoder (header and claim types), and then some.
 */

/** What the claims of an acceptable token must look like. */
export interface ClaimsPolicy {
  /** Accepted `iss` values. */
  issuers: readonly string[];
  /** The app client: `aud` of ID tokens, `client_id` of access tokens. */
  clientId: string;
  /** Accepted `token_use` values. */
  tokenUses: readonly ("id" | "access")[];
}

/** A token whose shape and claims passed the pre-checks. Not yet trusted: the signature is unchecked. */
export interface PrecheckedToken {
  kid: string;
  sub: string;
  exp: number;
  /** The decoded parts, for the signature check. */
  decomposed: DecomposedJwt;
}

export type PrecheckResult = { ok: true; token: PrecheckedToken } | { ok: false; reason: RejectionReason };

// Unpadded base64url, three segments: what Cognito issues. Padding or other characters are refused.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALLOWED_ALG = "RS256";

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Whether a base64url segment ends the only way its bytes can be spelled. Unpadded base64 leaves
 * 4 (length % 4 === 2) or 2 (=== 3) unused low bits in the last character; decoders ignore them, so
 * without this check one signature could be written 16 ways, each a different verified-token cache
 * key. Encoders (Cognito's included) always write them as zero.
 */
function canonicalEnd(segment: string): boolean {
  const remainder = segment.length % 4;
  if (remainder === 0) return true;
  if (remainder === 1) return false;
  const last = BASE64URL_ALPHABET.indexOf(segment.charAt(segment.length - 1));
  return (last & (remainder === 2 ? 0b1111 : 0b11)) === 0;
}

function fail(reason: RejectionReason): PrecheckResult {
  return { ok: false, reason };
}

/**
 * A segment's JSON object. Plain `JSON.parse` is safe against prototype pollution on its own (a
 * `"__proto__"` key becomes an ordinary own property, never the prototype) and nothing here merges
 * claims into other objects, so the library's slower reviver-based parse adds nothing.
 */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isStringList(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== "string") return false;
  return true;
}

/** Optional registered claims must have their registered types (as aws-jwt-verify's decoder requires). */
function optionalClaimsWellTyped(payload: Record<string, unknown>): boolean {
  const { aud, iat, scope, jti } = payload;
  return (
    (aud === undefined || typeof aud === "string" || isStringList(aud)) &&
    (iat === undefined || (typeof iat === "number" && Number.isFinite(iat))) &&
    (scope === undefined || typeof scope === "string") &&
    (jti === undefined || typeof jti === "string")
  );
}

/** Checks a token's size, shape, header and claims without any cryptography. */
export function precheckToken(token: string, policy: ClaimsPolicy, nowSeconds: number): PrecheckResult {
  if (token.length > LIMITS.maxTokenBytes) return fail("token_too_large");
  // A token that matches the shape is ASCII, so its length is its byte length; only a mismatch can
  // still be too large in bytes.
  if (!JWT_SHAPE.test(token)) {
    return fail(Buffer.byteLength(token) > LIMITS.maxTokenBytes ? "token_too_large" : "token_malformed");
  }
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  const headerSegment = token.slice(0, firstDot);
  const payloadSegment = token.slice(firstDot + 1, secondDot);
  const signatureSegment = token.slice(secondDot + 1);
  // A base64 segment can never be 1 character past a multiple of 4, and its last character must be
  // the one spelling of its bytes (see canonicalEnd).
  if (!canonicalEnd(headerSegment) || !canonicalEnd(payloadSegment) || !canonicalEnd(signatureSegment)) {
    return fail("token_encoding");
  }

  const header = decodeJsonObject(headerSegment);
  if (!header) return fail("header_not_json");
  const alg = header.alg;
  if (typeof alg === "string" && alg.toLowerCase() === "none") return fail("alg_none");
  if (alg !== ALLOWED_ALG) return fail("alg_not_allowed");
  const kid = header.kid;
  if (typeof kid !== "string" || kid === "") return fail("kid_missing");

  const payload = decodeJsonObject(payloadSegment);
  if (!payload) return fail("payload_not_json");
  const { exp, nbf, iss, sub, aud, token_use: tokenUse } = payload;
  if (exp === undefined) return fail("exp_missing");
  if (typeof exp !== "number" || !Number.isFinite(exp)) return fail("claims_invalid");
  if (exp <= nowSeconds) return fail("token_expired");
  if (nbf !== undefined) {
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) return fail("claims_invalid");
    if (nbf > nowSeconds) return fail("token_not_yet_valid");
  }
  if (!optionalClaimsWellTyped(payload)) return fail("claims_invalid");
  if (typeof iss !== "string" || !policy.issuers.includes(iss)) return fail("issuer_mismatch");
  if (typeof tokenUse !== "string" || !(policy.tokenUses as readonly string[]).includes(tokenUse)) {
    return fail("token_use_not_allowed");
  }
  const audiences = tokenUse === "id" ? aud : payload.client_id;
  const audienceList = typeof audiences === "string" ? [audiences] : isStringList(audiences) ? audiences : [];
  if (!audienceList.includes(policy.clientId)) return fail("audience_mismatch");
  if (typeof sub !== "string" || sub === "") return fail("sub_missing");
  // The checks above establish the shapes the library's header and payload types describe.
  const decomposed: DecomposedJwt = {
    header: header as JwtHeader,
    headerB64: headerSegment,
    payload: payload as JwtPayload,
    payloadB64: payloadSegment,
    signatureB64: signatureSegment,
  };
  return { ok: true, token: { kid, sub, exp, decomposed } };
}
