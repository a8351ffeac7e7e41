import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";

/**
 * IAM's stand-in on the local `@connections` API: a request must carry a SigV4 signature made with
 * the local stack's one credential pair (LOCAL_CREDENTIALS), for this region and `execute-api`. The
 * signature is recomputed with the SDK's own signer from what arrived on the wire and compared in
 * constant time. Refusals are 403 with API Gateway's messages and `x-amzn-ErrorType`s.
 */

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  /** The request target as received (`/stage/@connections/id?query`), still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as received; undefined when the method has none. */
  body: Buffer | undefined;
}

export type SignatureCheck = { ok: true } | { ok: false; errorType: string; message: string };

/** How far the signing time may be from the gateway's clock, as on AWS. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const SERVICE = "execute-api";
const ALGORITHM = "AWS4-HMAC-SHA256";
const AUTHORIZATION = /^AWS4-HMAC-SHA256 +(.+)$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const MISSING: SignatureCheck = {
  ok: false,
  errorType: "MissingAuthenticationTokenException",
  message: "Missing Authentication Token",
};
const MISMATCH: SignatureCheck = {
  ok: false,
  errorType: "InvalidSignatureException",
  message:
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
};

function incomplete(message: string): SignatureCheck {
  return { ok: false, errorType: "IncompleteSignatureException", message };
}

/** SHA-256 and HMAC-SHA256 from node:crypto in the shape the SDK's signer takes. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret === undefined) this.#hash = createHash("sha256");
    else if (typeof secret === "string") this.#hash = createHmac("sha256", secret);
    else if (ArrayBuffer.isView(secret)) {
      this.#hash = createHmac("sha256", Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength));
    } else this.#hash = createHmac("sha256", Buffer.from(secret));
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {
    throw new Error("not supported: a fresh instance is made per use");
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** RFC 3986 encoding, as the SDK's `escapeUri`. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical URI of a path as the SDK's signer builds it: dot segments resolved, encoded once more. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith("/") ? "/" : ""}${segments.join("/")}${segments.length > 0 && path.endsWith("/") ? "/" : ""}`;
  return escapeUri(normalized).replace(/%2F/g, "/");
}

interface Authorization {
  accessKeyId: string;
  scope: { date: string; region: string; service: string; terminator: string };
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): Authorization | string {
  const match = AUTHORIZATION.exec(value);
  if (!match?.[1]) return "Authorization header requires the AWS4-HMAC-SHA256 algorithm.";
  const parts = new Map<string, string>();
  for (const part of match[1].split(",")) {
    const equals = part.indexOf("=");
    if (equals > 0) parts.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const credential = parts.get("Credential");
  const signedHeaders = parts.get("SignedHeaders");
  const signature = parts.get("Signature");
  if (!credential || !signedHeaders || !signature) {
    return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.";
  }
  const [accessKeyId, date, region, service, terminator, ...rest] = credential.split("/");
  if (!accessKeyId || !date || !region || !service || terminator !== "aws4_request" || rest.length > 0) {
    return "Credential should be scoped to a valid region, service and date: <key>/<date>/<region>/<service>/aws4_request.";
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) return "Signature must be 64 lower-case hexadecimal characters.";
  return {
    accessKeyId,
    scope: { date, region, service, terminator },
    signedHeaders: signedHeaders.split(";"),
    signature,
  };
}

function parseAmzDate(value: string | undefined): Date | undefined {
  const match = value ? AMZ_DATE.exec(value) : null;
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const date = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Whether a request claims to be SigV4-signed at all (checked before its body is read). */
export function hasSigV4Authorization(headers: IncomingHttpHeaders): boolean {
  return (headers.authorization ?? "").startsWith(`${ALGORITHM} `);
}

export interface SigV4VerifierOptions {
  credentials: SigningCredentials;
  region: string;
  /** The signing name requests must be scoped to (default `execute-api`; the local Lambda API uses `lambda`). */
  service?: string;
  now?: () => number;
}

/** Checks SigV4 signatures made with one credential pair for one service (`execute-api`) in one region. */
export function createSigV4Verifier(
  options: SigV4VerifierOptions,
): (request: SignedRequest) => Promise<SignatureCheck> {
  const { credentials, region } = options;
  const service = options.service ?? SERVICE;
  const now = options.now ?? Date.now;
  const signer = new SignatureV4({ credentials, region, service, sha256: NodeSha256 });
  /** The derived signing key of the last date seen (it changes once a day). */
  let signingKey: { date: string; key: Buffer } | undefined;
  const keyFor = (date: string): Buffer => {
    if (signingKey?.date !== date) {
      let key = hmac(`AWS4${credentials.secretAccessKey}`, date);
      for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
      signingKey = { date, key };
    }
    return signingKey.key;
  };

  /**
   * The signature a request without a query string must carry, computed here (SigV4 as the SDK's
   * signer computes it for `execute-api`: the path's segments normalised and URI-encoded once more,
   * signed headers trimmed with runs of spaces folded, the body's SHA-256) with the signing key
   * derived once per date instead of per request.
   */
  function signatureOf(
    request: SignedRequest,
    headers: Record<string, string>,
    signedHeaders: string[],
    amzDate: string,
    date: string,
  ): string {
    const names = [...signedHeaders].sort();
    const payloadHash =
      headers["x-amz-content-sha256"] ??
      createHash("sha256")
        .update(request.body ?? Buffer.alloc(0))
        .digest("hex");
    const canonicalRequest = [
      request.method,
      canonicalPath(request.url),
      "",
      ...names.map((name) => `${name}:${(headers[name] ?? "").trim().replace(/\s+/g, " ")}`),
      "",
      names.join(";"),
      payloadHash,
    ].join("\n");
    const stringToSign = [
      ALGORITHM,
      amzDate,
      `${date}/${region}/${service}/aws4_request`,
      createHash("sha256").update(canonicalRequest).digest("hex"),
    ].join("\n");
    return createHmac("sha256", keyFor(date)).update(stringToSign).digest("hex");
  }

  /** A request with a query string: the SDK's own signer (which sorts and encodes the query). */
  async function signedWithSdk(
    request: SignedRequest,
    headers: Record<string, string>,
    signedHeaders: string[],
    signingDate: Date,
    queryStart: number,
  ): Promise<string> {
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(request.url.slice(queryStart + 1))) {
      const existing = query[name];
      query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: "http:",
        hostname: headers.host ?? "",
        path: request.url.slice(0, queryStart),
        query,
        headers,
        ...(request.body && request.body.length > 0 ? { body: request.body } : {}),
      },
      { signingDate, signableHeaders: new Set(signedHeaders) },
    );
    return /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ""))?.[1] ?? "";
  }

  return async (request) => {
    const header = headerValue(request.headers, "authorization");
    if (!header) return MISSING;
    const authorization = parseAuthorization(header);
    if (typeof authorization === "string") return incomplete(authorization);
    const { accessKeyId, scope, signedHeaders, signature } = authorization;
    if (accessKeyId !== credentials.accessKeyId) {
      return {
        ok: false,
        errorType: "UnrecognizedClientException",
        message: "The security token included in the request is invalid.",
      };
    }
    if (scope.region !== region || scope.service !== service) {
      return {
        ok: false,
        errorType: "InvalidSignatureException",
        message: `Credential should be scoped to a valid region and service: ${region}/${service}.`,
      };
    }
    if (!signedHeaders.includes("host")) return incomplete("'Host' must be a signed header.");
    const amzDate = headerValue(request.headers, "x-amz-date");
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate || !signedHeaders.includes("x-amz-date")) {
      return incomplete("Authorization header requires existence of a signed 'X-Amz-Date' header.");
    }
    if (amzDate?.slice(0, 8) !== scope.date) return MISMATCH;
    if (Math.abs(now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
      return { ok: false, errorType: "InvalidSignatureException", message: "Signature expired." };
    }

    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = headerValue(request.headers, name);
      if (value === undefined) return MISMATCH;
      headers[name] = value;
    }
    // A signed payload hash must be the body's; the signer would otherwise take the header's word for it.
    const declaredHash = headers["x-amz-content-sha256"];
    if (declaredHash !== undefined) {
      const actual = createHash("sha256")
        .update(request.body ?? Buffer.alloc(0))
        .digest("hex");
      if (declaredHash !== actual) return MISMATCH;
    }
    const queryStart = request.url.indexOf("?");
    const expected =
      queryStart === -1
        ? signatureOf(request, headers, signedHeaders, amzDate ?? "", scope.date)
        : await signedWithSdk(request, headers, signedHeaders, signingDate, queryStart);
    const matches =
      expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
    return matches ? { ok: true } : MISMATCH;
  };
}
