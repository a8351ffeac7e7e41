import { LOCAL, SUBPROTOCOL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../index";
import { type capturingLog, connect, EventLog, open, recording, startTestGateway } from "./harness";

/**
 * The `$connect` integration: its status decides the upgrade, its headers go on the 101 response,
 * subprotocol selection works as on AWS. The handler's behaviour is chosen by the `mode` query parameter.
 */
describe("gateway: $connect integration", () => {
  const events = new EventLog();
  let gateway: Gateway;
  let log: ReturnType<typeof capturingLog>;

  beforeAll(async () => {
    ({ gateway, log } = await startTestGateway({
      limits: { integrationTimeoutMs: 300 },
      routes: {
        $connect: recording(events, "$connect", (event) => {
          const offered = String(event.headers["Sec-WebSocket-Protocol"] ?? "")
            .split(",")
            .map((item: string) => item.trim());
          switch (event.queryStringParameters?.mode) {
            case "select":
              return offered.includes(SUBPROTOCOL)
                ? { statusCode: 200, headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL, "X-Connect-Extra": "yes" } }
                : { statusCode: 400 };
            case "no-select":
              return { statusCode: 200 };
            case "nothing":
              return undefined;
            case "forbidden":
              return { statusCode: 403, body: "go away" };
            case "bad-request":
              return { statusCode: 400 };
            case "crash":
              throw new Error("connect exploded");
            case "hang":
              return new Promise(() => {});
            case "malformed":
              return { statusCode: "two hundred" };
            default:
              return { statusCode: 200 };
          }
        }),
        $disconnect: recording(events, "$disconnect"),
        $default: recording(events, "$default"),
      },
    }));
  });
  afterAll(() => gateway.close());

  it("sends the $connect proxy event with headers, query and connection facts", async () => {
    const client = await open(`${gateway.url}?mode=plain&x=1&x=2`, [], { headers: { "X-Trace": "t-1" } });
    const event = await events.next("$connect", (e) => e.headers["X-Trace"] === "t-1");
    expect(event.isBase64Encoded).toBe(false);
    expect(event.queryStringParameters).toEqual({ mode: "plain", x: "2" });
    expect(event.multiValueQueryStringParameters).toEqual({ mode: ["plain"], x: ["1", "2"] });
    expect(event.multiValueHeaders["X-Trace"]).toEqual(["t-1"]);
    expect(event.requestContext).toMatchObject({
      routeKey: "$connect",
      eventType: "CONNECT",
      stage: LOCAL.stage,
      apiId: LOCAL.apiId,
      messageDirection: "IN",
    });
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(gateway.connectionCount()).toBeGreaterThanOrEqual(1);
    client.socket.close();
  });

  it("puts the integration's headers, including the selected subprotocol, on the 101 response", async () => {
    const client = await open(`${gateway.url}?mode=select`, [SUBPROTOCOL, "eyJ.fake.token"]);
    expect(client.socket.protocol).toBe(SUBPROTOCOL);
    expect(client.upgradeHeaders["x-connect-extra"]).toBe("yes");
    expect(client.upgradeHeaders["sec-websocket-protocol"]).toBe(SUBPROTOCOL);
    client.socket.close();
  });

  it("answers no subprotocol when the integration selects none, so the client fails the handshake", async () => {
    const result = await connect(`${gateway.url}?mode=no-select`, [SUBPROTOCOL, "eyJ.fake.token"]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error?.message).toMatch(/no subprotocol/);
    // The upgrade itself completed on the gateway's side, so the connection still gets its $disconnect.
    const connectEvent = await events.next("$connect", (e) => e.queryStringParameters?.mode === "no-select");
    const disconnect = await events.disconnectOf(connectEvent.requestContext.connectionId);
    expect(disconnect.requestContext.disconnectStatusCode).toBe(1006);
  });

  it("accepts when the integration returns nothing (a successful invocation)", async () => {
    const client = await open(`${gateway.url}?mode=nothing`);
    client.socket.close();
  });

  it.each([
    ["forbidden", 403, "go away"],
    ["bad-request", 400, undefined],
  ])("refuses the upgrade with the integration's status (%s)", async (mode, status, body) => {
    const result = await connect(`${gateway.url}?mode=${mode}`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(status);
    if (body) expect(result.body).toBe(body);
  });

  it.each(["crash", "hang", "malformed"])(
    "answers 500 when the integration fails (%s) and keeps serving",
    async (mode) => {
      const result = await connect(`${gateway.url}?mode=${mode}`);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.status).toBe(500);
      const client = await open(`${gateway.url}?mode=plain`);
      client.socket.close();
    },
  );

  it("logs one line naming route and handler when $connect throws", async () => {
    await connect(`${gateway.url}?mode=crash`);
    const line = log.lines.find((entry) => entry.fields?.error === "Error: connect exploded");
    expect(line).toMatchObject({
      level: "error",
      message: "integration failed",
      fields: { routeKey: "$connect", handler: "wsauth-local-connect" },
    });
  });

  it("refuses upgrades outside the stage path", async () => {
    const result = await connect(gateway.url.replace(`/${LOCAL.stage}`, "/other"));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.status).toBe(403);
  });
});

describe("gateway: without $connect route", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    ({ gateway } = await startTestGateway({ routes: {} }));
  });
  afterAll(() => gateway.close());

  it("accepts connections and serves a trailing-slash stage URL", async () => {
    const client = await open(`${gateway.url}/`);
    expect(gateway.connectionCount()).toBe(1);
    client.socket.close();
    await client.closed;
  });
});
