import { createSign } from "node:crypto";
import { CognitoJwtVerifier } from "aws-jwt-verify";
import { describe, expect, it } from "vitest";
import { base64UrlJson, generateSigningKey, idTokenClaims, signJwt } from "../testing/index";
import { parseJwksSnapshot } from "./jwks";
import { createTokenVerifier } from "./verifier";

// For a deployed pool the authorizer runs aws-jwt-verify's verifier with CognitoJwtVerifier's issuer
// forms and claim checks, fed the token its pre-check already decoded (verifier.ts explains why).
// This suite holds it to the library's own CognitoJwtVerifier, token by token: it may refuse more
// (its pre-checks are stricter), never accept more, and it agrees on everything else.

const USER_POOL_ID = "eu-west-1_Differ3nt";
const CLIENT_ID = "web-client-id";
const OTHER_POOL_ID = "eu-west-1_SomeOther1";
const REGIONAL = `https://cognito-idp.eu-west-1.amazonaws.com/${USER_POOL_ID}`;
const GLOBAL = `https://issuer-cognito-idp.eu-west-1.amazonaws.com/${USER_POOL_ID}`;

const key = generateSigningKey("pool-key");
const attacker = generateSigningKey("pool-key");
const stranger = generateSigningKey("other-key");
const snapshot = JSON.stringify({ keys: [key.publicJwk] });

function token(overrides: Record<string, unknown> = {}, signer = key, header?: Record<string, unknown>): string {
  const claims = {
    ...idTokenClaims({ issuer: REGIONAL, clientId: CLIENT_ID, email: "erin@example.com" }),
    ...overrides,
  };
  return signJwt(header ?? { kid: signer.kid, alg: "RS256" }, claims, signer.privateKey);
}

const now = Math.floor(Date.now() / 1000);

/** Tokens both must judge alike. */
const SAME_VERDICT: Record<string, string> = {
  "valid, regional issuer": token(),
  "valid, global issuer": token({ iss: GLOBAL }),
  "audience as a list (Cognito's ID tokens carry a string)": token({ aud: [CLIENT_ID, "another"] }),
  expired: token({ exp: now - 120 }),
  "not yet valid": token({ nbf: now + 600 }),
  "another pool": token({ iss: `https://cognito-idp.eu-west-1.amazonaws.com/${OTHER_POOL_ID}` }),
  "another region": token({ iss: `https://cognito-idp.us-east-1.amazonaws.com/${USER_POOL_ID}` }),
  "another client": token({ aud: "someone-else" }),
  "access token": token({ token_use: "access", aud: undefined, client_id: CLIENT_ID }),
  "unknown token_use": token({ token_use: "refresh" }),
  "wrong key, known kid": token({}, attacker),
  "unknown kid": token({}, stranger),
  "tampered payload": (() => {
    const [header, , signature] = token().split(".");
    return `${header}.${base64UrlJson({ ...idTokenClaims({ issuer: REGIONAL, clientId: CLIENT_ID }), sub: "admin" })}.${signature}`;
  })(),
  "RS512 header": token({}, key, { kid: key.kid, alg: "RS512" }),
  "alg none": `${base64UrlJson({ kid: key.kid, alg: "none" })}.${base64UrlJson(idTokenClaims({ issuer: REGIONAL, clientId: CLIENT_ID }))}.`,
  garbage: "definitely.not.ajwt",
};

/** Tokens the library accepts and the authorizer refuses on purpose (the reason is in the name). */
const STRICTER: Record<string, string> = {
  "no sub (no user to register)": token({ sub: undefined }),
  "no exp (the library does not require one)": token({ exp: undefined }),
  "padded base64 segments (Cognito never pads)": (() => {
    // A header whose base64 needs padding (its length is 2 past a multiple of 4), signed padded.
    const header = `${base64UrlJson({ kid: key.kid, alg: "RS256", x: "a" })}==`;
    const signingInput = `${header}.${base64UrlJson(idTokenClaims({ issuer: REGIONAL, clientId: CLIENT_ID }))}`;
    return `${signingInput}.${createSign("RSA-SHA256").update(signingInput).sign(key.privateKey, "base64url")}`;
  })(),
};

async function libraryAccepts(jwt: string): Promise<boolean> {
  const library = CognitoJwtVerifier.create({ userPoolId: USER_POOL_ID, tokenUse: "id", clientId: CLIENT_ID });
  library.cacheJwks(parseJwksSnapshot(snapshot));
  try {
    await library.verify(jwt);
    return true;
  } catch {
    return false;
  }
}

async function authorizerAccepts(jwt: string): Promise<boolean> {
  const verifier = createTokenVerifier({
    userPoolId: USER_POOL_ID,
    clientId: CLIENT_ID,
    jwksSnapshot: snapshot,
    // Unknown kids would be fetched from Cognito: fail at once instead (nothing listens here).
    jwksTimeoutMs: 50,
  });
  return (await verifier.check(jwt)).ok;
}

describe("the deployed-pool verifier against CognitoJwtVerifier", () => {
  for (const [name, jwt] of Object.entries(SAME_VERDICT)) {
    it(`same verdict: ${name}`, async () => {
      const expected = await libraryAccepts(jwt);
      expect(await authorizerAccepts(jwt)).toBe(expected);
    });
  }

  it("the valid cases are accepted by both (the comparison is not vacuous)", async () => {
    for (const name of ["valid, regional issuer", "valid, global issuer"]) {
      expect(await libraryAccepts(SAME_VERDICT[name] ?? "")).toBe(true);
    }
  });

  for (const [name, jwt] of Object.entries(STRICTER)) {
    it(`stricter than the library: ${name}`, async () => {
      expect(await libraryAccepts(jwt)).toBe(true);
      expect(await authorizerAccepts(jwt)).toBe(false);
    });
  }
});
