import { PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import {
  connectionIdOf,
  EventLog,
  managementClient,
  open,
  recording,
  startTestGateway,
  type TestClient,
} from "./conformance/harness";
import type { Gateway } from "./index";

/** What a hostile or broken client can do to the gateway: it must affect nobody but itself. */
describe("gateway: hostile clients", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      routes: {
        $connect: recording(events, "$connect"),
        $default: recording(events, "$default"),
        $disconnect: recording(events, "$disconnect"),
        ping: recording(events, "ping"),
      },
    }));
  });
  afterAll(() => gateway.close());

  it("accepts headers and query parameters named after Object.prototype members, as plain values", async () => {
    const client = await open(`${gateway.url}?toString=1&constructor=2&constructor=3&__proto__=4`, [], {
      headers: { constructor: "c", valueOf: "v" },
    });
    const event = await events.next("$connect", (e) => e.queryStringParameters?.toString === "1");
    expect(event.queryStringParameters).toMatchObject({ toString: "1", constructor: "3" });
    expect(event.multiValueQueryStringParameters?.constructor).toEqual(["2", "3"]);
    expect(event.headers?.constructor).toBe("c");
    expect(event.multiValueHeaders?.valueOf).toEqual(["v"]);
    client.socket.close();
  });

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"])(
    "routes an action named after an Object.prototype member (%s) to $default",
    async (action) => {
      const client = await open(gateway.url);
      const body = JSON.stringify({ action, marker: Math.random() });
      client.send(body);
      const event = await events.next("$default", (e) => e.body === body);
      expect(event.requestContext.routeKey).toBe("$default");
      client.socket.close();
    },
  );

  it("answers @connections POSTs for a client that stopped reading, and keeps serving the others", async () => {
    const stalled = await open(gateway.url);
    const healthy: TestClient = await open(gateway.url);
    const [stalledId, healthyId] = [await connectionIdOf(stalled, events), await connectionIdOf(healthy, events)];
    // The client's socket stops reading: the kernel buffers fill up, then nothing more is written.
    (stalled.socket as WebSocket & { _socket: { pause(): void } })._socket.pause();
    const management = managementClient(gateway);
    const chunk = Buffer.alloc(100 * 1024, "x");
    // Far more than loopback socket buffers hold; every POST must still get an answer.
    const outcomes: string[] = [];
    const post = async () => {
      try {
        await management.send(new PostToConnectionCommand({ ConnectionId: stalledId, Data: chunk }));
        outcomes.push("delivered");
      } catch (error) {
        outcomes.push((error as Error).name);
      }
    };
    // Eight senders at a time, 160 POSTs in all.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let sent = 0; sent < 20; sent++) await post();
      }),
    );
    expect(new Set(outcomes)).toEqual(new Set(["delivered", "GoneException"]));
    // It was dropped as a slow consumer and got its $disconnect; the other connection is unaffected.
    expect((await events.disconnectOf(stalledId)).requestContext.disconnectStatusCode).toBe(1001);
    await management.send(new PostToConnectionCommand({ ConnectionId: healthyId, Data: Buffer.from('"still here"') }));
    expect((await healthy.next()).data).toBe('"still here"');
    management.destroy();
    healthy.socket.close();
  });
});
