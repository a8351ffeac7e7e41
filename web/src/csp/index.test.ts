import { describe, expect, it } from "vitest";
import type { WebConfig } from "../config";
import { cognitoOrigin, connectSources, contentSecurityPolicy, createNonce } from "./index";

const deployed: WebConfig = {
  region: "eu-west-1",
  userPoolId: "eu-west-1_AbCdEf123",
  userPoolClientId: "client",
  webSocketUrl: "wss://abc123.execute-api.eu-west-1.amazonaws.com/production",
  authFlow: "USER_SRP_AUTH",
};
const local: WebConfig = {
  region: "us-east-1",
  userPoolId: "local_1a2b3c",
  userPoolClientId: "client",
  webSocketUrl: "ws://localhost:3001/local",
  cognitoEndpoint: "http://localhost:9229",
  authFlow: "USER_PASSWORD_AUTH",
};

/** The policy as `{directive: sources}`, as a browser parses it. */
function parse(policy: string): Record<string, string[]> {
  return Object.fromEntries(
    policy.split(";").map((directive) => {
      const [name = "", ...sources] = directive.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

describe("contentSecurityPolicy", () => {
  it("allows the site's own origin, the pool's regional Cognito endpoint and the socket's origin (deployed)", () => {
    const policy = parse(contentSecurityPolicy({ config: deployed, nonce: "bm9uY2U=", development: false }));
    expect(policy).toEqual({
      "default-src": ["'self'"],
      "script-src": ["'self'", "'nonce-bm9uY2U='", "'strict-dynamic'"],
      "style-src": ["'self'", "'nonce-bm9uY2U='"],
      "connect-src": [
        "'self'",
        "https://cognito-idp.eu-west-1.amazonaws.com",
        "wss://abc123.execute-api.eu-west-1.amazonaws.com",
      ],
      "object-src": ["'none'"],
      "base-uri": ["'self'"],
      "form-action": ["'self'"],
      "frame-ancestors": ["'none'"],
    });
  });

  it("allows the emulator's endpoint locally, and eval and injected styles only under `next dev`", () => {
    const policy = parse(contentSecurityPolicy({ config: local, nonce: "bm9uY2U=", development: true }));
    expect(policy["connect-src"]).toEqual(["'self'", "http://localhost:9229", "ws://localhost:3001"]);
    expect(policy["script-src"]).toEqual(["'self'", "'nonce-bm9uY2U='", "'strict-dynamic'", "'unsafe-eval'"]);
    expect(policy["style-src"]).toEqual(["'self'", "'unsafe-inline'"]);
    const production = contentSecurityPolicy({ config: local, nonce: "bm9uY2U=", development: false });
    expect(production).not.toContain("unsafe");
  });

  it("allows no other origin when the configuration is incomplete", () => {
    const policy = parse(contentSecurityPolicy({ config: undefined, nonce: "bm9uY2U=", development: false }));
    expect(policy["connect-src"]).toEqual(["'self'"]);
  });

  it("never lets a configured value add a directive or a source", () => {
    const hostile = { ...deployed, webSocketUrl: "wss://a;script-src*.example/x", cognitoEndpoint: "https://b c" };
    const policy = contentSecurityPolicy({ config: hostile, nonce: "bm9uY2U=", development: false });
    expect(Object.keys(parse(policy))).toHaveLength(8);
    expect(parse(policy)["connect-src"]).toEqual(["'self'"]);
    expect(() => contentSecurityPolicy({ config: deployed, nonce: "x'; script-src *", development: false })).toThrow(
      "base64",
    );
  });
});

describe("cognitoOrigin and connectSources", () => {
  it("take the region from the user pool id, as Amplify does, and China's DNS suffix", () => {
    expect(cognitoOrigin({ ...deployed, region: "us-east-1" })).toBe("https://cognito-idp.eu-west-1.amazonaws.com");
    expect(cognitoOrigin({ ...deployed, userPoolId: "cn-north-1_abc" })).toBe(
      "https://cognito-idp.cn-north-1.amazonaws.com.cn",
    );
    expect(connectSources({ ...local, webSocketUrl: "ws://localhost:9229/x" })).toEqual([
      "http://localhost:9229",
      "ws://localhost:9229",
    ]);
  });
});

describe("createNonce", () => {
  it("is 128 random bits, different every time", () => {
    const nonces = new Set(Array.from({ length: 100 }, createNonce));
    expect(nonces.size).toBe(100);
    for (const nonce of nonces) expect(Buffer.from(nonce, "base64")).toHaveLength(16);
  });
});
