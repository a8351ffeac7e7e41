import { LOCAL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../index";
import {
  CONNECTION_ID_SHAPE,
  type capturingLog,
  EventLog,
  open,
  recording,
  startTestGateway,
  type TestClient,
} from "./harness";

/** Route selection on `$request.body.action`, message event shape, integration failures. */
describe("gateway: messages", () => {
  const events = new EventLog();
  let gateway: Gateway;
  let log: ReturnType<typeof capturingLog>;
  let client: TestClient;

  beforeAll(async () => {
    ({ gateway, log } = await startTestGateway({
      limits: { integrationTimeoutMs: 300 },
      routes: {
        $default: recording(events, "$default"),
        ping: recording(events, "ping", () => ({ statusCode: 200, body: "not sent: no route response" })),
        crash: recording(events, "crash", () => {
          throw new Error("route exploded");
        }),
        hang: recording(events, "hang", () => new Promise(() => {})),
      },
    }));
    client = await open(gateway.url, [], { headers: { "User-Agent": "messages-suite" } });
  });
  afterAll(() => gateway.close());

  it("routes on the action field and sends the MESSAGE proxy event", async () => {
    const body = JSON.stringify({ action: "ping", n: 1 });
    client.send(body);
    const event = await events.next("ping", (e) => e.body === body);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext).toMatchObject({
      routeKey: "ping",
      eventType: "MESSAGE",
      messageDirection: "IN",
      stage: LOCAL.stage,
      apiId: LOCAL.apiId,
      identity: { sourceIp: "127.0.0.1" },
    });
    expect(event.requestContext.messageId).toMatch(CONNECTION_ID_SHAPE);
    expect(event.requestContext.connectionId).toMatch(CONNECTION_ID_SHAPE);
    expect(event.requestContext.requestTimeEpoch).toEqual(expect.any(Number));
    expect(event.requestContext.connectedAt).toEqual(expect.any(Number));
  });

  it.each([
    ["an unknown action", JSON.stringify({ action: "nope" })],
    ["no action", JSON.stringify({ hello: 1 })],
    ["a non-string action", JSON.stringify({ action: 7 })],
    ["a reserved route key as action", JSON.stringify({ action: "$connect" })],
    ["a JSON array", "[1,2]"],
    ["plain text", "just text"],
    ["invalid JSON", "{not json"],
  ])("sends %s to $default", async (_case, body) => {
    client.send(body);
    const event = await events.next("$default", (e) => e.body === body);
    expect(event.requestContext.routeKey).toBe("$default");
  });

  it("sends binary frames to $default base64-encoded", async () => {
    const bytes = Buffer.from([0xff, 0x00, 0x7b, 0x22]);
    client.send(bytes);
    const event = await events.next("$default", (e) => e.isBase64Encoded === true);
    expect(Buffer.from(event.body, "base64")).toEqual(bytes);
  });

  it("does not send an integration's body back (one-way routes, as deployed)", async () => {
    client.send(JSON.stringify({ action: "ping" }));
    client.send(JSON.stringify({ action: "crash", marker: "after-ping" }));
    // The next frame the client sees is the crash's error frame, not the ping's body.
    const frame = await client.nextJson();
    expect(frame.message).toBe("Internal server error");
  });

  it("answers a failing integration with AWS's error frame, logs one line, and keeps the connection", async () => {
    client.send(JSON.stringify({ action: "crash", marker: "m1" }));
    const event = await events.next("crash", (e) => e.body.includes("m1"));
    const frame = await client.nextJson();
    expect(frame).toEqual({
      message: "Internal server error",
      connectionId: event.requestContext.connectionId,
      requestId: expect.any(String),
    });
    const lines = log.lines.filter(
      (line) => line.fields?.requestId === frame.requestId && line.fields?.routeKey === "crash",
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "error",
      fields: { handler: "wsauth-local-crash", error: "Error: route exploded" },
    });
    // Still open and served.
    client.send(JSON.stringify({ action: "ping", marker: "still-open" }));
    await events.next("ping", (e) => e.body.includes("still-open"));
  });

  it("answers a timed-out integration with the error frame", async () => {
    client.send(JSON.stringify({ action: "hang" }));
    const frame = await client.nextJson();
    expect(frame.message).toBe("Internal server error");
    const line = log.lines.find((entry) => entry.fields?.requestId === frame.requestId);
    expect(line).toMatchObject({ message: "integration timed out", fields: { routeKey: "hang" } });
  });
});

describe("gateway: no $default route", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({ routes: { ping: recording(events, "ping") } }));
  });
  afterAll(() => gateway.close());

  it("answers an unmatched message with a Forbidden error frame and keeps the connection", async () => {
    const client = await open(gateway.url);
    client.send(JSON.stringify({ action: "unknown" }));
    const frame = await client.nextJson();
    expect(frame).toEqual({ message: "Forbidden", connectionId: expect.any(String), requestId: expect.any(String) });
    client.send("not json at all");
    expect((await client.nextJson()).message).toBe("Forbidden");
    client.send(JSON.stringify({ action: "ping" }));
    const event = await events.next("ping");
    expect(event.requestContext.connectionId).toBe(frame.connectionId);
    client.socket.close();
  });
});

describe("gateway: route responses enabled", () => {
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      routeResponses: true,
      routes: { $default: async (event) => ({ statusCode: 200, body: `echo:${event.body}` }) },
    }));
  });
  afterAll(() => gateway.close());

  it("sends the integration's body back to the client", async () => {
    const client = await open(gateway.url);
    client.send("hi");
    expect((await client.next()).data).toBe("echo:hi");
    client.socket.close();
  });
});
