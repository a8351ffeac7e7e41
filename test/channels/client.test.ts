import { type ChannelMessage, ServerError, type SocketStatus, WsAuthClient } from "@wsauth/client";
import { signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect, type RealtimeClient } from "../../bench/lib/clients";
import { startTcpRelay, type TcpRelay } from "../helpers/tcp-relay";

// `@wsauth/client` on Node (with `ws`) against the whole local stack; a TCP relay in front of the
// gateway plays a dropped network.

const until = async (check: () => boolean, what: string) => {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe("@wsauth/client against the local stack", () => {
  let stack: TestStack;
  let relay: TcpRelay;
  let client: WsAuthClient;
  let publisher: RealtimeClient;
  let tokens: { alice: string; bob: string };

  beforeAll(async () => {
    stack = await startTestStack();
    const [alice, bob] = await Promise.all([signInDemoUser(stack.outputs, 0), signInDemoUser(stack.outputs, 1)]);
    tokens = { alice: alice.idToken, bob: bob.idToken };
    const gateway = new URL(stack.outputs.webSocketUrl);
    relay = await startTcpRelay({ host: gateway.hostname, port: Number(gateway.port) });
    const url = new URL(stack.outputs.webSocketUrl);
    url.port = String(relay.port);
    client = new WsAuthClient({
      url: url.toString(),
      getToken: async () => ({ token: tokens.alice, expiresAt: Date.now() + 3_600_000 }),
      WebSocket: WebSocket as unknown as ConstructorParameters<typeof WsAuthClient>[0]["WebSocket"],
      backoff: { baseMs: 100, maxMs: 400, minMs: 50 },
    });
    client.start();
    publisher = await connect(stack.outputs.webSocketUrl, tokens.bob);
    await until(() => client.status.state === "open", "the client to connect");
  });
  afterAll(async () => {
    client?.close();
    publisher?.vanish();
    await relay?.stop();
    await stack?.stop();
  });

  it("answers whoami, publish and sendTo with typed results; refusals reject with the code", async () => {
    const identity = await client.whoami();
    expect(identity).toMatchObject({ type: "identity", username: "alice@example.com", transport: "subprotocol" });
    expect(await client.publish("public/sdk-receipts", { n: 1 })).toEqual({ seq: 1 });
    expect(await client.sendTo("bob@example.com", "hi")).toMatchObject({ type: "sent", delivered: 1 });
    await expect(client.publish(`user/${identity.userId}`, 1)).rejects.toEqual(
      expect.objectContaining({ name: "ServerError", code: "forbidden" }),
    );
    await expect(client.publish("not-a-channel", 1)).rejects.toThrow(/segments/);
    expect(ServerError).toBeDefined();
  });

  it("resubscribes after a dropped network with `since`: every event once, in order", async () => {
    const channel = "public/sdk";
    const seen: ChannelMessage[] = [];
    const statuses: SocketStatus["state"][] = [];
    const stopStatus = client.subscribeStatus(() => statuses.push(client.status.state));
    const unsubscribe = client.subscribe(channel, (message) => seen.push(message));
    await until(() => seen.some((m) => m.type === "subscribed"), "subscribed");
    const publish = (n: number) =>
      publisher.request({ action: "publish", channel, data: n }, (f) => f.type === "published");
    for (let n = 1; n <= 3; n++) await publish(n);
    await until(() => seen.filter((m) => m.type === "event").length === 3, "three live events");

    await relay.cut();
    await until(() => statuses.includes("reconnecting"), "the client to notice the drop");
    for (let n = 4; n <= 6; n++) await publish(n);
    await relay.restore();
    await until(() => seen.filter((m) => m.type === "event").length === 6, "the replay after the reconnect");
    await publish(7);
    await until(() => seen.filter((m) => m.type === "event").length === 7, "a live event after the replay");

    const events = seen.filter((m) => m.type === "event");
    expect(events.map((m) => [m.seq, m.data])).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => [n, n]));
    expect(seen.some((m) => m.type === "gap")).toBe(false);
    unsubscribe();
    stopStatus();
  });
});
