import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import type { ConnectionIdentity } from "@wsauth/core/auth";
import { type ChannelStore, createChannelStore, decide, parseChannelName } from "@wsauth/core/channel";
import { createConnectionStore } from "@wsauth/core/connection";
import { CHANNEL_JOIN, CHANNELS, LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import {
  createFanOut,
  createFanOutMarkers,
  createMessenger,
  createRealtime,
  type FanOutJob,
  type Realtime,
} from "@wsauth/core/messaging";
import { createRevocationStore } from "@wsauth/core/revocation";
import { type ConnectionsServer, ROOMY_LIMITS, startConnectionsServer } from "@wsauth/core/testing";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
let clock = T0;
const now = () => clock;

const alice: ConnectionIdentity = {
  userId: "sub-alice",
  username: "alice@example.com",
  groups: ["ops"],
  tokenExp: Math.floor(T0 / 1000) + 3600,
  transport: "subprotocol",
};
const bob: ConnectionIdentity = { ...alice, userId: "sub-bob", username: "bob@example.com", groups: [] };

/** Collects what the core logs, so the test run stays quiet and can assert on the rule decisions. */
function captureLog(): Log & { lines: Array<{ message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const record = (message: string, fields: Record<string, unknown> = {}) => lines.push({ message, fields });
  return { lines, debug: record, info: record, warn: record, error: record } as unknown as Log & {
    lines: typeof lines;
  };
}

describe("the namespace rules table", () => {
  const who = (userId: string, groups: string[] = []) => ({ userId, groups });
  it.each([
    ["public/news", "subscribe", who("u"), true],
    ["public/news", "publish", who("u"), true],
    ["presence/lobby", "publish", who("u"), true],
    ["group/ops/alerts", "subscribe", who("u", ["ops"]), true],
    ["group/ops/alerts", "publish", who("u", ["dev"]), false],
    ["user/u", "subscribe", who("u"), true],
    ["user/u", "subscribe", who("v"), false],
    ["user/u", "publish", who("u"), false],
    ["user/u", "publish", "server", true],
    ["secret/x", "subscribe", who("u"), false],
  ] as const)("%s %s by %j -> %s", (name, action, actor, allowed) => {
    const decision = decide(parseChannelName(name), action, actor);
    expect(decision.allowed).toBe(allowed);
    expect(decision.reason).not.toBe("");
  });

  it("rejects bad names with validation_failed", () => {
    for (const bad of ["public", "a/b/c/d/e/f", "public/", "public/sp ace", `public/${"x".repeat(65)}`]) {
      expect(() => parseChannelName(bad)).toThrow(expect.objectContaining({ code: "validation_failed" }));
    }
  });
});

describe("channels (dynalite + @connections over HTTP)", () => {
  let dynamo: LocalDynamo;
  let gateway: ConnectionsServer;
  let realtime: Realtime;
  let channels: ChannelStore;
  let log: ReturnType<typeof captureLog>;
  /** Jobs the fan-out queued (it sends inline up to 2 subscribers, jobs of 2 above that). */
  let queued: FanOutJob[];
  /** The registry and messenger behind `realtime`, for a second one over a changed channel store. */
  let parts: Pick<Parameters<typeof createRealtime>[0], "store" | "messenger" | "revocations">;
  let table = 0;
  let next = 0;

  beforeAll(async () => {
    [dynamo, gateway] = await Promise.all([startDynamo({ port: 0 }), startConnectionsServer(LOCAL.stage)]);
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), gateway.stop()]);
  });
  beforeEach(async () => {
    clock = T0;
    const tableName = `channels-${table++}`;
    const client = localDynamoClient(dynamo.endpoint);
    await createConnectionsTable(client, tableName);
    log = captureLog();
    const store = createConnectionStore({ tableName, client, now });
    channels = createChannelStore({ tableName, client, now });
    const management = new ApiGatewayManagementApiClient({
      endpoint: gateway.endpoint,
      region: LOCAL.region,
      credentials: { ...LOCAL_CREDENTIALS },
      maxAttempts: 1,
    });
    const messenger = createMessenger({ endpoint: gateway.endpoint, store, client: management, now, log });
    parts = { store, messenger, revocations: createRevocationStore({ tableName, client, now }) };
    queued = [];
    const fanOut = createFanOut({
      messenger,
      dispatcher: () => ({ dispatch: async (job) => void queued.push(job) }),
      markers: () => createFanOutMarkers({ client, tableName, now }),
      inlineMax: 2,
      jobSize: 2,
      now,
      log,
    });
    realtime = createRealtime({ ...parts, channelStore: channels, fanOut, now, log, limits: ROOMY_LIMITS });
  });

  async function connect(identity: ConnectionIdentity) {
    const connectionId = `c${next++}=`;
    gateway.open(connectionId);
    await realtime.connect({ connectionId, identity, connectedAt: clock });
    return connectionId;
  }
  const send = (connectionId: string, route: Parameters<Realtime["receive"]>[0], body: unknown) =>
    realtime.receive(route, { connectionId, authorizer: undefined, body: JSON.stringify(body) });
  const received = (id: string) => gateway.received(id) as Array<Record<string, unknown>>;

  it("numbers events without gaps, keeps history, and replays after `since` with a gap when too old", async () => {
    const publisher = await connect(alice);
    for (let n = 1; n <= CHANNELS.historyEvents + 20; n++) {
      await send(publisher, "publish", { action: "publish", channel: "public/feed", data: { n } });
      clock += 10;
    }
    expect(
      received(publisher)
        .filter((f) => f.type === "published")
        .map((f) => f.seq),
    ).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // All 120 are younger than the 2-minute window: all retained.
    const late = await connect(bob);
    await send(late, "subscribe", { action: "subscribe", channel: "public/feed", since: 110 });
    expect(received(late).map((f) => (f.type === "event" ? f.seq : f.type))).toEqual([
      "subscribed",
      111,
      112,
      113,
      114,
      115,
      116,
      117,
      118,
      119,
      120,
    ]);
    // Three minutes later only the last 100 are: since 5 reports the gap 6..20.
    clock += 3 * 60_000;
    const later = await connect(bob);
    await send(later, "subscribe", { action: "subscribe", channel: "public/feed", since: 5 });
    const frames = received(later);
    expect(frames[0]).toEqual({ type: "subscribed", channel: "public/feed", seq: 120 });
    expect(frames[1]).toEqual({ type: "gap", channel: "public/feed", since: 5, oldest: 21 });
    expect(frames.slice(2).map((f) => f.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 21));
  });

  it("a publish leaves a joining connection to its replay; a mark is cleared only at the seq replayed", async () => {
    const joined = await channels.beginJoin("public/join", "joining=");
    expect(joined).toMatchObject({ seq: 0 });
    const first = await channels.nextSeq("public/join");
    expect(first).toEqual({ seq: 1, joining: new Set(["joining="]) });
    expect(await channels.endJoin("public/join", "joining=", 0, [])).toBe(false); // the counter moved on
    clock += CHANNEL_JOIN.inFlightMs + 1; // a subscribe that never cleared its mark: publishes ignore it
    expect(await channels.nextSeq("public/join")).toEqual({ seq: 2, joining: new Set() });
    await channels.beginJoin("public/join", "fresh=");
    const stale = [...(await channels.sequence("public/join")).joining.keys()].filter((id) => id !== "fresh=");
    expect(await channels.endJoin("public/join", "fresh=", 2, stale)).toBe(true);
    expect((await channels.sequence("public/join")).joining).toEqual(new Map());
  });

  it("a replay waits for an event whose seq is taken, then voids it; the late publish of it fails", async () => {
    const channel = "public/holes";
    const publisher = await connect(alice);
    await send(publisher, "publish", { action: "publish", channel, data: 1 });
    const taken = await channels.nextSeq(channel); // a publish that took seq 2 and has not stored it (yet)
    const reader = await connect(bob);
    await send(reader, "subscribe", { action: "subscribe", channel, since: 0 });
    const seen = () => received(reader).map((f) => (f.type === "event" ? f.seq : f.type));
    expect(seen()).toEqual(["subscribed", 1]);
    const late = { channel, seq: taken.seq, from: { userId: alice.userId, username: alice.username }, data: 2 };
    expect(await channels.append({ ...late, sentAt: clock })).toBe(false);
    await send(publisher, "publish", { action: "publish", channel, data: 3 });
    expect(seen()).toEqual(["subscribed", 1, 3]);
    const again = await connect(bob);
    await send(again, "subscribe", { action: "subscribe", channel, since: 0 });
    expect(received(again).map((f) => (f.type === "event" ? f.seq : f.type))).toEqual(["subscribed", 1, 3]);
  });

  it("a publish past the inline threshold goes out as fan-out jobs, leaving joining connections to their replay", async () => {
    const channel = "public/crowd";
    const publisher = await connect(alice);
    const readers = [await connect(bob), await connect(bob), await connect(bob), await connect(bob)];
    for (const reader of readers) await send(reader, "subscribe", { action: "subscribe", channel });
    const joining = await connect(bob);
    const member = { userId: bob.userId, username: bob.username };
    await channels.subscribe({ channel, connectionId: joining, ...member, expireAt: Math.floor(clock / 1000) + 3600 });
    await channels.beginJoin(channel, joining); // its subscribe is replaying right now
    await send(publisher, "publish", { action: "publish", channel, data: "crowd" });
    expect(received(publisher).at(-1)).toEqual({ type: "published", channel, seq: 1, jobs: 2 });
    expect(queued.map((job) => job.connectionIds.length)).toEqual([2, 2]);
    expect(readers.every((reader) => received(reader).length === 1)).toBe(true); // only `subscribed` so far
    for (const job of queued) await realtime.fanOutJob(job);
    await realtime.fanOutJob(queued[0]); // a retried job sends nothing twice
    for (const reader of readers) {
      expect(received(reader).map((f) => (f.type === "event" ? f.seq : f.type))).toEqual(["subscribed", 1]);
    }
    expect(received(joining)).toEqual([]);
  });

  it("a subscriber gone before its answer keeps no subscription, presence or joining mark", async () => {
    const watcher = await connect(alice);
    await send(watcher, "subscribe", { action: "subscribe", channel: "presence/gone" });
    const gone = await connect(bob);
    gateway.drop(gone);
    await send(gone, "subscribe", { action: "subscribe", channel: "presence/gone", since: 0 });
    expect(await channels.subscribers("presence/gone")).toEqual([{ connectionId: watcher, fromSeq: 0 }]);
    expect(await channels.members("presence/gone")).toEqual([{ userId: alice.userId, username: alice.username }]);
    expect((await channels.sequence("presence/gone")).joining).toEqual(new Map());
  });

  it("a hand-off that keeps losing the race is forced: every event still exactly once", async () => {
    const channel = "public/busy";
    const publisher = await connect(alice);
    for (let n = 1; n <= 3; n++) await send(publisher, "publish", { action: "publish", channel, data: n });
    // Every conditional clear fails, as if a publish took a seq each round.
    const racing = { ...channels, endJoin: async () => false };
    const busy = createRealtime({ ...parts, channelStore: racing, now, log });
    const reader = await connect(bob);
    await busy.receive("subscribe", {
      connectionId: reader,
      authorizer: undefined,
      body: JSON.stringify({ action: "subscribe", channel, since: 1 }),
    });
    await send(publisher, "publish", { action: "publish", channel, data: 4 });
    expect(received(reader).map((f) => (f.type === "event" ? f.seq : f.type))).toEqual(["subscribed", 2, 3, 4]);
    expect(log.lines.find((l) => l.message === "subscription replayed")?.fields).toMatchObject({
      forced: true,
      rounds: CHANNEL_JOIN.handoffRounds,
    });
  });

  it("counts presence per user: join and leave on transitions only, cleaned up on disconnect", async () => {
    const watcher = await connect(bob);
    await send(watcher, "subscribe", { action: "subscribe", channel: "presence/lobby" });
    const [first, second] = [await connect(alice), await connect(alice)];
    await send(first, "subscribe", { action: "subscribe", channel: "presence/lobby" });
    await send(second, "subscribe", { action: "subscribe", channel: "presence/lobby" });
    expect(received(second)[0]).toMatchObject({
      type: "subscribed",
      members: expect.arrayContaining([
        { userId: alice.userId, username: alice.username },
        { userId: bob.userId, username: bob.username },
      ]),
    });
    await send(first, "unsubscribe", { action: "unsubscribe", channel: "presence/lobby" });
    await realtime.disconnect(second);
    const presence = received(watcher).filter((f) => f.type === "presence");
    expect(presence.map((f) => f.event)).toEqual(["join", "leave"]);
    await realtime.disconnect(watcher);
    expect(await channels.members("presence/lobby")).toEqual([]);
    expect(await channels.subscribers("presence/lobby")).toEqual([]);
  });

  it("a 410 during fan-out removes the subscription and the user's presence", async () => {
    const watcher = await connect(bob);
    const vanished = await connect(alice);
    await send(vanished, "subscribe", { action: "subscribe", channel: "presence/room" });
    await send(watcher, "subscribe", { action: "subscribe", channel: "presence/room" });
    gateway.drop(vanished);
    await send(watcher, "publish", { action: "publish", channel: "presence/room", data: "hi" });
    expect(received(watcher).filter((f) => f.type === "presence")).toEqual([
      {
        type: "presence",
        channel: "presence/room",
        event: "leave",
        member: { userId: alice.userId, username: alice.username },
      },
    ]);
    expect(await channels.channelsOf(vanished)).toEqual([]);
  });

  it("the sweep drops the channel rows of a connection it closes, with a presence leave", async () => {
    const watcher = await connect({ ...bob, tokenExp: alice.tokenExp + 3 * 3600 });
    const stale = await connect(alice);
    await send(stale, "subscribe", { action: "subscribe", channel: "presence/swept" });
    await send(watcher, "subscribe", { action: "subscribe", channel: "presence/swept" });
    clock += 61 * 60_000; // alice's token has expired: the sweep closes her connection
    await realtime.sweep();
    expect(await channels.channelsOf(stale)).toEqual([]);
    expect(await channels.members("presence/swept")).toEqual([{ userId: bob.userId, username: bob.username }]);
    expect(
      received(watcher)
        .filter((f) => f.type === "presence")
        .map((f) => f.event),
    ).toEqual(["leave"]);
  });

  it("refuses what the rules refuse with forbidden and logs the reason", async () => {
    const id = await connect(bob);
    await expect(send(id, "subscribe", { action: "subscribe", channel: "group/ops/x" })).rejects.toMatchObject({
      code: "forbidden",
    });
    await expect(
      send(id, "publish", { action: "publish", channel: `user/${bob.userId}`, data: 1 }),
    ).rejects.toMatchObject({
      code: "forbidden",
    });
    await expect(send(id, "subscribe", { action: "subscribe", channel: "bad" })).rejects.toMatchObject({
      code: "validation_failed",
    });
    expect(log.lines.filter((l) => l.message === "channel rule").map((l) => l.fields.reason)).toEqual([
      'not a member of group "ops"',
      'clients may not publish in namespace "user"',
    ]);
  });

  it("notify publishes to a channel as system", async () => {
    const id = await connect(bob);
    await send(id, "subscribe", { action: "subscribe", channel: `user/${bob.userId}` });
    const report = await realtime.notify({ channel: `user/${bob.userId}`, data: { hello: 1 } });
    expect(report).toMatchObject({ channel: `user/${bob.userId}`, seq: 1, delivered: 1 });
    expect(received(id).at(-1)).toMatchObject({
      type: "event",
      seq: 1,
      from: { userId: "system", username: "system" },
    });
    await expect(realtime.notify({ channel: "nope", data: 1 })).rejects.toMatchObject({ code: "validation_failed" });
  });
});
