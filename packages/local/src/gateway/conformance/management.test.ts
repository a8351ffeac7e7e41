import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { LIMITS, LOCAL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { occupyPort } from "../../testing/index";
import { type Gateway, startGateway } from "../index";
import { capturingLog, connectionIdOf, EventLog, managementClient, open, recording, startTestGateway } from "./harness";

/** The `@connections` API, driven by the unchanged AWS SDK client. */
describe("gateway: @connections management API", () => {
  const events = new EventLog();
  let gateway: Gateway;
  let sdk: ReturnType<typeof managementClient>;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      routes: { $default: recording(events, "$default"), $disconnect: recording(events, "$disconnect") },
    }));
    sdk = managementClient(gateway);
  });
  afterAll(async () => {
    sdk.destroy();
    await gateway.close();
  });

  it("serves the management endpoint under the stage path of the WebSocket port", () => {
    expect(gateway.managementEndpoint).toBe(`http://127.0.0.1:${gateway.port}/${LOCAL.stage}`);
    expect(gateway.url).toBe(`ws://127.0.0.1:${gateway.port}/${LOCAL.stage}`);
  });

  it("POST sends UTF-8 data as a text frame", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify({ type: "pong" }) }));
    expect(await client.next()).toEqual({ data: '{"type":"pong"}', isBinary: false });
    client.socket.close();
  });

  it("POST sends data that is not UTF-8 as a binary frame", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x01]);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: bytes }));
    const received = await client.next();
    expect(received.isBinary).toBe(true);
    expect(Buffer.from(received.data, "base64")).toEqual(Buffer.from(bytes));
    client.socket.close();
  });

  it("POST over 128 KB raises PayloadTooLargeException and leaves the connection open", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    const data = "p".repeat(LIMITS.messagePayloadBytes + 1);
    const error = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect(error.$metadata.httpStatusCode).toBe(413);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "small" }));
    expect((await client.next()).data).toBe("small");
    client.socket.close();
  });

  it("GET describes the connection", async () => {
    const client = await open(gateway.url, [], { headers: { "User-Agent": "mgmt-suite" } });
    const connectionId = await connectionIdOf(client, events);
    const description = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(description.ConnectedAt).toBeInstanceOf(Date);
    expect(description.LastActiveAt).toBeInstanceOf(Date);
    expect(description.Identity).toEqual({ SourceIp: "127.0.0.1", UserAgent: "mgmt-suite" });
    expect(description.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(description.ConnectedAt?.getTime() ?? 0);
    client.socket.close();
  });

  it("DELETE answers 204, closes the socket and runs $disconnect", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    const result = await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    expect(result.$metadata.httpStatusCode).toBe(204);
    await client.closed;
    await events.disconnectOf(connectionId);
  });

  it.each([
    ["POST", () => new PostToConnectionCommand({ ConnectionId: "AAAAAAAAAAAAAAA=", Data: "x" })],
    ["GET", () => new GetConnectionCommand({ ConnectionId: "AAAAAAAAAAAAAAA=" })],
    ["DELETE", () => new DeleteConnectionCommand({ ConnectionId: "AAAAAAAAAAAAAAA=" })],
  ])("%s on an unknown connection raises GoneException (410)", async (_method, command) => {
    // biome-ignore lint/suspicious/noExplicitAny: the three commands have different output types.
    const error = await sdk.send(command() as any).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
    expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
  });

  it("raises GoneException for a connection that has closed", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    client.socket.close();
    await events.disconnectOf(connectionId);
    const error = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "late" }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(GoneException);
  });

  it("decodes URL-encoded connection ids ('+', '/', '=')", async () => {
    // The SDK encodes these characters; every connection id (whatever characters it has) must round-trip.
    const clients = await Promise.all(Array.from({ length: 6 }, () => open(gateway.url)));
    const ids = await Promise.all(clients.map((client) => connectionIdOf(client, events)));
    for (const [index, connectionId] of ids.entries()) {
      await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: `to-${index}` }));
      expect((await clients[index]?.next())?.data).toBe(`to-${index}`);
    }
    // A signed request for an id with those characters that is not open: decoded, then unknown.
    const error = await sdk.send(new GetConnectionCommand({ ConnectionId: "ab+c/d=" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
    for (const client of clients) client.socket.close();
  });

  it("refuses requests without a SigV4 Authorization header with 403", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    const response = await fetch(`${gateway.managementEndpoint}/@connections/${encodeURIComponent(connectionId)}`, {
      method: "POST",
      body: "unsigned",
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: "Missing Authentication Token" });
    client.send("probe-after-403");
    await events.next("$default", (e) => e.body === "probe-after-403");
    client.socket.close();
  });

  it("answers 404 outside the stage's @connections path", async () => {
    const response = await fetch(`http://127.0.0.1:${gateway.port}/other/@connections/x`, {
      headers: { Authorization: "AWS4-HMAC-SHA256 x" },
    });
    expect(response.status).toBe(404);
  });
});

describe("gateway: start-up", () => {
  it("reports a port in use with one clear line and the fix", async () => {
    const { port, release } = await occupyPort();
    try {
      const failure = await startGateway({ port, routes: {}, log: capturingLog() }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toBe(`port ${port} is in use: stop the other process or pass --gateway-port`);
      expect((failure as NodeJS.ErrnoException).code).toBe("EADDRINUSE");
    } finally {
      await release();
    }
  });

  it("uses the stage, region, account and api id it is given", async () => {
    const events = new EventLog();
    const { gateway } = await startTestGateway({
      stage: "dev",
      region: "eu-west-1",
      accountId: "123456789012",
      apiId: "abc123",
      authorizer: recording(events, "authorizer", (event) => ({
        principalId: "p",
        policyDocument: { Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: event.methodArn }] },
      })),
      routes: {},
    });
    expect(gateway.url).toMatch(/\/dev$/);
    const client = await open(gateway.url);
    const event = await events.next("authorizer");
    expect(event.methodArn).toBe("arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/$connect");
    client.socket.close();
    await gateway.close();
  });

  it("hot-swaps handlers with setRoutes", async () => {
    const events = new EventLog();
    const { gateway } = await startTestGateway({ routes: { $default: recording(events, "old") } });
    const client = await open(gateway.url);
    client.send("one");
    await events.next("old", (e) => e.body === "one");
    gateway.setRoutes({ $default: recording(events, "new") });
    client.send("two");
    await events.next("new", (e) => e.body === "two");
    expect(events.of("old").map((e) => e.body)).toEqual(["one"]);
    client.socket.close();
    await gateway.close();
  });
});
