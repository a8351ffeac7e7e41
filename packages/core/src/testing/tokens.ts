import { createHmac, createSign, generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { VerifiedToken } from "../auth/index";

/**
 * Token minting for tests and benches: real RSA keys, real signed JWTs shaped like Cognito's, and a
 * real JWKS HTTP server on an ephemeral port.
 */

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JsonWebKey & { kid: string; alg: "RS256"; use: "sig" };
}

export function generateSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicJwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256" as const, use: "sig" as const };
  return { kid, privateKey, publicKey, publicJwk };
}

export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Signs `header.payload` with RS256 (a KeyObject) or HS256 (a Buffer/string secret, for alg-confusion tests). */
export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject | Buffer | string,
): string {
  const signingInput = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
  const signature =
    typeof key === "string" || Buffer.isBuffer(key)
      ? createHmac("sha256", key).update(signingInput).digest("base64url")
      : createSign("RSA-SHA256").update(signingInput).sign(key, "base64url");
  return `${signingInput}.${signature}`;
}

export interface IdTokenOptions {
  issuer: string;
  clientId: string;
  sub?: string;
  email?: string;
  username?: string;
  groups?: string[];
  /** Seconds from now (negative: already expired). Default 3600. */
  expiresIn?: number;
  extra?: Record<string, unknown>;
}

/** Claims of a Cognito ID token. */
export function idTokenClaims(options: IdTokenOptions): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: options.sub ?? "5f1c7d2e-0000-4000-8000-000000000001",
    "cognito:username": options.username ?? options.sub ?? "5f1c7d2e-0000-4000-8000-000000000001",
    ...(options.email !== undefined ? { email: options.email, email_verified: true } : {}),
    ...(options.groups ? { "cognito:groups": options.groups } : {}),
    aud: options.clientId,
    iss: options.issuer,
    token_use: "id",
    auth_time: now,
    iat: now,
    exp: now + (options.expiresIn ?? 3600),
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    ...options.extra,
  };
}

/**
 * The identity claims Cognito writes for an identity: the encoder of the token identity, whose
 * decoder is `decodeTokenIdentity` (`@wsauth/core/auth`). The sign-in name is the verified e-mail
 * when the identity's `username` is its e-mail, else `cognito:username` (`username` in access tokens).
 */
export function tokenClaimsOf(identity: VerifiedToken): Record<string, unknown> {
  const nameClaim = identity.tokenUse === "access" ? "username" : "cognito:username";
  return {
    sub: identity.userId,
    [nameClaim]: identity.username,
    ...(identity.email !== undefined
      ? { email: identity.email, email_verified: identity.email === identity.username }
      : {}),
    ...(identity.groups.length > 0 ? { "cognito:groups": identity.groups } : {}),
    exp: identity.tokenExp,
    ...(identity.authTime !== undefined ? { auth_time: identity.authTime } : {}),
    token_use: identity.tokenUse,
  };
}

export function signIdToken(key: SigningKey, options: IdTokenOptions): string {
  return signJwt({ kid: key.kid, alg: "RS256" }, idTokenClaims(options), key.privateKey);
}

export type JwksServerMode = "ok" | "down" | "garbage" | "hang";

export interface JwksServer {
  /** `http://127.0.0.1:<port>/<poolId>` */
  issuer: string;
  jwksUri: string;
  /** Requests served so far (any mode). */
  requests(): number;
  setMode(mode: JwksServerMode): void;
  setKeys(keys: SigningKey[]): void;
  close(): Promise<void>;
}

/** A JWKS endpoint on 127.0.0.1, port 0. `down` answers 503, `garbage` non-JSON, `hang` never answers. */
export async function startJwksServer(poolId: string, keys: SigningKey[]): Promise<JwksServer> {
  let mode: JwksServerMode = "ok";
  let current = keys;
  let count = 0;
  const hanging = new Set<import("node:http").ServerResponse>();
  const server: Server = createServer((request, response) => {
    count += 1;
    if (request.url !== `/${poolId}/.well-known/jwks.json`) {
      response.writeHead(404).end();
      return;
    }
    if (mode === "down") response.writeHead(503).end("unavailable");
    else if (mode === "garbage")
      response.writeHead(200, { "content-type": "application/json" }).end("<html>not a jwks</html>");
    else if (mode === "hang") hanging.add(response);
    else
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ keys: current.map((key) => key.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}/${poolId}`;
  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    requests: () => count,
    setMode: (next) => {
      mode = next;
    },
    setKeys: (next) => {
      current = next;
    },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
