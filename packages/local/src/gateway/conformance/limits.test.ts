import { LIMITS } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../index";
import { connectionIdOf, EventLog, open, recording, startTestGateway, type TestClient } from "./harness";

/** Frame limit (32 KB per frame) and message limit (128 KB per message), with AWS's defaults. */
describe("gateway: frame and message limits", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      routes: { $default: recording(events, "$default"), $disconnect: recording(events, "$disconnect") },
    }));
  });
  afterAll(() => gateway.close());

  /** Sends `text` as fragments of at most `frameBytes` each (one message). */
  function sendFragmented(client: TestClient, text: string, frameBytes: number) {
    for (let offset = 0; offset < text.length; offset += frameBytes) {
      const fin = offset + frameBytes >= text.length;
      client.socket.send(text.slice(offset, offset + frameBytes), { fin });
    }
  }

  it("accepts a 100 KB message sent in 32 KB frames", async () => {
    const client = await open(gateway.url);
    const text = `big:${"x".repeat(100 * 1024)}`;
    sendFragmented(client, text, LIMITS.frameBytes);
    const event = await events.next("$default", (e) => e.body.startsWith("big:"));
    expect(event.body.length).toBe(text.length);
    client.socket.close();
  });

  it("accepts a single frame of exactly 32 KB", async () => {
    const client = await open(gateway.url);
    const text = `edge:${"y".repeat(LIMITS.frameBytes - 5)}`;
    client.send(text);
    const event = await events.next("$default", (e) => e.body.startsWith("edge:"));
    expect(event.body.length).toBe(LIMITS.frameBytes);
    client.socket.close();
  });

  it("closes with 1009 on a single frame over 32 KB, without invoking the route", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    client.send(`frame:${"z".repeat(LIMITS.frameBytes)}`);
    expect((await client.closed).code).toBe(1009);
    const disconnect = await events.disconnectOf(connectionId);
    expect(disconnect.requestContext.disconnectStatusCode).toBe(1009);
    expect(events.of("$default").filter((e) => e.body.startsWith("frame:"))).toHaveLength(0);
  });

  it("closes with 1009 on a message over 128 KB even in small frames", async () => {
    const client = await open(gateway.url);
    const connectionId = await connectionIdOf(client, events);
    sendFragmented(client, `huge:${"w".repeat(LIMITS.messagePayloadBytes)}`, 16 * 1024);
    expect((await client.closed).code).toBe(1009);
    expect((await events.disconnectOf(connectionId)).requestContext.disconnectStatusCode).toBe(1009);
    expect(events.of("$default").filter((e) => e.body.startsWith("huge:"))).toHaveLength(0);
  });
});

describe("gateway: configurable limits", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      limits: { frameBytes: 1024, messagePayloadBytes: 4096 },
      routes: { $default: recording(events, "$default") },
    }));
  });
  afterAll(() => gateway.close());

  it("applies smaller frame limits", async () => {
    const client = await open(gateway.url);
    client.send("a".repeat(1025));
    expect((await client.closed).code).toBe(1009);
  });
});

describe("gateway: limit options", () => {
  it("keeps the default for a limit passed as undefined", async () => {
    const events = new EventLog();
    const { gateway } = await startTestGateway({
      limits: { idleTimeoutMs: undefined },
      routes: { $default: recording(events, "$default") },
    });
    const client = await open(gateway.url);
    // An undefined idle timeout must not become a ~1 ms one: the connection outlives a round trip.
    client.send("still here");
    await events.next("$default");
    await new Promise((resolve) => setImmediate(resolve));
    expect(gateway.connectionCount()).toBe(1);
    client.socket.close();
    await client.closed;
    await gateway.close();
  });

  it("refuses a limit that is not a positive number", async () => {
    await expect(startTestGateway({ limits: { frameBytes: 0 }, routes: {} })).rejects.toThrow(/frameBytes/);
  });
});
