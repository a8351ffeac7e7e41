import { LOCAL } from "@wsauth/core/constants";
import {
  type ConnectionsServer,
  capturedLogs,
  connectEvent,
  messageEvent,
  startConnectionsServer,
} from "@wsauth/core/testing";
import { handler as connect } from "@wsauth/functions/connect";
import { handler as notify } from "@wsauth/functions/notify";
import { handler as ping } from "@wsauth/functions/ping";
import { handler as whoami } from "@wsauth/functions/whoami";
import { type LocalDynamo, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setHandlerEnv } from "../helpers/handler-env";

// The linked table does not exist: every DynamoDB call fails, as when the table or its permissions are broken.
describe("handlers when the registry is unavailable", () => {
  let dynamo: LocalDynamo;
  let gateway: ConnectionsServer;
  const authorizer = {
    principalId: "sub-d",
    userId: "sub-d",
    username: "d@example.com",
    groups: "",
    tokenExp: Math.floor(Date.now() / 1000) + 3600,
    transport: "query",
  };

  beforeAll(async () => {
    [dynamo, gateway] = await Promise.all([startDynamo({ port: 0 }), startConnectionsServer(LOCAL.stage)]);
    setHandlerEnv({
      tableName: "missing-table",
      dynamoEndpoint: dynamo.endpoint,
      managementEndpoint: gateway.endpoint,
    });
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), gateway.stop()]);
  });

  it("$connect answers 500 without detail", async () => {
    expect(await connect(connectEvent({ connectionId: "D1=", authorizer }))).toEqual({ statusCode: 500 });
    // The operator sees why, as an error with its code; the caller saw only the 500.
    expect(
      capturedLogs().find({ level: "ERROR", message: "connect rejected", code: "dependency_failed" }),
    ).toHaveLength(1);
  });

  it("a message route answers 200 and tells the caller dependency_failed", async () => {
    gateway.open("D2=");
    expect(await whoami(messageEvent("whoami", '{"action":"whoami"}', { connectionId: "D2=", authorizer }))).toEqual({
      statusCode: 200,
    });
    expect(gateway.received("D2=")).toEqual([
      { type: "error", code: "dependency_failed", message: expect.not.stringContaining("missing-table") },
    ]);
    expect(
      capturedLogs().find({
        level: "ERROR",
        message: "message rejected",
        code: "dependency_failed",
        connectionId: "D2=",
      }),
    ).toHaveLength(1);
  });

  it("a message route still answers 200 when the reply cannot be delivered either", async () => {
    gateway.fail("D3=", 400);
    expect(await whoami(messageEvent("whoami", '{"action":"whoami"}', { connectionId: "D3=", authorizer }))).toEqual({
      statusCode: 200,
    });
    // Both failures are on record: the registry's, and the reply that could not be sent.
    expect(capturedLogs().find({ level: "ERROR", message: "message rejected", connectionId: "D3=" })).toHaveLength(1);
    expect(
      capturedLogs().find({ level: "ERROR", message: "send to connection failed", connectionId: "D3=" }),
    ).toHaveLength(1);
    expect(capturedLogs().find({ level: "WARN", message: "reply not delivered", connectionId: "D3=" })).toHaveLength(1);
  });

  it("ping and echo need no registry while the token is valid, so they keep answering", async () => {
    gateway.open("D4=");
    expect(await ping(messageEvent("ping", '{"action":"ping"}', { connectionId: "D4=", authorizer }))).toEqual({
      statusCode: 200,
    });
    expect(gateway.received("D4=")).toEqual([{ type: "pong" }]);
  });

  it("notify rejects with dependency_failed", async () => {
    await expect(notify({ userId: "sub-d", data: 1 })).rejects.toMatchObject({ code: "dependency_failed" });
    expect(capturedLogs().find({ level: "ERROR", message: "notify failed", code: "dependency_failed" })).toHaveLength(
      1,
    );
  });
});
