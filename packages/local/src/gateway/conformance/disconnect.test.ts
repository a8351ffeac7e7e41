import { DeleteConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../index";
import { connectionIdOf, EventLog, managementClient, open, recording, startTestGateway } from "./harness";

/** `$disconnect` arrives exactly once for every way a connection can end, with status code and reason. */
describe("gateway: $disconnect", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      routes: {
        $disconnect: recording(events, "$disconnect"),
        $default: recording(events, "$default"),
      },
    }));
  });
  afterAll(() => gateway.close());

  it("reports the client's close code and reason, with the DISCONNECT event shape", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    client.socket.close(4001, "bye now");
    const event = await events.disconnectOf(connectionId);
    expect(event.requestContext).toMatchObject({
      routeKey: "$disconnect",
      eventType: "DISCONNECT",
      connectionId,
      disconnectStatusCode: 4001,
      disconnectReason: "bye now",
    });
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers.Host).toEqual(expect.any(String));
  });

  it("reports 1005 for a close frame without a status", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    client.socket.close();
    expect((await events.disconnectOf(connectionId)).requestContext.disconnectStatusCode).toBe(1005);
  });

  it("reports 1006 when the socket ends without a close frame", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    client.socket.terminate();
    expect((await events.disconnectOf(connectionId)).requestContext.disconnectStatusCode).toBe(1006);
  });

  it("closes on DELETE @connections, and calls $disconnect once even when the client closes too", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    await managementClient(gateway).send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    const closed = await client.closed;
    expect(closed.code).toBe(1000);
    await events.disconnectOf(connectionId);
    // A probe on a fresh connection orders this check after any late duplicate would have arrived.
    const other = await open(gateway.url);
    const otherId = await connectionIdOf(other, events);
    other.socket.close();
    await events.disconnectOf(otherId);
    expect(events.of("$disconnect").filter((e) => e.requestContext.connectionId === connectionId)).toHaveLength(1);
  });
});

describe("gateway: idle timeout", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      limits: { idleTimeoutMs: 150 },
      routes: { $disconnect: recording(events, "$disconnect"), $default: recording(events, "$default") },
    }));
  });
  afterAll(() => gateway.close());

  it("closes an idle connection with 1001 and reports it to $disconnect", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    expect(await client.closed).toEqual({ code: 1001, reason: "Going away" });
    const event = await events.disconnectOf(connectionId);
    expect(event.requestContext.disconnectStatusCode).toBe(1001);
    expect(event.requestContext.disconnectReason).toBe("Going away");
  });
});

describe("gateway: connection lifetime cap", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      limits: { connectionLifetimeMs: 150 },
      routes: { $disconnect: recording(events, "$disconnect"), $default: recording(events, "$default") },
    }));
  });
  afterAll(() => gateway.close());

  it("closes a connection at the lifetime cap with 1001", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    expect((await client.closed).code).toBe(1001);
    expect((await events.disconnectOf(connectionId)).requestContext.disconnectStatusCode).toBe(1001);
  });
});

describe("gateway: close()", () => {
  it("gives every open socket its $disconnect before it resolves, and closes clients with 1001", async () => {
    const events = new EventLog();
    const finished: string[] = [];
    const { gateway } = await startTestGateway({
      routes: {
        $default: recording(events, "$default"),
        $disconnect: async (event) => {
          // A slow handler: close() must still wait for it.
          await new Promise((resolve) => setImmediate(resolve));
          finished.push(event.requestContext.connectionId);
        },
      },
    });
    const clients = await Promise.all([open(gateway.url), open(gateway.url), open(gateway.url)]);
    const ids = await Promise.all(clients.map((client) => connectionIdOf(client, events)));
    await gateway.close();
    expect(finished.sort()).toEqual([...ids].sort());
    for (const client of clients) expect((await client.closed).code).toBe(1001);
    expect(gateway.connectionCount()).toBe(0);
  });

  it("survives a $disconnect handler that throws, logging it", async () => {
    const events = new EventLog();
    const { gateway, log } = await startTestGateway({
      routes: {
        $default: recording(events, "$default"),
        $disconnect: async () => {
          throw new Error("disconnect exploded");
        },
      },
    });
    const client = await open(gateway.url);
    await connectionIdOf(client, events);
    await gateway.close();
    const line = log.lines.find((entry) => entry.fields?.routeKey === "$disconnect");
    expect(line).toMatchObject({ level: "error", fields: { error: "Error: disconnect exploded" } });
  });
});
