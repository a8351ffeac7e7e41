import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { AuthRejection, type ConnectionIdentity } from "@wsauth/core/auth";
import { type ChannelStore, createChannelStore } from "@wsauth/core/channel";
import { CONNECTION_SHARDS, type ConnectionStore, createConnectionStore, shardOf } from "@wsauth/core/connection";
import { LOCAL, LOCAL_CREDENTIALS, SWEEP } from "@wsauth/core/constants";
import { IdentityError } from "@wsauth/core/errors";
import {
  createMessenger,
  createRealtime,
  type Messenger,
  REAUTH_REFUSALS,
  type Realtime,
  type ReauthVerifier,
} from "@wsauth/core/messaging";
import { createRevocationStore, type RevocationStore } from "@wsauth/core/revocation";
import { type ConnectionsServer, capturedLogs, ROOMY_LIMITS, startConnectionsServer } from "@wsauth/core/testing";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const T0S = Math.floor(T0 / 1000);
let clock = T0;
const now = () => clock;

const alice: ConnectionIdentity = {
  userId: "sub-alice",
  username: "alice@example.com",
  groups: [],
  tokenExp: T0S + 3600,
  transport: "query",
};
const bob: ConnectionIdentity = { ...alice, userId: "sub-bob", username: "bob@example.com" };
const admin: ConnectionIdentity = { ...alice, userId: "sub-admin", username: "admin@example.com", groups: ["admins"] };

/** Tokens are opaque here: "<sub>:<exp>[:<group,group>]". The real verifier is covered by the auth suites. */
const verifier: ReauthVerifier = {
  async verify(token) {
    const [userId, exp, groups] = token.split(":");
    if (!userId || !exp) throw new IdentityError("unauthorized", "token rejected: token_malformed");
    return { userId, tokenExp: Number(exp), groups: groups ? groups.split(",") : [] };
  },
};

describe("messenger and routes (dynalite + @connections over HTTP)", () => {
  let dynamo: LocalDynamo;
  let gateway: ConnectionsServer;
  let store: ConnectionStore;
  let messenger: Messenger;
  let realtime: Realtime;
  let channelStore: ChannelStore;
  let revocations: RevocationStore;
  let table = 0;

  beforeAll(async () => {
    [dynamo, gateway] = await Promise.all([startDynamo({ port: 0 }), startConnectionsServer(LOCAL.stage)]);
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), gateway.stop()]);
  });
  beforeEach(async () => {
    clock = T0;
    const tableName = `messaging-${table++}`;
    const client = localDynamoClient(dynamo.endpoint);
    await createConnectionsTable(client, tableName);
    store = createConnectionStore({ tableName, client, now });
    const management = new ApiGatewayManagementApiClient({
      endpoint: gateway.endpoint,
      region: LOCAL.region,
      credentials: { ...LOCAL_CREDENTIALS },
      maxAttempts: 1,
    });
    messenger = createMessenger({ endpoint: gateway.endpoint, store, client: management, concurrency: 4, now });
    channelStore = createChannelStore({ tableName, client, now });
    revocations = createRevocationStore({ tableName, client, now });
    realtime = createRealtime({ store, channelStore, messenger, revocations, verifier, now, limits: ROOMY_LIMITS });
  });

  let next = 0;
  async function connect(identity: ConnectionIdentity, options: { open?: boolean; connectedAt?: number } = {}) {
    const connectionId = `c${next++}-${identity.userId}=`;
    if (options.open !== false) gateway.open(connectionId);
    await realtime.connect({ connectionId, identity, connectedAt: options.connectedAt ?? clock });
    return connectionId;
  }
  const send = (connectionId: string, route: Parameters<Realtime["receive"]>[0], body: unknown) =>
    realtime.receive(route, { connectionId, authorizer: undefined, body: JSON.stringify(body) });

  it("delivers to every connection of a multi-connection user exactly once", async () => {
    const ids = [await connect(alice), await connect(alice), await connect(alice)];
    const report = await messenger.toUser("Alice@Example.com", { type: "pong" });
    expect(report).toEqual({ delivered: 3, gone: 0, failed: 0 });
    for (const id of ids) expect(gateway.received(id)).toEqual([{ type: "pong" }]);
  });

  it("prunes a gone connection on the first failed send", async () => {
    const live = await connect(alice);
    const vanished = await connect(alice, { open: false });
    expect(await messenger.toUser(alice.userId, { type: "pong" })).toEqual({ delivered: 1, gone: 1, failed: 0 });
    expect(await store.get(vanished)).toBeUndefined();
    const before = gateway.requests().length;
    expect(await messenger.toUser(alice.userId, { type: "pong" })).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(
      gateway
        .requests()
        .slice(before)
        .map((r) => r.id),
    ).toEqual([live]);
  });

  it("counts other send errors as failed and keeps the row", async () => {
    const broken = await connect(alice);
    gateway.fail(broken, 400);
    expect(await messenger.toConnection(broken, { type: "pong" })).toEqual({ delivered: 0, gone: 0, failed: 1 });
    expect(await store.get(broken)).toBeDefined();
  });

  it("broadcasts to every live connection, never to expired rows", async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => connect(i % 2 ? alice : bob)));
    const stale = await connect(bob, { connectedAt: T0 - 3 * 3600_000 });
    const report = await messenger.broadcast({ type: "pong" });
    expect(report).toEqual({ delivered: 12, gone: 0, failed: 0 });
    for (const id of ids) expect(gateway.received(id)).toHaveLength(1);
    expect(gateway.received(stale)).toEqual([]);
  });

  it("disconnect closes at the gateway and deletes the row; an unknown one is gone", async () => {
    const id = await connect(alice);
    expect(await messenger.disconnect(id)).toBe("closed");
    expect(gateway.closed()).toContain(id);
    expect(await store.get(id)).toBeUndefined();
    expect(await messenger.disconnect("never-was=")).toBe("gone");
  });

  it("answers echo, ping and whoami over @connections", async () => {
    const id = await connect({ ...alice, email: "alice@example.com", groups: ["readers"] });
    await connect(alice);
    await send(id, "$default", { hello: "world" });
    await send(id, "ping", { action: "ping" });
    await send(id, "whoami", { action: "whoami" });
    const [echo, pong, whoami] = gateway.received(id);
    expect(echo).toEqual({ type: "echo", message: { hello: "world" } });
    expect(pong).toEqual({ type: "pong" });
    expect(whoami).toMatchObject({
      type: "identity",
      userId: alice.userId,
      username: alice.username,
      email: "alice@example.com",
      groups: ["readers"],
      connectionId: id,
      connectedAt: new Date(T0).toISOString(),
      tokenExp: alice.tokenExp,
      transport: "query",
      connections: 2,
    });
  });

  it("sendmessage reaches each of the target's connections with the sender from the registry", async () => {
    const from = await connect(alice);
    const targets = [await connect(bob), await connect(bob)];
    await send(from, "sendmessage", { action: "sendmessage", to: "bob@example.com", data: { text: "hi" } });
    for (const id of targets) {
      expect(gateway.received(id)).toEqual([
        {
          type: "message",
          from: { userId: alice.userId, username: alice.username },
          data: { text: "hi" },
          sentAt: new Date(T0).toISOString(),
        },
      ]);
    }
    // The sender gets a receipt with the target's live-connection count.
    expect(gateway.received(from)).toEqual([{ type: "sent", to: "bob@example.com", delivered: 2, gone: 0, failed: 0 }]);
  });

  it("rejects a forged sender and a non-admin broadcast", async () => {
    const from = await connect(alice);
    await connect(bob);
    await expect(
      send(from, "sendmessage", { action: "sendmessage", to: bob.userId, data: 1, from: { userId: "x" } }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(send(from, "broadcast", { action: "broadcast", data: 1 })).rejects.toMatchObject({
      code: "forbidden",
    });
  });

  it("answers a message to an unknown user and to a known offline one with the same receipt", async () => {
    const from = await connect(alice);
    // Bob has an account and was online: one connection closed cleanly, one vanished (stale row).
    const closed = await connect(bob);
    await realtime.disconnect(closed);
    const vanished = await connect(bob, { open: false });
    const carol = { ...bob, userId: "sub-carol", username: "carol@example.com" };
    const expired = await connect({ ...carol, tokenExp: T0S + 10 });
    clock = T0 + 60_000;
    for (const to of ["nobody@example.com", bob.username, bob.userId, carol.username]) {
      await send(from, "sendmessage", { action: "sendmessage", to, data: 1 });
    }
    const receipts = gateway.received(from) as Array<Record<string, unknown>>;
    expect(receipts).toHaveLength(4);
    // Identical once `to` (what the sender typed) is set aside: nothing says who exists or was online.
    const shapes = receipts.map(({ to: _to, ...rest }) => rest);
    for (const shape of shapes) expect(shape).toEqual({ type: "sent", delivered: 0, gone: 0, failed: 0 });
    expect(await store.get(vanished)).toBeUndefined();
    expect(gateway.received(expired)).toEqual([]);
  });

  it("refuses a reauth with one fixed message per code; which check failed goes to the log only", async () => {
    const id = await connect(alice);
    const refusals: Array<[string, string]> = [
      ["garbage", "unauthorized"],
      [`${bob.userId}:${T0S + 9000}`, "forbidden"],
    ];
    const failing: ReauthVerifier = {
      async verify(token) {
        if (token === "garbage") throw new AuthRejection("signature_invalid");
        if (token === "unknown-key") throw new AuthRejection("kid_unknown");
        if (token === "old") throw new AuthRejection("token_expired");
        return verifier.verify(token);
      },
    };
    realtime = createRealtime({
      store,
      channelStore,
      messenger,
      revocations,
      verifier: failing,
      now,
      limits: ROOMY_LIMITS,
    });
    refusals.push(["unknown-key", "unauthorized"], ["old", "token_expired"]);
    const messages = new Map<string, Set<string>>();
    for (const [token, code] of refusals) {
      const error = await send(id, "reauth", { action: "reauth", token }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code });
      const message = (error as Error).message;
      expect(message).toBe(REAUTH_REFUSALS[code as keyof typeof REAUTH_REFUSALS]);
      messages.set(code, (messages.get(code) ?? new Set()).add(message));
      expect(message).not.toMatch(/signature|kid|another user|key/);
    }
    expect(messages.get("unauthorized")?.size).toBe(1);
    for (const reason of ["signature_invalid", "kid_unknown", "token_of_another_user", "token_expired"]) {
      expect(capturedLogs().find({ message: "reauth refused", reason, connectionId: id })).toHaveLength(1);
    }
  });

  it("lets admins broadcast", async () => {
    const from = await connect(admin);
    const other = await connect(bob);
    await send(from, "broadcast", { action: "broadcast", data: "all" });
    expect(gateway.received(other)).toMatchObject([{ type: "broadcast", data: "all" }]);
    // The broadcaster gets it too, then the receipt: sent inline, no fan-out jobs.
    expect(gateway.received(from)).toMatchObject([
      { type: "broadcast", data: "all" },
      { type: "broadcasted", jobs: 0, delivered: 2, gone: 0, failed: 0 },
    ]);
  });

  it("refuses messages once the token expired, but lets reauth renew it", async () => {
    const id = await connect(alice);
    clock = (alice.tokenExp + 1) * 1000;
    await expect(send(id, "ping", { action: "ping" })).rejects.toMatchObject({ code: "token_expired" });
    await expect(send(id, "reauth", { action: "reauth", token: `${bob.userId}:${T0S + 9000}` })).rejects.toMatchObject({
      code: "forbidden",
    });
    await send(id, "reauth", { action: "reauth", token: `${alice.userId}:${T0S + 9000}` });
    expect(gateway.received(id)).toEqual([
      { type: "reauthenticated", expiresAt: new Date((T0S + 9000) * 1000).toISOString() },
    ]);
    expect((await store.get(id))?.tokenExp).toBe(T0S + 9000);
    await send(id, "ping", { action: "ping" });
    expect(gateway.received(id).at(-1)).toEqual({ type: "pong" });
  });

  it("delivers nothing but replies to a connection whose token has expired", async () => {
    const from = await connect(admin);
    const expiring = await connect({ ...bob, tokenExp: T0S + 60 });
    clock = T0 + 120_000;
    await send(from, "sendmessage", { action: "sendmessage", to: bob.username, data: "after exp" });
    expect(gateway.received(from)).toEqual([{ type: "sent", to: bob.username, delivered: 0, gone: 0, failed: 0 }]);
    await send(from, "broadcast", { action: "broadcast", data: "to all" });
    expect(gateway.received(expiring)).toEqual([]);
    expect(gateway.received(from).slice(-2)).toMatchObject([
      { type: "broadcast", data: "to all" },
      { type: "broadcasted" },
    ]);
    // Replies still reach it: that is how it learns why it is being closed.
    await expect(send(expiring, "ping", { action: "ping" })).rejects.toMatchObject({ code: "token_expired" });
  });

  it("reauth takes the fresh token's groups: a removed admin can no longer broadcast", async () => {
    const id = await connect(admin);
    await send(id, "reauth", { action: "reauth", token: `${admin.userId}:${T0S + 3600}` });
    await expect(send(id, "broadcast", { action: "broadcast", data: 1 })).rejects.toMatchObject({ code: "forbidden" });
    await send(id, "reauth", { action: "reauth", token: `${admin.userId}:${T0S + 3600}:admins` });
    await send(id, "broadcast", { action: "broadcast", data: 2 });
    expect(gateway.received(id)).toContainEqual(expect.objectContaining({ type: "broadcast", data: 2 }));
  });

  it("uses the authorizer context when the row is missing, never the body", async () => {
    const id = "unregistered=";
    gateway.open(id);
    const authorizer = {
      principalId: bob.userId,
      userId: bob.userId,
      username: bob.username,
      groups: "",
      tokenExp: String(bob.tokenExp),
      transport: "query",
    };
    await realtime.receive("whoami", { connectionId: id, authorizer, connectedAt: T0, body: '{"action":"whoami"}' });
    expect(gateway.received(id)).toMatchObject([{ type: "identity", userId: bob.userId, username: bob.username }]);
    await expect(
      realtime.receive("ping", { connectionId: "nobody=", authorizer: undefined, body: '{"action":"ping"}' }),
    ).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("sweep closes expired-token and over-age connections and deletes dead rows", async () => {
    const fresh = await connect({ ...alice, tokenExp: T0S + 7200 });
    const expiring = await connect({ ...alice, tokenExp: T0S + 60 });
    const vanished = await connect({ ...bob, tokenExp: T0S + 60 }, { open: false });
    const dead = await connect({ ...bob, tokenExp: T0S + 60 }, { connectedAt: T0 - 3 * 3600_000 });
    clock = T0 + 120_000;
    const report = await realtime.sweep();
    expect(report).toEqual({ scanned: 4, expired: 1, closed: 2, gone: 1, renewed: 0, failed: 0, stoppedEarly: false });
    expect(gateway.closed()).toContain(expiring);
    expect(gateway.received(expiring)).toMatchObject([{ type: "error", code: "token_expired" }]);
    for (const id of [expiring, vanished, dead]) expect(await store.get(id)).toBeUndefined();
    expect(await store.get(fresh)).toBeDefined();
  });

  it("sweep starts from the next shard each minute and stops taking pages when its time runs out", async () => {
    const ids = await Promise.all(Array.from({ length: 24 }, () => connect({ ...alice, tokenExp: T0S + 60 })));
    const shardsOf = (records: Array<{ connectionId: string }>) => [
      ...new Set(records.map((r) => shardOf(r.connectionId))),
    ];
    const pagesSeen: string[][] = [];
    const watched: ConnectionStore = {
      ...store,
      async *walk(options) {
        for await (const page of store.walk(options)) {
          pagesSeen.push(shardsOf(page));
          yield page;
        }
      },
    };
    const sweeper = createRealtime({
      store: watched,
      channelStore,
      messenger,
      revocations,
      verifier,
      now,
      limits: ROOMY_LIMITS,
    });
    const minute = Math.floor((T0 + 120_000) / SWEEP.intervalMs);
    for (const offset of [0, 1, 2]) {
      clock = (minute + offset) * SWEEP.intervalMs;
      pagesSeen.length = 0;
      // Only time for one page: the run stops there and says so.
      const report = await sweeper.sweep({ remainingTimeMs: () => SWEEP.reserveMs - 1 });
      expect(report.stoppedEarly).toBe(true);
      expect(pagesSeen).toHaveLength(1);
      expect(report.scanned).toBeLessThan(ids.length);
      // The page comes from the shard this minute starts at (or a later one when that shard is empty).
      const start = (minute + offset) % CONNECTION_SHARDS;
      const first = Number(pagesSeen[0]?.[0]);
      const occupied = new Set(ids.map(shardOf).map(Number));
      let expected = start;
      while (!occupied.has(expected)) expected = (expected + 1) % CONNECTION_SHARDS;
      expect(first).toBe(expected);
    }
    // With time to spare, one run covers every shard.
    const full = await sweeper.sweep();
    expect(full.stoppedEarly).toBe(false);
    for (const id of ids) expect(await store.get(id)).toBeUndefined();
  });

  it("sweep leaves a connection whose token a reauth renewed after the sweep read it", async () => {
    const racing = await connect({ ...alice, tokenExp: T0S + 60 });
    const stale = await connect({ ...bob, tokenExp: T0S + 60 });
    // The reauth commits between the sweep's read of the page and its action on it.
    const interleaved: ConnectionStore = {
      ...store,
      async *walk(options) {
        for await (const page of store.walk(options)) {
          if (page.some((record) => record.connectionId === racing)) {
            await realtime.receive("reauth", {
              connectionId: racing,
              authorizer: undefined,
              body: JSON.stringify({ action: "reauth", token: `${alice.userId}:${T0S + 7200}` }),
            });
          }
          yield page;
        }
      },
    };
    clock = T0 + 120_000;
    const report = await createRealtime({
      store: interleaved,
      channelStore,
      messenger,
      revocations,
      verifier,
      now,
      limits: ROOMY_LIMITS,
    }).sweep();
    expect(report).toMatchObject({ renewed: 1, closed: 1, failed: 0 });
    expect(gateway.closed()).toContain(stale);
    expect(gateway.closed()).not.toContain(racing);
    expect(gateway.received(racing)).toEqual([
      { type: "reauthenticated", expiresAt: new Date((T0S + 7200) * 1000).toISOString() },
    ]);
    expect((await store.get(racing))?.tokenExp).toBe(T0S + 7200);
  });

  it("notify validates its input and reports deliveries", async () => {
    const id = await connect(bob);
    expect(await realtime.notify({ username: "bob@example.com", data: { n: 1 } })).toEqual({
      delivered: 1,
      gone: 0,
      failed: 0,
    });
    expect(gateway.received(id)).toMatchObject([{ type: "message", from: { userId: "system" }, data: { n: 1 } }]);
    expect(await realtime.notify({ userId: "sub-nobody", data: 1 })).toEqual({ delivered: 0, gone: 0, failed: 0 });
    // `userId` is a user id only: a sign-in name there reaches nobody.
    expect(await realtime.notify({ userId: "bob@example.com", data: 1 })).toEqual({ delivered: 0, gone: 0, failed: 0 });
    expect(await realtime.notify({ userId: bob.userId, data: 2 })).toEqual({ delivered: 1, gone: 0, failed: 0 });
    await expect(realtime.notify({ data: 1 })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(realtime.notify({ userId: "a", username: "b", data: 1 })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(realtime.notify({ userId: "a" })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(realtime.notify({ userId: "a", data: "x".repeat(40_000) })).rejects.toMatchObject({
      code: "payload_too_large",
    });
  });
});
