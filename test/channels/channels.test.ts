import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { localDynamoClient } from "@wsauth/local/dynamo";
import { signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Frame, type RealtimeClient } from "../../bench/lib/clients";
import { pnpmWs } from "../helpers/pnpm-ws";

// Black-box: raw sockets against the whole local stack (gateway, real handlers, dynalite, Cognito).

const ROW_KINDS = ["connection", "subscription", "presence"];

describe("channels through the local stack", () => {
  let stack: TestStack;
  let tokens: { alice: string; bob: string };
  let ids: { alice: string; bob: string };
  const opened: RealtimeClient[] = [];

  async function open(who: "alice" | "bob"): Promise<RealtimeClient> {
    const client = await connect(stack.outputs.webSocketUrl, tokens[who]);
    opened.push(client);
    return client;
  }
  /** Sends a frame and waits for the reply of the given type (or an error). */
  const ask = (client: RealtimeClient, frame: Record<string, unknown>, type: string) =>
    client.request(frame, (reply) => reply.type === type || reply.type === "error");
  const subscribe = (client: RealtimeClient, channel: string, since?: number) =>
    ask(client, { action: "subscribe", channel, ...(since === undefined ? {} : { since }) }, "subscribed");
  const eventsOf = (client: RealtimeClient, channel: string) =>
    client.frames.filter((frame) => frame.type === "event" && frame.channel === channel);
  const waitFor = async (check: () => boolean, what: string) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      if (check()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  async function liveRows(): Promise<Record<string, number>> {
    const client = localDynamoClient(stack.outputs.dynamoEndpoint);
    try {
      const { Items = [] } = await client.send(new ScanCommand({ TableName: stack.outputs.tableName }));
      const counts: Record<string, number> = {};
      for (const item of Items) {
        const kind = item.__edb_e__?.S ?? "?";
        if (ROW_KINDS.includes(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
      }
      return counts;
    } finally {
      client.destroy();
    }
  }

  beforeAll(async () => {
    stack = await startTestStack();
    const [alice, bob] = await Promise.all([signInDemoUser(stack.outputs, 0), signInDemoUser(stack.outputs, 1)]);
    tokens = { alice: alice.idToken, bob: bob.idToken };
    const [a, b] = await Promise.all([open("alice"), open("bob")]);
    const whoA = await a.request({ action: "whoami" }, (frame) => frame.type === "identity");
    const whoB = await b.request({ action: "whoami" }, (frame) => frame.type === "identity");
    ids = { alice: String(whoA.userId), bob: String(whoB.userId) };
  });
  afterAll(async () => {
    for (const client of opened) client.vanish();
    await stack?.stop();
  });

  it("subscribe, publish, event, unsubscribe: the frames exactly as specified", async () => {
    const [alice, bob] = [await open("alice"), await open("bob")];
    expect(await subscribe(alice, "public/spec")).toEqual({ type: "subscribed", channel: "public/spec", seq: 0 });
    await subscribe(bob, "public/spec");
    const published = await ask(bob, { action: "publish", channel: "public/spec", data: { n: 1 } }, "published");
    expect(published).toEqual({ type: "published", channel: "public/spec", seq: 1, jobs: 0 });
    for (const client of [alice, bob]) {
      const event = await client.next((frame) => frame.type === "event" && frame.channel === "public/spec");
      expect(event).toEqual({
        type: "event",
        channel: "public/spec",
        seq: 1,
        from: { userId: ids.bob, username: "bob@example.com" },
        data: { n: 1 },
        sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    }
    expect(await ask(alice, { action: "unsubscribe", channel: "public/spec" }, "unsubscribed")).toEqual({
      type: "unsubscribed",
      channel: "public/spec",
    });
    await ask(bob, { action: "publish", channel: "public/spec", data: 2 }, "published");
    await bob.next((frame) => frame.type === "event" && frame.seq === 2);
    await ask(alice, { action: "ping" }, "pong"); // anything for alice has arrived by now
    expect(eventsOf(alice, "public/spec").map((frame) => frame.seq)).toEqual([1]);
  });

  it("bad channel names and frames get error frames with stable codes", async () => {
    const client = await open("bob");
    const cases: Array<[Record<string, unknown> | string, string]> = [
      [{ action: "subscribe", channel: "public" }, "validation_failed"],
      [{ action: "subscribe", channel: "a/b/c/d/e/f" }, "validation_failed"],
      [{ action: "subscribe", channel: "public/has space" }, "validation_failed"],
      [{ action: "subscribe", channel: "public/x", since: -1 }, "validation_failed"],
      [{ action: "publish", channel: "public/x" }, "validation_failed"],
      [{ action: "publish", channel: "public/x", data: 1, from: "spoof" }, "validation_failed"],
      [{ action: "unsubscribe", channel: "public/x/" }, "validation_failed"],
    ];
    for (const [frame, code] of cases) {
      const reply = await client.request(frame, (f) => f.type === "error");
      expect(reply, JSON.stringify(frame).slice(0, 80)).toMatchObject({ type: "error", code });
    }
    expect(client.open).toBe(true);
  });

  it("holds the rules table for all four namespaces", async () => {
    const [alice, bob] = [await open("alice"), await open("bob")]; // alice is in `admins`, bob is not
    const outcome = async (client: RealtimeClient, frame: Record<string, unknown>) => {
      const reply = await client.request(frame, (f) => ["subscribed", "published", "error"].includes(String(f.type)));
      return reply.type === "error" ? String(reply.code) : "allowed";
    };
    const table: Array<[RealtimeClient, string, string, string]> = [
      [bob, "subscribe", "public/rules", "allowed"],
      [bob, "publish", "public/rules", "allowed"],
      [bob, "subscribe", "presence/rules", "allowed"],
      [bob, "publish", "presence/rules", "allowed"],
      [alice, "subscribe", "group/admins/rules", "allowed"],
      [alice, "publish", "group/admins/rules", "allowed"],
      [bob, "subscribe", "group/admins/rules", "forbidden"],
      [bob, "publish", "group/admins/rules", "forbidden"],
      [bob, "subscribe", `user/${ids.bob}`, "allowed"],
      [bob, "publish", `user/${ids.bob}`, "forbidden"],
      [alice, "subscribe", `user/${ids.bob}`, "forbidden"],
      [bob, "subscribe", "private/rules", "forbidden"],
      [bob, "publish", "private/rules", "forbidden"],
    ];
    for (const [client, action, channel, expected] of table) {
      const frame = { action, channel, ...(action === "publish" ? { data: "x" } : {}) };
      expect(await outcome(client, frame), `${action} ${channel}`).toBe(expected);
    }
  });

  it("presence: members on subscribe, join and leave on transitions only, also after an abrupt drop", async () => {
    const channel = "presence/room";
    const watcher = await open("bob");
    const joined = await subscribe(watcher, channel);
    expect(joined.members).toEqual([{ userId: ids.bob, username: "bob@example.com" }]);
    const presenceOf = () =>
      watcher.frames.filter((f) => f.type === "presence").map((f) => `${f.event}:${(f.member as Frame).userId}`);

    const [tab1, tab2] = [await open("alice"), await open("alice")];
    const first = await subscribe(tab1, channel);
    expect(first.members).toHaveLength(2);
    await subscribe(tab2, channel); // a second tab of a user already present: no join
    await ask(tab1, { action: "unsubscribe", channel }, "unsubscribed"); // one tab left: no leave
    await ask(watcher, { action: "ping" }, "pong");
    expect(presenceOf()).toEqual([`join:${ids.alice}`]);
    expect(await watcher.next((f) => f.type === "presence")).toMatchObject({
      channel,
      event: "join",
      member: { userId: ids.alice, username: "alice@example.com" },
    });

    tab2.vanish(); // TCP gone, no close frame: the gateway's $disconnect removes her last connection
    await waitFor(() => presenceOf().length === 2, "the leave after an abrupt drop");
    expect(presenceOf()).toEqual([`join:${ids.alice}`, `leave:${ids.alice}`]);
  });

  it("recovers across a terminated socket: no loss, no duplicates, in order", async () => {
    const channel = "public/recovery";
    const publisher = await open("bob");
    let reader = await open("alice");
    await subscribe(reader, channel);
    for (let n = 1; n <= 3; n++) await ask(publisher, { action: "publish", channel, data: n }, "published");
    await waitFor(() => eventsOf(reader, channel).length === 3, "the first three events");
    const lastSeen = Number(eventsOf(reader, channel).at(-1)?.seq);
    reader.vanish();
    for (let n = 4; n <= 8; n++) await ask(publisher, { action: "publish", channel, data: n }, "published");

    reader = await open("alice");
    expect(await subscribe(reader, channel, lastSeen)).toEqual({ type: "subscribed", channel, seq: 8 });
    await waitFor(() => eventsOf(reader, channel).length === 5, "the replay");
    await ask(publisher, { action: "publish", channel, data: 9 }, "published");
    await waitFor(() => eventsOf(reader, channel).length === 6, "the live event");
    const frames = reader.frames.filter((f) => f.channel === channel);
    expect(frames.map((f) => (f.type === "event" ? f.data : f.type))).toEqual(["subscribed", 4, 5, 6, 7, 8, 9]);
    expect(frames.slice(1).map((f) => f.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(frames.some((f) => f.type === "gap")).toBe(false);
  });

  it("pnpm ws publish reaches the subscribers of a user channel", async () => {
    const bob = await open("bob");
    await subscribe(bob, `user/${ids.bob}`);
    const published = await pnpmWs(stack.stateDir, "publish", `user/${ids.bob}`, '{"hello":"inbox"}');
    expect({ code: published.code, err: published.err }).toEqual({ code: 0, err: "" });
    // Every socket of bob's subscribed to his inbox got it (an earlier test subscribed one too).
    expect(JSON.parse(published.out)).toMatchObject({ channel: `user/${ids.bob}`, seq: 1, gone: 0, failed: 0 });
    expect(await bob.next((f) => f.type === "event")).toMatchObject({
      channel: `user/${ids.bob}`,
      seq: 1,
      from: { userId: "system", username: "system" },
      data: { hello: "inbox" },
    });
    const bad = await pnpmWs(stack.stateDir, "publish", "nope", "{}");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/validation_failed: channel: a channel name has 2 to 5 segments/);
    const big = await pnpmWs(stack.stateDir, "publish", "public/big", JSON.stringify("x".repeat(40_000)));
    expect(big.code).toBe(1);
    expect(big.err).toMatch(/payload_too_large/);
  });

  it("leaves no connection, subscription or presence row once every socket has closed", async () => {
    const extra = await open("alice");
    await subscribe(extra, "presence/last");
    await subscribe(extra, "public/last");
    expect((await liveRows()).subscription).toBeGreaterThan(0);
    for (const [index, client] of opened.entries()) {
      if (index % 2) client.vanish();
      else await client.close();
    }
    let rows: Record<string, number> = {};
    for (let attempt = 0; attempt < 200; attempt++) {
      rows = await liveRows();
      if (Object.keys(rows).length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(rows).toEqual({});
  });
});
