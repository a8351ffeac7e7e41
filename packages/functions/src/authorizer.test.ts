import {
  buildConnectAuthorizerEvent,
  generateSigningKey,
  type JwksServer,
  type SigningKey,
  signIdToken,
  startJwksServer,
} from "@wsauth/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The handler as the local runner runs it: configuration only through `SST_RESOURCE_<Name>` env vars
// (what `Resource` from "sst" reads), a real JWKS endpoint standing in for the Cognito emulator.

const POOL_ID = "local_HandlerTest";
const CLIENT_ID = "handler-test-client";

let jwks: JwksServer;
let key: SigningKey;
let handler: typeof import("./authorizer")["handler"];

beforeAll(async () => {
  key = generateSigningKey("handler-key");
  jwks = await startJwksServer(POOL_ID, [key]);
  process.env.SST_RESOURCE_UserPool = JSON.stringify({
    id: POOL_ID,
    localIssuer: jwks.issuer,
    localJwksUri: jwks.jwksUri,
  });
  process.env.SST_RESOURCE_WebClient = JSON.stringify({ id: CLIENT_ID, secret: "" });
  process.env.WSAUTH_LOG_LEVEL = "ERROR";
  ({ handler } = await import("./authorizer"));
});

afterAll(async () => {
  await jwks.close();
});

describe("authorizer handler", () => {
  it("allows a valid ID token with principalId = sub and the flat identity context", async () => {
    const token = signIdToken(key, {
      issuer: jwks.issuer,
      clientId: CLIENT_ID,
      sub: "user-1",
      email: "erin@example.com",
    });
    const result = await handler(buildConnectAuthorizerEvent({ subprotocolToken: token }));
    expect(result).toMatchObject({
      principalId: "user-1",
      policyDocument: { Statement: [{ Effect: "Allow" }] },
      context: { userId: "user-1", username: "erin@example.com", transport: "subprotocol", groups: "" },
    });
  });

  it("answers a request without a token with API Gateway's 401 (`Unauthorized`)", async () => {
    await expect(handler(buildConnectAuthorizerEvent())).rejects.toThrow(/^Unauthorized$/);
  });

  it("refuses a token of another client", async () => {
    const token = signIdToken(key, { issuer: jwks.issuer, clientId: "someone-else" });
    await expect(handler(buildConnectAuthorizerEvent({ queryToken: token }))).rejects.toThrow(/^Unauthorized$/);
  });
});
