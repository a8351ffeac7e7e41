import { describe, expect, it } from "vitest";
import { AUTHORIZER_ENV } from "../constants/index";
import { assertLocalIssuerAllowed, isAwsUserPoolId, readLocalIssuer, verifierConfigFromResource } from "./config";
import { AuthUnavailableError } from "./reasons";

const LOCAL_POOL = "local_Abc12345";
const local = {
  issuer: `http://127.0.0.1:9229/${LOCAL_POOL}`,
  jwksUri: `http://127.0.0.1:9229/${LOCAL_POOL}/.well-known/jwks.json`,
};

describe("verifierConfigFromResource", () => {
  it("configures a deployed pool from the linked resources, with optional settings off by default", () => {
    const config = verifierConfigFromResource(
      { UserPool: { id: "eu-west-1_AbCdEf123" }, WebClient: { id: "client" } },
      {},
    );
    expect(config).toEqual({ userPoolId: "eu-west-1_AbCdEf123", clientId: "client", acceptAccessTokens: false });
  });

  it("reads the local issuer the local runner adds, and the optional settings", () => {
    const config = verifierConfigFromResource(
      {
        UserPool: { id: LOCAL_POOL, localIssuer: local.issuer, localJwksUri: local.jwksUri } as { id: string },
        WebClient: { id: "c" },
      },
      {
        [AUTHORIZER_ENV.acceptAccessTokens]: "true",
        [AUTHORIZER_ENV.requiredGroups]: "admins, staff, ops%2Con-call",
        [AUTHORIZER_ENV.jwksSnapshot]: '{"keys":[]}',
      },
    );
    expect(config).toMatchObject({
      local,
      acceptAccessTokens: true,
      requiredGroups: ["admins", "staff", "ops,on-call"],
      jwksSnapshot: '{"keys":[]}',
    });
  });

  it("derives the JWKS URI from the issuer when only the issuer is given", () => {
    expect(readLocalIssuer({ id: LOCAL_POOL, localIssuer: local.issuer })).toEqual(local);
  });

  it("refuses a missing pool or client id", () => {
    expect(() => verifierConfigFromResource({ UserPool: { id: "" }, WebClient: { id: "c" } }, {})).toThrow(
      AuthUnavailableError,
    );
  });
});

describe("the local issuer guard", () => {
  it("allows the emulator's http issuer on loopback", () => {
    expect(() => assertLocalIssuerAllowed(LOCAL_POOL, local)).not.toThrow();
    expect(() =>
      assertLocalIssuerAllowed(LOCAL_POOL, {
        issuer: "http://localhost:9229/p",
        jwksUri: "http://[::1]:9229/p/.well-known/jwks.json",
      }),
    ).not.toThrow();
  });

  it.each([
    ["a real AWS pool id", "us-east-1_AbCdEf123", local],
    ["an upper-case AWS-like pool id", "EU-WEST-1_abc", local],
    ["a pool id with a trailing newline", "eu-west-1_abc\n", local],
    ["a pool id that is not the emulator's", "mypool", local],
    ["https issuer", LOCAL_POOL, { ...local, issuer: "https://127.0.0.1:9229/p" }],
    ["non-loopback issuer", LOCAL_POOL, { ...local, issuer: "http://cognito.example.com/p" }],
    ["look-alike host", LOCAL_POOL, { ...local, issuer: "http://127.0.0.1.example.com/p" }],
    ["non-loopback JWKS URI", LOCAL_POOL, { ...local, jwksUri: "http://10.0.0.1/jwks.json" }],
    ["unparseable URL", LOCAL_POOL, { ...local, issuer: "not a url" }],
  ])("refuses %s", (_name, poolId, issuer) => {
    expect(() => assertLocalIssuerAllowed(poolId, issuer)).toThrow(
      expect.objectContaining({ reason: "verifier_misconfigured" }),
    );
  });

  it("is applied when configuring from resources, so a deployed stage can never take the local path", () => {
    const resources = {
      UserPool: { id: "us-east-1_AbCdEf123", localIssuer: local.issuer } as { id: string },
      WebClient: { id: "c" },
    };
    expect(() => verifierConfigFromResource(resources, {})).toThrow(AuthUnavailableError);
  });

  it("recognises real pool ids", () => {
    expect(isAwsUserPoolId("ap-southeast-2_Zz9")).toBe(true);
    expect(isAwsUserPoolId(LOCAL_POOL)).toBe(false);
  });
});
