import { setTimeout as sleep } from "node:timers/promises";
import { createConnectionStore } from "@wsauth/core/connection";
import { ABUSE_LIMITS, STAGE_THROTTLE, SUBPROTOCOL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { localDynamoClient } from "../dynamo/index";
import { type SignedInTokens, signInDemoUser, startTestStack, type TestStack } from "../testing/index";

type Frame = Record<string, unknown>;
type Opened = { ok: true; socket: WebSocket; frames: Frame[] } | { ok: false; status: number };

/** Opens a socket (token as subprotocol) that collects frames, or reports the HTTP status it was refused with. */
function openSocket(url: string, idToken: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [SUBPROTOCOL, idToken]);
    const frames: Frame[] = [];
    socket.on("message", (data) => frames.push(JSON.parse(String(data)) as Frame));
    socket.once("open", () => resolve({ ok: true, socket, frames }));
    socket.once("unexpected-response", (_req, res) => {
      resolve({ ok: false, status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once("error", reject);
  });
}

async function until<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

function closeAll(sockets: WebSocket[]): Promise<unknown> {
  return Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once("close", () => resolve());
          socket.close();
        }),
    ),
  );
}

/** Whoami is throttled by the stage in this stack (three at once, one a second); every other route as deployed. */
const STAGE = { default: STAGE_THROTTLE.default, routes: { whoami: { rateLimit: 1, burstLimit: 3 } } };

describe("abuse limits on the local stack, black-box over real sockets", () => {
  let stack: TestStack;
  let alice: SignedInTokens;
  let bob: SignedInTokens;
  const dynamo = () => localDynamoClient(stack.outputs.dynamoEndpoint);

  beforeAll(async () => {
    stack = await startTestStack({ stageThrottle: STAGE });
    [alice, bob] = await Promise.all([signInDemoUser(stack.outputs, 0), signInDemoUser(stack.outputs, 1)]);
  }, 120_000);
  afterAll(async () => {
    const report = await stack?.stop();
    expect(report?.leftoverRows ?? 0).toBe(0);
  });

  const userIdOf = (tokens: SignedInTokens) =>
    (JSON.parse(Buffer.from(tokens.idToken.split(".")[1] ?? "", "base64url").toString()) as { sub: string }).sub;

  it("opens at most the per-user cap of 25 simultaneous connects with one token; the rest get 429 and write nothing", async () => {
    const max = ABUSE_LIMITS.maxConnectionsPerUser;
    const results = await Promise.all(
      Array.from({ length: 25 }, () => openSocket(stack.outputs.webSocketUrl, alice.idToken)),
    );
    const open = results.flatMap((result) => (result.ok ? [result.socket] : []));
    const refused = results.flatMap((result) => (result.ok ? [] : [result.status]));
    try {
      expect(open).toHaveLength(max);
      expect(refused).toEqual(Array.from({ length: 25 - max }, () => 429));
      const client = dynamo();
      const store = createConnectionStore({ tableName: stack.outputs.tableName, client });
      // Rows and the count hold the open connections only: a refused connect wrote no row.
      expect(await store.listByUser(userIdOf(alice))).toHaveLength(max);
      expect(await store.countedConnections(userIdOf(alice))).toHaveLength(max);

      // Closing some frees their places (each `$disconnect` takes its connection out of the count).
      await closeAll(open.splice(0, 3));
      await until(
        () => store.countedConnections(userIdOf(alice)),
        (counted) => counted.length === max - 3,
      );
      const again = await Promise.all(
        Array.from({ length: 4 }, () => openSocket(stack.outputs.webSocketUrl, alice.idToken)),
      );
      open.push(...again.flatMap((result) => (result.ok ? [result.socket] : [])));
      expect(again.filter((result) => result.ok)).toHaveLength(3);
      expect(again.filter((result) => !result.ok)).toEqual([{ ok: false, status: 429 }]);
      client.destroy();
    } finally {
      await closeAll(open);
    }
  }, 60_000);

  it("repairs a count left by connections whose $disconnect never came", async () => {
    const client = dynamo();
    const store = createConnectionStore({ tableName: stack.outputs.tableName, client });
    const userId = userIdOf(bob);
    // Ten connections registered five minutes ago that the gateway does not know (their $disconnect was lost).
    const identity = {
      userId,
      username: "bob@example.com",
      groups: [],
      tokenExp: Math.floor(Date.now() / 1000) + 3600,
      transport: "subprotocol" as const,
    };
    for (let index = 0; index < ABUSE_LIMITS.maxConnectionsPerUser; index++) {
      await store.register({ connectionId: `lost-${index}=`, identity, connectedAt: Date.now() - 5 * 60_000 });
    }
    const opened = await openSocket(stack.outputs.webSocketUrl, bob.idToken);
    try {
      expect(opened.ok).toBe(true);
      // The lost ones were checked with the gateway (410) and pruned with their rows.
      expect((await store.listByUser(userId)).map((row) => row.connectionId)).toHaveLength(1);
      expect(await store.countedConnections(userId)).toHaveLength(1);
    } finally {
      if (opened.ok) await closeAll([opened.socket]);
      client.destroy();
    }
  }, 60_000);

  it("sweeps through the handler pool as the cron does: a lost connection past its token's expiry frees its place", async () => {
    const client = dynamo();
    const store = createConnectionStore({ tableName: stack.outputs.tableName, client });
    const userId = userIdOf(bob);
    const expired = {
      userId,
      username: "bob@example.com",
      groups: [],
      tokenExp: Math.floor(Date.now() / 1000) - 60,
      transport: "subprotocol" as const,
    };
    try {
      await store.register({ connectionId: "expired-lost=", identity: expired, connectedAt: Date.now() });
      expect((await store.countedConnections(userId)).map((slot) => slot.connectionId)).toContain("expired-lost=");
      expect(await stack.sweep()).toMatchObject({ closed: 1, gone: 1 });
      expect(await store.get("expired-lost=")).toBeUndefined();
      expect((await store.countedConnections(userId)).map((slot) => slot.connectionId)).not.toContain("expired-lost=");
    } finally {
      client.destroy();
    }
  }, 60_000);

  it("answers a burst of 100 sendmessage frames with throttled errors and keeps the socket open", async () => {
    const opened = await openSocket(stack.outputs.webSocketUrl, alice.idToken);
    if (!opened.ok) throw new Error(`refused with ${opened.status}`);
    const { socket, frames } = opened;
    try {
      const frame = JSON.stringify({ action: "sendmessage", to: "nobody@example.com", data: "hi" });
      for (let index = 0; index < 100; index++) socket.send(frame);
      const answered = await until(
        () => frames.filter((f) => f.type === "sent" || f.type === "error").length,
        (count) => count >= 100,
        30_000,
      );
      expect(answered).toBe(100);
      const sent = frames.filter((f) => f.type === "sent").length;
      const throttled = frames.filter((f) => f.type === "error" && f.code === "throttled");
      // At most one full window, or two when the burst straddles a window's end.
      expect(sent).toBeGreaterThanOrEqual(ABUSE_LIMITS.message.burst);
      expect(sent).toBeLessThanOrEqual(2 * ABUSE_LIMITS.message.burst);
      expect(throttled.length).toBe(100 - sent);
      expect(throttled[0]).toMatchObject({ message: expect.stringContaining("too many frames") });
      expect(socket.readyState).toBe(WebSocket.OPEN);

      // The next window admits frames again.
      const windowMs = (ABUSE_LIMITS.message.burst / ABUSE_LIMITS.message.ratePerSecond) * 1000;
      await sleep(windowMs + 100);
      frames.length = 0;
      socket.send(frame);
      await until(
        () => frames.length,
        (count) => count > 0,
      );
      expect(frames[0]).toMatchObject({ type: "sent" });
    } finally {
      await closeAll([socket]);
    }
  }, 60_000);

  it("throttles a route over the stage's limit as API Gateway does: an error frame, the socket stays open", async () => {
    const opened = await openSocket(stack.outputs.webSocketUrl, alice.idToken);
    if (!opened.ok) throw new Error(`refused with ${opened.status}`);
    const { socket, frames } = opened;
    try {
      for (let index = 0; index < 10; index++) socket.send(JSON.stringify({ action: "whoami" }));
      await until(
        () => frames.length,
        (count) => count >= 10,
      );
      const identities = frames.filter((f) => f.type === "identity");
      const throttled = frames.filter((f) => f.message === "Too Many Requests");
      expect(identities.length).toBeGreaterThanOrEqual(3);
      expect(identities.length).toBeLessThan(10);
      expect(throttled.length).toBe(10 - identities.length);
      expect(throttled[0]).toEqual({
        message: "Too Many Requests",
        connectionId: expect.any(String),
        requestId: expect.any(String),
      });
      expect(socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      await closeAll([socket]);
    }
  }, 60_000);
});
