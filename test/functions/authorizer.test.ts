import { REVOCATION } from "@wsauth/core/constants";
import { createRevocationStore } from "@wsauth/core/revocation";
import {
  buildConnectAuthorizerEvent,
  generateSigningKey,
  type JwksServer,
  type SigningKey,
  signIdToken,
  startJwksServer,
} from "@wsauth/core/testing";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { handlerEnvironment } from "@wsauth/local/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The handler as the local runner runs it: configuration only through `SST_RESOURCE_<Name>` env vars
// (what `Resource` from "sst" reads), a real JWKS endpoint standing in for the Cognito emulator, and the
// revocation record read from a real (local) DynamoDB with the SDK-free signed GetItem.

const POOL_ID = "local_HandlerTest";
const CLIENT_ID = "handler-test-client";

const TABLE = "authorizer-handler-test";

let jwks: JwksServer;
let key: SigningKey;
let dynamo: LocalDynamo;
let handler: typeof import("@wsauth/functions/authorizer")["handler"];

beforeAll(async () => {
  key = generateSigningKey("handler-key");
  [jwks, dynamo] = await Promise.all([startJwksServer(POOL_ID, [key]), startDynamo({ port: 0 })]);
  await createConnectionsTable(localDynamoClient(dynamo.endpoint), TABLE);
  Object.assign(
    process.env,
    handlerEnvironment({
      tableName: TABLE,
      webSocketUrl: "ws://127.0.0.1:9/local",
      managementEndpoint: "http://127.0.0.1:9/local",
      userPoolId: POOL_ID,
      clientId: CLIENT_ID,
      issuer: jwks.issuer,
      jwksUri: jwks.jwksUri,
      webUrl: "",
      dynamoEndpoint: dynamo.endpoint,
    }),
  );
  process.env.WSAUTH_LOG_LEVEL = "ERROR";
  ({ handler } = await import("@wsauth/functions/authorizer"));
});

afterAll(async () => {
  await Promise.all([jwks.close(), dynamo.stop()]);
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

  it("refuses (401) a token signed in before the user's revocation, read from the table", async () => {
    const signedIn = Math.floor(Date.now() / 1000) - 5;
    const token = signIdToken(key, {
      issuer: jwks.issuer,
      clientId: CLIENT_ID,
      sub: "user-revoked",
      extra: { auth_time: signedIn, iat: signedIn },
    });
    const event = buildConnectAuthorizerEvent({ subprotocolToken: token });
    expect((await handler(event)).principalId).toBe("user-revoked");
    await createRevocationStore({ tableName: TABLE, client: localDynamoClient(dynamo.endpoint) }).revoke(
      "user-revoked",
      "test",
    );
    // The container remembers the first lookup for REVOCATION.lookupCacheMs; past it, the record counts.
    await new Promise((resolve) => setTimeout(resolve, REVOCATION.lookupCacheMs + 50));
    await expect(handler(event)).rejects.toThrow(/^Unauthorized$/);
    // Another user is untouched.
    const other = signIdToken(key, { issuer: jwks.issuer, clientId: CLIENT_ID, sub: "user-other" });
    expect((await handler(buildConnectAuthorizerEvent({ subprotocolToken: other }))).principalId).toBe("user-other");
  });
});
