import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, SUBPROTOCOL } from "@wsauth/core/constants";
import {
  type ConnectionsServer,
  capturedLogs,
  connectEvent,
  disconnectEvent,
  messageEvent,
  startConnectionsServer,
} from "@wsauth/core/testing";
import { handler as broadcast } from "@wsauth/functions/broadcast";
import { handler as connect } from "@wsauth/functions/connect";
import { handler as echo } from "@wsauth/functions/default";
import { handler as disconnect } from "@wsauth/functions/disconnect";
import { handler as notify } from "@wsauth/functions/notify";
import { handler as ping } from "@wsauth/functions/ping";
import { handler as reauth } from "@wsauth/functions/reauth";
import { handler as sendmessage } from "@wsauth/functions/sendmessage";
import { handler as sweep } from "@wsauth/functions/sweep";
import { handler as whoami } from "@wsauth/functions/whoami";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { setHandlerEnv } from "../helpers/handler-env";

const TABLE = "handlers-test";
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

function authorizerFor(userId: string, extra: Record<string, string | number> = {}) {
  return {
    principalId: userId,
    userId,
    username: `${userId}@example.com`,
    email: `${userId}@example.com`,
    groups: "",
    tokenExp: inOneHour(),
    transport: "query",
    ...extra,
  };
}

describe("route handlers (AWS-shaped events, dynalite, @connections over HTTP)", () => {
  let dynamo: LocalDynamo;
  let gateway: ConnectionsServer;
  const store = () => createConnectionStore({ tableName: TABLE, client: localDynamoClient(dynamo.endpoint) });

  beforeAll(async () => {
    [dynamo, gateway] = await Promise.all([startDynamo({ port: 0 }), startConnectionsServer(LOCAL.stage)]);
    await createConnectionsTable(localDynamoClient(dynamo.endpoint), TABLE);
    setHandlerEnv({ tableName: TABLE, dynamoEndpoint: dynamo.endpoint, managementEndpoint: gateway.endpoint });
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), gateway.stop()]);
  });

  async function open(connectionId: string, authorizer: Record<string, string | number>) {
    gateway.open(connectionId);
    const response = await connect(connectEvent({ connectionId, authorizer }));
    expect(response.statusCode).toBe(200);
    return { connectionId, authorizer };
  }

  it("$connect stores the authorizer's identity and answers the subprotocol whenever the client offered it", async () => {
    const authorizer = authorizerFor("sub-1", { transport: "subprotocol", groups: "admins,readers" });
    const response = await connect(
      connectEvent({
        connectionId: "Conn1=",
        authorizer,
        sourceIp: "198.51.100.4",
        userAgent: "Mozilla/5.0",
        headers: { "Sec-WebSocket-Protocol": `${SUBPROTOCOL}, eyJhbGciOiJSUzI1NiJ9.e30.sig` },
      }),
    );
    expect(response).toEqual({ statusCode: 200, headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL } });
    expect(await store().get("Conn1=")).toMatchObject({
      userId: "sub-1",
      username: "sub-1@example.com",
      groups: ["admins", "readers"],
      transport: "subprotocol",
      sourceIp: "198.51.100.4",
      userAgent: "Mozilla/5.0",
    });
    const query = await connect(connectEvent({ connectionId: "Conn2=", authorizer: authorizerFor("sub-1") }));
    expect(query).toEqual({ statusCode: 200 });
    // Token in the query string, but the client offered `wsauth.v1` too: it must be answered, or the
    // browser fails the handshake.
    const offered = await connect(
      connectEvent({
        connectionId: "Conn3=",
        authorizer: authorizerFor("sub-1"),
        headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
      }),
    );
    expect(offered).toEqual({ statusCode: 200, headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL } });
  });

  it("$connect ignores a forged authorizer in the body, headers or query", async () => {
    const forged = JSON.stringify({
      requestContext: { authorizer: authorizerFor("sub-victim") },
      userId: "sub-victim",
    });
    const event = {
      ...connectEvent({ connectionId: "Forged=", authorizer: authorizerFor("sub-attacker") }),
      body: forged,
      queryStringParameters: { userId: "sub-victim", authorizer: forged },
    };
    event.headers = { ...event.headers, authorizer: forged, "x-user-id": "sub-victim" } as typeof event.headers;
    expect((await connect(event)).statusCode).toBe(200);
    expect(await store().get("Forged=")).toMatchObject({
      userId: "sub-attacker",
      username: "sub-attacker@example.com",
    });
    expect(await store().listByUser("sub-victim")).toEqual([]);
  });

  it("never logs an event wholesale (the sample logged the raw token this way)", async () => {
    const marker = "opaque-marker-7f3a";
    const written: string[] = [];
    const capture = (stream: NodeJS.WriteStream) =>
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    const spies = [capture(process.stdout), capture(process.stderr)];
    try {
      const authorizer = authorizerFor("sub-log");
      const event = {
        ...connectEvent({ connectionId: "Log=", authorizer, headers: { "X-Trace": marker } }),
        queryStringParameters: { q: marker },
      };
      gateway.open("Log=");
      expect((await connect(event)).statusCode).toBe(200);
      await ping(messageEvent("ping", `{"action":"ping","x":"${marker}"}`, { connectionId: "Log=", authorizer }));
      await connect(connectEvent({ connectionId: "LogFail=", headers: { "X-Trace": marker } }));
      await disconnect({ ...disconnectEvent({ connectionId: "Log=", authorizer }), headers: { "X-Trace": marker } });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // Something was logged (connect, the rejected ping, the failed connect), but none of the event's content.
    expect(written.length).toBeGreaterThan(0);
    expect(written.join("")).not.toContain(marker);
  });

  it("$connect without an authorizer context fails with 500 and no detail, storing nothing", async () => {
    expect(await connect(connectEvent({ connectionId: "NoAuth=" }))).toEqual({ statusCode: 500 });
    expect(await store().get("NoAuth=")).toBeUndefined();
  });

  it("answers ping, whoami and echo (also of a base64 frame) over @connections", async () => {
    const caller = await open("Talk=", authorizerFor("sub-2"));
    expect(await ping(messageEvent("ping", '{"action":"ping"}', caller))).toEqual({ statusCode: 200 });
    await whoami(messageEvent("whoami", '{"action":"whoami"}', caller));
    await echo(messageEvent("$default", '{"hello":1}', caller));
    await echo(
      messageEvent("$default", Buffer.from('{"bin":true}').toString("base64"), { ...caller, isBase64Encoded: true }),
    );
    expect(gateway.received("Talk=")).toEqual([
      { type: "pong" },
      expect.objectContaining({ type: "identity", userId: "sub-2", username: "sub-2@example.com", connections: 1 }),
      { type: "echo", message: { hello: 1 } },
      { type: "echo", message: { bin: true } },
    ]);
  });

  it("answers bad input with error frames and status 200, never a throw", async () => {
    const caller = await open("Bad=", authorizerFor("sub-3"));
    const cases: Array<[typeof ping, string, string, string]> = [
      [ping, "ping", '{"action":"ping","x":1}', "validation_failed"],
      [
        sendmessage,
        "sendmessage",
        JSON.stringify({ action: "sendmessage", to: "x", data: "y".repeat(40_000) }),
        "payload_too_large",
      ],
      [broadcast, "broadcast", '{"action":"broadcast","data":1}', "forbidden"],
      [reauth, "reauth", '{"action":"reauth","token":"not-a-jwt"}', "unauthorized"],
      // 10 KB of brackets: small, but deep enough to overflow recursive validation (was `internal`).
      [echo, "$default", `${"[".repeat(5_000)}${"]".repeat(5_000)}`, "validation_failed"],
      [
        sendmessage,
        "sendmessage",
        `{"action":"sendmessage","to":"sub-3","data":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}`,
        "validation_failed",
      ],
    ];
    for (const [handler, route, body, code] of cases) {
      expect(await handler(messageEvent(route, body, caller))).toEqual({ statusCode: 200 });
      expect(gateway.received("Bad=").at(-1)).toMatchObject({ type: "error", code });
      // Each is logged once with its code, as routine (info), never as an error.
      expect(capturedLogs().find({ message: "message rejected", code, connectionId: "Bad=" }).length).toBeGreaterThan(
        0,
      );
    }
    expect(capturedLogs().find({ level: "ERROR" })).toEqual([]);
  });

  it("echoes a text frame that is not JSON as the text itself (as the original sample does)", async () => {
    const caller = await open("Text=", authorizerFor("sub-3"));
    expect(await echo(messageEvent("$default", "hello", caller))).toEqual({ statusCode: 200 });
    expect(gateway.received("Text=")).toEqual([{ type: "echo", message: "hello" }]);
  });

  it("sendmessage delivers to each of the target's connections with the sender's registered identity", async () => {
    const from = await open("From=", authorizerFor("sub-4"));
    await open("To1=", authorizerFor("sub-5"));
    await open("To2=", authorizerFor("sub-5"));
    await sendmessage(
      messageEvent("sendmessage", '{"action":"sendmessage","to":"SUB-5@example.com","data":{"t":"hi"}}', from),
    );
    for (const id of ["To1=", "To2="]) {
      expect(gateway.received(id)).toEqual([
        {
          type: "message",
          from: { userId: "sub-4", username: "sub-4@example.com" },
          data: { t: "hi" },
          sentAt: expect.any(String),
        },
      ]);
    }
  });

  it("closes a connection whose token expired when it sends a message", async () => {
    const caller = await open("Old=", authorizerFor("sub-6", { tokenExp: Math.floor(Date.now() / 1000) - 5 }));
    expect(await ping(messageEvent("ping", '{"action":"ping"}', caller))).toEqual({ statusCode: 200 });
    expect(gateway.received("Old=")).toEqual([expect.objectContaining({ type: "error", code: "token_expired" })]);
    expect(gateway.closed()).toContain("Old=");
    expect(await store().get("Old=")).toBeUndefined();
  });

  it("$disconnect deletes the row", async () => {
    const caller = await open("Bye=", authorizerFor("sub-7"));
    expect(await disconnect(disconnectEvent(caller))).toEqual({ statusCode: 200 });
    expect(await store().get("Bye=")).toBeUndefined();
  });

  it("notify pushes to a user and rejects bad input with a clear error", async () => {
    await open("N1=", authorizerFor("sub-8"));
    expect(await notify({ username: "sub-8@example.com", data: { n: 1 } })).toEqual({
      delivered: 1,
      gone: 0,
      failed: 0,
    });
    expect(gateway.received("N1=")).toEqual([expect.objectContaining({ type: "message", data: { n: 1 } })]);
    await expect(notify({ user: "sub-8", data: 1 })).rejects.toMatchObject({
      name: "InputError",
      code: "validation_failed",
    });
  });

  it("sweep closes connections whose token expired", async () => {
    gateway.open("Stale=");
    await store().register({
      connectionId: "Stale=",
      identity: { userId: "sub-9", username: "sub-9@example.com", groups: [], tokenExp: 1_000, transport: "query" },
      connectedAt: Date.now(),
    });
    const report = await sweep();
    expect(report.closed).toBeGreaterThanOrEqual(1);
    expect(gateway.closed()).toContain("Stale=");
    expect(await store().get("Stale=")).toBeUndefined();
  });
});
