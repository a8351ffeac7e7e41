import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SUBPROTOCOL } from "../constants/index";
import {
  base64UrlJson,
  buildConnectAuthorizerEvent,
  type ConnectEventOptions,
  generateSigningKey,
  idTokenClaims,
  type JwksServer,
  type SigningKey,
  signIdToken,
  signJwt,
  startJwksServer,
} from "../testing/index";
import { authorizeConnect, type ConnectDecision, decide } from "./authorize";
import { decodeAuthorizerContext } from "./context";
import { AuthUnavailableError, type RejectionReason } from "./reasons";
import { checkNow, createTokenVerifier, type TokenVerifier } from "./verifier";

// Real RSA keys, a real JWKS endpoint on an ephemeral port, the verifier in its local-issuer mode
// (the emulator's http issuer on loopback). Every stdout/stderr write of the suite is captured so
// the last test can prove that no token or signature ever reached a log.

const POOL_ID = "local_TestPool";
const CLIENT_ID = "test-web-client";

const captured: string[] = [];
const issuedTokens = new Set<string>();
const restoreWrites: Array<() => void> = [];

function remember(token: string): string {
  issuedTokens.add(token);
  return token;
}

let signingKey: SigningKey;
let rotatedKey: SigningKey;
let attackerKey: SigningKey;
let jwks: JwksServer;
let verifier: TokenVerifier;

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...idTokenClaims({ issuer: jwks.issuer, clientId: CLIENT_ID, email: "alice@example.com" }), ...overrides };
}

function sign(
  overrides: Record<string, unknown> = {},
  key: SigningKey = signingKey,
  header?: Record<string, unknown>,
): string {
  return remember(signJwt(header ?? { kid: key.kid, alg: "RS256" }, claims(overrides), key.privateKey));
}

function localVerifier(extra: Partial<Parameters<typeof createTokenVerifier>[0]> = {}): TokenVerifier {
  return createTokenVerifier({
    userPoolId: POOL_ID,
    clientId: CLIENT_ID,
    local: { issuer: jwks.issuer, jwksUri: jwks.jwksUri },
    jwksTimeoutMs: 300,
    jwksFailureCooldownMs: 0,
    ...extra,
  });
}

async function expectRejected(
  options: ConnectEventOptions,
  reason: RejectionReason,
  effect: ConnectDecision["effect"] = "unauthorized",
  using: TokenVerifier = verifier,
): Promise<void> {
  const event = buildConnectAuthorizerEvent(options);
  const decision = await decide(event, using);
  expect(decision).toMatchObject({ effect, reason });
  if (effect === "unauthorized") await expect(authorizeConnect(event, using)).rejects.toThrow(/^Unauthorized$/);
  if (effect === "error") await expect(authorizeConnect(event, using)).rejects.toBeInstanceOf(AuthUnavailableError);
  if (effect === "deny") {
    const result = await authorizeConnect(event, using);
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: "Deny" });
  }
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const callback = rest.find((item) => typeof item === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restoreWrites.push(() => {
      stream.write = original;
    });
  }
  signingKey = generateSigningKey("key-1");
  rotatedKey = generateSigningKey("key-2");
  attackerKey = generateSigningKey("key-1");
  jwks = await startJwksServer(POOL_ID, [signingKey]);
  verifier = localVerifier();
});

afterAll(async () => {
  for (const restore of restoreWrites) restore();
  await jwks.close();
});

describe("valid tokens", () => {
  it("allows an ID token from the query string with the identity as flat context", async () => {
    const token = sign({ "cognito:groups": ["admins", "staff"] });
    const event = buildConnectAuthorizerEvent({ queryToken: token });
    const result = await authorizeConnect(event, verifier);
    expect(result.principalId).toBe(claims().sub);
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: "Allow", Resource: event.methodArn });
    expect(result.context).toMatchObject({
      userId: claims().sub,
      username: "alice@example.com",
      email: "alice@example.com",
      groups: "admins,staff",
      transport: "query",
    });
    for (const value of Object.values(result.context ?? {}))
      expect(["string", "number", "boolean"]).toContain(typeof value);
    expect(decodeAuthorizerContext({ ...result.context, principalId: result.principalId })).toMatchObject({
      groups: ["admins", "staff"],
    });
  });

  it("allows a token offered as subprotocol and answers the subprotocol, never the token", async () => {
    const token = sign();
    const decision = await decide(buildConnectAuthorizerEvent({ subprotocolToken: token }), verifier);
    expect(decision).toMatchObject({
      effect: "allow",
      subprotocol: SUBPROTOCOL,
      identity: { transport: "subprotocol" },
    });
  });

  it("accepts the same token in both transports", async () => {
    const token = sign();
    const decision = await decide(
      buildConnectAuthorizerEvent({ subprotocolToken: token, queryToken: token }),
      verifier,
    );
    expect(decision).toMatchObject({ effect: "allow", identity: { transport: "subprotocol" } });
  });

  it("never takes an unverified email as the user's name", async () => {
    const token = remember(
      signJwt(
        { kid: "key-1", alg: "RS256" },
        idTokenClaims({
          issuer: jwks.issuer,
          clientId: CLIENT_ID,
          username: "erin",
          email: "victim@example.com",
          extra: { email_verified: false },
        }),
        signingKey.privateKey,
      ),
    );
    const decision = await decide(buildConnectAuthorizerEvent({ subprotocolToken: token }), verifier);
    expect(decision).toMatchObject({ effect: "allow", identity: { username: "erin", email: "victim@example.com" } });
  });

  it("uses cognito:username when the token has no email", async () => {
    const token = remember(
      signJwt(
        { kid: "key-1", alg: "RS256" },
        idTokenClaims({ issuer: jwks.issuer, clientId: CLIENT_ID, username: "bob" }),
        signingKey.privateKey,
      ),
    );
    const decision = await decide(buildConnectAuthorizerEvent({ queryToken: token }), verifier);
    expect(decision).toMatchObject({ effect: "allow", identity: { username: "bob", groups: [] } });
    expect(decision.effect === "allow" && decision.identity.email).toBeFalsy();
  });

  it("serves a repeated token from the verified-token cache", async () => {
    const token = sign();
    const event = buildConnectAuthorizerEvent({ queryToken: token });
    expect(await decide(event, verifier)).toMatchObject({ effect: "allow", cached: false });
    expect(await decide(event, verifier)).toMatchObject({ effect: "allow", cached: true });
  });

  it("accepts access tokens only when configured to", async () => {
    const access = sign({
      token_use: "access",
      aud: undefined,
      client_id: CLIENT_ID,
      username: "carol",
      email: undefined,
      email_verified: undefined,
      "cognito:username": undefined,
    });
    const lenient = localVerifier({ acceptAccessTokens: true });
    expect(await decide(buildConnectAuthorizerEvent({ queryToken: access }), lenient)).toMatchObject({
      effect: "allow",
      identity: { username: "carol" },
    });
    await expectRejected({ queryToken: access }, "token_use_not_allowed");
  });

  it("needs no network call on a cold start when a JWKS snapshot is provided (it refreshes it in the background)", async () => {
    const before = jwks.requests();
    const snapshotted = localVerifier({ jwksSnapshot: JSON.stringify({ keys: [signingKey.publicJwk] }) });
    const decision = decide(buildConnectAuthorizerEvent({ queryToken: sign() }), snapshotted);
    expect(jwks.requests()).toBe(before);
    expect(await decision).toMatchObject({ effect: "allow" });
    // The snapshot is only a bootstrap: its first use refetches the keys, off the request path.
    await vi.waitFor(() => expect(jwks.requests()).toBe(before + 1));
  });

  it("fetches the JWKS again for a new kid (key rotation), then rate-limits unknown kids", async () => {
    const rotating = localVerifier();
    await rotating.check(sign({ jti: "warm" }));
    jwks.setKeys([signingKey, rotatedKey]);
    try {
      const before = jwks.requests();
      expect(await decide(buildConnectAuthorizerEvent({ queryToken: sign({}, rotatedKey) }), rotating)).toMatchObject({
        effect: "allow",
      });
      expect(jwks.requests()).toBe(before + 1);
      const stranger = generateSigningKey("key-unknown");
      await expectRejected({ queryToken: sign({}, stranger) }, "kid_unknown", "unauthorized", rotating);
      const afterFirstUnknown = jwks.requests();
      await expectRejected({ queryToken: sign({ jti: "again" }, stranger) }, "kid_unknown", "unauthorized", rotating);
      expect(jwks.requests()).toBe(afterFirstUnknown);
    } finally {
      jwks.setKeys([signingKey]);
    }
  });

  it("checks signatures synchronously once the key is cached; only a fetch makes a check wait", async () => {
    const cold = localVerifier();
    const before = jwks.requests();
    const first = checkNow(cold, sign({ jti: "first" }));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ ok: true, cached: false });
    expect(jwks.requests()).toBe(before + 1);
    const second = checkNow(cold, sign({ jti: "second" }));
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toMatchObject({ ok: true, cached: false });
    const forged = checkNow(cold, sign({ jti: "forged" }, attackerKey));
    expect(forged).toMatchObject({ ok: false, reason: "signature_invalid" });
    const unknownKid = checkNow(cold, sign({ jti: "rotated" }, rotatedKey));
    expect(unknownKid).toBeInstanceOf(Promise);
    expect(await unknownKid).toMatchObject({ ok: false, reason: "kid_unknown" });
    expect(jwks.requests()).toBe(before + 2);
  });

  it("verifies Cognito-issued tokens (both issuer forms) from a snapshot, with no fetch", async () => {
    const userPoolId = "us-east-1_TestPool1";
    const cognito = createTokenVerifier({
      userPoolId,
      clientId: CLIENT_ID,
      jwksSnapshot: JSON.stringify({ keys: [signingKey.publicJwk] }),
    });
    for (const issuer of [
      `https://cognito-idp.us-east-1.amazonaws.com/${userPoolId}`,
      `https://issuer-cognito-idp.us-east-1.amazonaws.com/${userPoolId}`,
    ]) {
      const token = remember(signIdToken(signingKey, { issuer, clientId: CLIENT_ID, email: "dan@example.com" }));
      expect(await decide(buildConnectAuthorizerEvent({ queryToken: token }), cognito)).toMatchObject({
        effect: "allow",
        identity: { username: "dan@example.com" },
      });
    }
    await expectRejected({ queryToken: sign() }, "issuer_mismatch", "unauthorized", cognito);
  });
});

describe("bad input: every case denied with its own reason", () => {
  it("missing token", () => expectRejected({}, "token_missing"));
  it("empty query parameter", () => expectRejected({ queryToken: "" }, "token_empty"));
  it("empty subprotocol token", () => expectRejected({ protocolHeader: `${SUBPROTOCOL}, ` }, "token_empty"));
  it("garbage", () => expectRejected({ queryToken: remember("this is not a token") }, "token_malformed"));
  it("two segments", () => expectRejected({ queryToken: sign().split(".").slice(0, 2).join(".") }, "token_malformed"));
  it("four segments", () => expectRejected({ queryToken: `${sign()}.extra` }, "token_malformed"));
  it("signature stripped", () =>
    expectRejected({ queryToken: `${sign().split(".").slice(0, 2).join(".")}.` }, "token_malformed"));
  it("bad base64", () => {
    const [, payload, signature] = sign().split(".");
    return expectRejected({ queryToken: remember(`eyJhb.${payload}.${signature}`) }, "token_encoding");
  });
  it("a second spelling of a valid signature (non-zero unused bits)", () => {
    const token = sign();
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.slice(-1));
    // 2048-bit RS256 signatures are 342 characters: the last one carries 4 unused bits.
    expect(token.split(".")[2]?.length).toBe(342);
    const variant = `${token.slice(0, -1)}${alphabet[last | 1]}`;
    expect(Buffer.from(variant.split(".")[2] ?? "", "base64url")).toEqual(
      Buffer.from(token.split(".")[2] ?? "", "base64url"),
    );
    return expectRejected({ queryToken: remember(variant) }, "token_encoding");
  });
  it("non-JSON header", () => {
    const [, payload, signature] = sign().split(".");
    const header = Buffer.from("{not json").toString("base64url");
    return expectRejected({ queryToken: remember(`${header}.${payload}.${signature}`) }, "header_not_json");
  });
  it("header that is JSON but not an object", () => {
    const [, payload, signature] = sign().split(".");
    return expectRejected(
      { queryToken: remember(`${base64UrlJson(["RS256"])}.${payload}.${signature}`) },
      "header_not_json",
    );
  });
  it("non-JSON payload", () => {
    const [header, , signature] = sign().split(".");
    const payload = Buffer.from("sub=alice").toString("base64url");
    return expectRejected({ queryToken: remember(`${header}.${payload}.${signature}`) }, "payload_not_json");
  });
  it("alg none", () => {
    const token = remember(`${base64UrlJson({ alg: "none", kid: "key-1" })}.${base64UrlJson(claims())}.c2ln`);
    return expectRejected({ queryToken: token }, "alg_none");
  });
  it("HS256 signed with the public key (alg confusion)", () => {
    const publicPem = signingKey.publicKey.export({ format: "pem", type: "spki" });
    const token = remember(signJwt({ alg: "HS256", kid: "key-1" }, claims(), Buffer.from(publicPem)));
    return expectRejected({ queryToken: token }, "alg_not_allowed");
  });
  it("RS512 instead of RS256", () =>
    expectRejected({ queryToken: sign({}, signingKey, { alg: "RS512", kid: "key-1" }) }, "alg_not_allowed"));
  it("missing kid", () => expectRejected({ queryToken: sign({}, signingKey, { alg: "RS256" }) }, "kid_missing"));
  it("wrong key with a known kid", () => expectRejected({ queryToken: sign({}, attackerKey) }, "signature_invalid"));
  it("unknown kid", () => expectRejected({ queryToken: sign({}, rotatedKey) }, "kid_unknown"));
  it("tampered payload", () => {
    const [header, , signature] = sign().split(".");
    const forged = base64UrlJson(claims({ sub: "someone-else", "cognito:groups": ["admins"] }));
    return expectRejected({ queryToken: remember(`${header}.${forged}.${signature}`) }, "signature_invalid");
  });
  it("tampered header", () => {
    const [, payload, signature] = sign().split(".");
    const header = base64UrlJson({ alg: "RS256", kid: "key-1", typ: "JWT" });
    return expectRejected({ queryToken: remember(`${header}.${payload}.${signature}`) }, "signature_invalid");
  });
  it("expired", () =>
    expectRejected({ queryToken: sign({ exp: Math.floor(Date.now() / 1000) - 60 }) }, "token_expired"));
  it("nbf in the future", () =>
    expectRejected({ queryToken: sign({ nbf: Math.floor(Date.now() / 1000) + 600 }) }, "token_not_yet_valid"));
  it("no exp", () => expectRejected({ queryToken: sign({ exp: undefined }) }, "exp_missing"));
  it("exp not a number", () => expectRejected({ queryToken: sign({ exp: "tomorrow" }) }, "claims_invalid"));
  it("wrong iss", () =>
    expectRejected({ queryToken: sign({ iss: "http://127.0.0.1:1/other_pool" }) }, "issuer_mismatch"));
  it("wrong aud", () => expectRejected({ queryToken: sign({ aud: "another-client" }) }, "audience_mismatch"));
  it("access token where an ID token is required", () =>
    expectRejected({ queryToken: sign({ token_use: "access", client_id: CLIENT_ID }) }, "token_use_not_allowed"));
  it("missing sub", () => expectRejected({ queryToken: sign({ sub: undefined }) }, "sub_missing"));
  // The pre-check is the token's only decoder, so it enforces the library decoder's claim types too.
  it("aud not a string or list of strings", () =>
    expectRejected({ queryToken: sign({ aud: [CLIENT_ID, 7] }) }, "claims_invalid"));
  it("iat not a number", () => expectRejected({ queryToken: sign({ iat: "today" }) }, "claims_invalid"));
  it("jti not a string", () => expectRejected({ queryToken: sign({ jti: 42 }) }, "claims_invalid"));
  it("oversized token", () => expectRejected({ queryToken: sign({ padding: "x".repeat(9000) }) }, "token_too_large"));
  it("token in both transports, disagreeing", () =>
    expectRejected({ queryToken: sign({ jti: "a" }), subprotocolToken: sign({ jti: "b" }) }, "token_ambiguous"));
  it("duplicated query parameter", () => expectRejected({ queryToken: [sign(), sign()] }, "query_param_repeated"));
  it("subprotocol header with extra entries", () =>
    expectRejected({ protocolHeader: `${SUBPROTOCOL}, ${sign()}, chat` }, "subprotocol_malformed"));
  it("valid token without a required group is a 403 Deny", () =>
    expectRejected({ queryToken: sign() }, "group_required", "deny", localVerifier({ requiredGroups: ["admins"] })));
});

describe("failing dependencies and configuration", () => {
  it("JWKS down: refused as a dependency failure (500), then recovers", async () => {
    const cold = localVerifier();
    jwks.setMode("down");
    try {
      await expectRejected({ queryToken: sign() }, "jwks_unavailable", "error", cold);
    } finally {
      jwks.setMode("ok");
    }
    expect(await decide(buildConnectAuthorizerEvent({ queryToken: sign() }), cold)).toMatchObject({
      effect: "allow",
    });
  });

  it("JWKS returning garbage", async () => {
    jwks.setMode("garbage");
    try {
      await expectRejected({ queryToken: sign() }, "jwks_invalid", "error", localVerifier());
    } finally {
      jwks.setMode("ok");
    }
  });

  it("JWKS hanging: gives up after the fetch timeout", async () => {
    jwks.setMode("hang");
    try {
      await expectRejected({ queryToken: sign() }, "jwks_unavailable", "error", localVerifier({ jwksTimeoutMs: 100 }));
    } finally {
      jwks.setMode("ok");
    }
  });

  it("JWKS unreachable (nothing listening)", async () => {
    const unreachable = createTokenVerifier({
      userPoolId: POOL_ID,
      clientId: CLIENT_ID,
      local: { issuer: jwks.issuer, jwksUri: "http://127.0.0.1:1/nothing/.well-known/jwks.json" },
    });
    await expectRejected({ queryToken: sign() }, "jwks_unavailable", "error", unreachable);
  });

  it("a broken JWKS snapshot is ignored and the JWKS is fetched instead", async () => {
    const fallback = localVerifier({ jwksSnapshot: "{not json" });
    expect(await decide(buildConnectAuthorizerEvent({ queryToken: sign() }), fallback)).toMatchObject({
      effect: "allow",
    });
  });

  it("a verifier that cannot be built is a 500, not a crash", async () => {
    const event = buildConnectAuthorizerEvent({ queryToken: sign() });
    const broken = () =>
      createTokenVerifier({
        userPoolId: "us-east-1_RealPool",
        clientId: CLIENT_ID,
        local: { issuer: jwks.issuer, jwksUri: jwks.jwksUri },
      });
    await expect(authorizeConnect(event, broken)).rejects.toBeInstanceOf(AuthUnavailableError);
  });
});

describe("hot paths", () => {
  it("answers junk and cached tokens synchronously, a first verification asynchronously", async () => {
    const fresh = localVerifier();
    expect(checkNow(fresh, "not-a-jwt")).toMatchObject({ ok: false, reason: "token_malformed" });
    const token = sign({ jti: "sync-path" });
    const first = checkNow(fresh, token);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ ok: true, cached: false });
    expect(checkNow(fresh, token)).toMatchObject({ ok: true, cached: true });
  });

  it("rejects with one shared, frozen Unauthorized error", async () => {
    const event = buildConnectAuthorizerEvent({ queryToken: "not-a-jwt" });
    const first = await authorizeConnect(event, verifier).catch((error: unknown) => error);
    const second = await authorizeConnect(event, verifier).catch((error: unknown) => error);
    expect(first).toBeInstanceOf(Error);
    expect((first as Error).message).toBe("Unauthorized");
    expect(Object.isFrozen(first)).toBe(true);
    expect(second).toBe(first);
  });

  it("settles every outcome through its promise, even a logger that throws", async () => {
    const failing = () => {
      throw new Error("log sink down");
    };
    const broken = { debug: failing, info: failing, warn: failing, error: failing };
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = authorizeConnect(buildConnectAuthorizerEvent({}), verifier, broken);
    }).not.toThrow();
    await expect(pending).rejects.toThrow("log sink down");
  });

  it("logs an allow at debug (the $connect route logs the connection) and a rejection with its reason", async () => {
    const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
    const recording = Object.fromEntries(
      (["debug", "info", "warn", "error"] as const).map((level) => [
        level,
        (message: string, fields?: Record<string, unknown>) => lines.push({ level, message, fields }),
      ]),
    ) as unknown as Parameters<typeof authorizeConnect>[2];
    await authorizeConnect(buildConnectAuthorizerEvent({ queryToken: sign() }), verifier, recording);
    await authorizeConnect(buildConnectAuthorizerEvent({}), verifier, recording).catch(() => undefined);
    expect(lines).toMatchObject([
      { level: "debug", message: "connect allowed", fields: { userId: expect.any(String) } },
      { level: "info", message: "connect unauthorized", fields: { reason: "token_missing" } },
    ]);
  });
});

describe("logs", () => {
  it("carry a reason code per rejection and never a token or a signature", () => {
    const text = captured.join("");
    for (const reason of [
      "token_missing",
      "signature_invalid",
      "token_expired",
      "jwks_unavailable",
      "group_required",
    ]) {
      expect(text).toContain(`"reason":"${reason}"`);
    }
    expect(issuedTokens.size).toBeGreaterThan(40);
    for (const token of issuedTokens) {
      expect(text).not.toContain(token);
      const [, payload = "", signature = ""] = token.split(".");
      for (const part of [signature, payload].filter((item) => item.length >= 16)) expect(text).not.toContain(part);
    }
  });
});

describe("revoked users", () => {
  const userId = "5f1c7d2e-0000-4000-8000-000000000001";
  const now = Math.floor(Date.now() / 1000);
  const revokedAt = (notBefore: number | undefined) => ({
    notBefore: (id: string) => (id === userId ? notBefore : undefined),
  });

  it("refuses (401) a token signed in before the user's not-before time, fresh or from the token cache", async () => {
    const token = sign({ auth_time: now - 60, iat: now - 1 });
    const event = buildConnectAuthorizerEvent({ queryToken: token });
    // Verified once and cached while the user was not revoked...
    expect((await authorizeConnect(event, verifier, undefined, revokedAt(undefined))).principalId).toBe(userId);
    // ...then refused from the cache: `auth_time`, not the later `iat` of a refresh, is what counts.
    const decision = await decide(event, verifier);
    expect(decision).toMatchObject({ effect: "allow", cached: true });
    await expect(authorizeConnect(event, verifier, undefined, revokedAt(now - 30))).rejects.toThrow(/^Unauthorized$/);
  });

  it("allows a sign-in at or after the not-before time, and waits for a lookup that is not cached", async () => {
    const token = sign({ auth_time: now });
    const event = buildConnectAuthorizerEvent({ queryToken: token });
    const pending = { notBefore: async () => now };
    expect((await authorizeConnect(event, verifier, undefined, pending)).principalId).toBe(userId);
    const later = { notBefore: async () => now + 1 };
    await expect(authorizeConnect(event, verifier, undefined, later)).rejects.toThrow(/^Unauthorized$/);
  });

  it("fails closed (500) when the lookup fails, and never looks up a refused token", async () => {
    const event = buildConnectAuthorizerEvent({ queryToken: sign() });
    const failing = {
      notBefore: async (): Promise<number | undefined> => {
        throw new Error("table unreachable");
      },
    };
    await expect(authorizeConnect(event, verifier, undefined, failing)).rejects.toBeInstanceOf(AuthUnavailableError);
    const lookups = vi.fn(() => undefined);
    const forged = buildConnectAuthorizerEvent({ queryToken: sign({}, attackerKey) });
    await expect(authorizeConnect(forged, verifier, undefined, { notBefore: lookups })).rejects.toThrow(
      /^Unauthorized$/,
    );
    expect(lookups).not.toHaveBeenCalled();
  });
});
