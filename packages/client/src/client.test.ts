import { LIMITS, ROUTE, SUBPROTOCOL, TOKEN_QUERY_PARAM } from "@wsauth/core/constants";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  describeClose,
  type IdToken,
  SOCKET_DEFAULTS,
  SocketClient,
  type SocketClientOptions,
  type SocketStatus,
} from "./client";
import { acquireSocket, closeSocket } from "./shared";
import { FakeWebSocket } from "./testing/index";

const URL_ = "ws://127.0.0.1:3001/local";
const HOUR = 60 * 60 * 1000;

/** Hands out tokens "t1", "t2", ... valid for an hour from the (fake) clock, and records each call. */
function tokenSource() {
  const calls: boolean[] = [];
  let issued = 0;
  let current: IdToken | undefined;
  const getToken = async ({ forceRefresh }: { forceRefresh: boolean }): Promise<IdToken> => {
    calls.push(forceRefresh);
    if (!current || forceRefresh) {
      issued += 1;
      current = { token: `t${issued}`, expiresAt: Date.now() + HOUR };
    }
    return current;
  };
  return { getToken, calls };
}

function createClient(options: Partial<SocketClientOptions> = {}) {
  const tokens = tokenSource();
  const client = new SocketClient({
    url: URL_,
    getToken: tokens.getToken,
    WebSocket: FakeWebSocket,
    random: () => 0.5,
    ...options,
  });
  const states: SocketStatus["state"][] = [];
  client.subscribeStatus(() => states.push(client.status.state));
  return { client, tokens, states };
}

/** Lets pending promise callbacks (token fetches) run without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("SocketClient", () => {
  it("offers the token as a subprotocol by default and reports connecting, then open", async () => {
    const { client, states } = createClient();
    client.start();
    await settle();
    const socket = FakeWebSocket.latest();
    expect(socket.url).toBe(URL_);
    expect(socket.protocols).toEqual([SUBPROTOCOL, "t1"]);
    socket.acceptOpen();
    expect(states).toEqual(["connecting", "open"]);
    expect(client.status).toMatchObject({ state: "open", transport: "subprotocol" });
  });

  it("stops for good when the server says the user's sessions were revoked, and hands over the frame", async () => {
    const { client, states } = createClient();
    const received: string[] = [];
    client.onFrame((frame) => received.push(frame.type));
    client.start();
    await settle();
    FakeWebSocket.latest().acceptOpen();
    FakeWebSocket.latest().receive({ type: "revoked", notBefore: new Date().toISOString() });
    expect(received).toEqual(["revoked"]);
    expect(client.status).toEqual({ state: "closed", reason: "signed out everywhere" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(states.at(-1)).toBe("closed");
  });

  it("puts the token in the query string when asked to", async () => {
    const { client } = createClient({ transport: "query" });
    client.start();
    await settle();
    const socket = FakeWebSocket.latest();
    expect(socket.protocols).toBeUndefined();
    expect(new URL(socket.url).searchParams.get(TOKEN_QUERY_PARAM)).toBe("t1");
  });

  it("reconnects after an unexpected close with growing, jittered delays", async () => {
    const { client } = createClient();
    client.start();
    await settle();
    FakeWebSocket.latest().acceptOpen();
    FakeWebSocket.latest().serverClose(1006);
    expect(client.status).toMatchObject({ state: "reconnecting", attempt: 1, reason: "the connection was lost" });
    const first = client.status.state === "reconnecting" ? client.status.retryAt - Date.now() : -1;
    expect(first).toBe(500);

    await vi.advanceTimersByTimeAsync(first);
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.latest().serverClose(1006); // refused during the handshake
    expect(client.status).toMatchObject({ state: "reconnecting", attempt: 2 });
    const second = client.status.state === "reconnecting" ? client.status.retryAt - Date.now() : -1;
    expect(second).toBe(1_000);

    await vi.advanceTimersByTimeAsync(second);
    FakeWebSocket.latest().acceptOpen();
    expect(client.status.state).toBe("open");
    expect(FakeWebSocket.live).toHaveLength(1);
  });

  it("fetches a fresh token after the server refused a handshake", async () => {
    const { client, tokens } = createClient();
    client.start();
    await settle();
    FakeWebSocket.latest().serverClose(1006);
    expect(client.status).toMatchObject({ reason: expect.stringContaining("did not accept") });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tokens.calls).toEqual([false, true]);
    expect(FakeWebSocket.latest().protocols).toEqual([SUBPROTOCOL, "t2"]);
  });

  it("reports a token that cannot be fetched and retries", async () => {
    let fail = true;
    const { client } = createClient({
      getToken: async () => {
        if (fail) throw new Error("network down");
        return { token: "ok", expiresAt: Date.now() + HOUR };
      },
    });
    client.start();
    await settle();
    expect(client.status).toMatchObject({
      state: "reconnecting",
      reason: "could not get a sign-in token: network down",
    });
    expect(FakeWebSocket.instances).toHaveLength(0);
    fail = false;
    client.retryNow();
    await settle();
    expect(FakeWebSocket.latest().protocols).toEqual([SUBPROTOCOL, "ok"]);
  });

  it("pings under the idle timeout and gives up on a connection that stopped answering", async () => {
    expect(SOCKET_DEFAULTS.keepAliveMs).toBeLessThan(LIMITS.idleTimeoutMs);
    const { client } = createClient();
    client.start();
    await settle();
    const socket = FakeWebSocket.latest();
    socket.acceptOpen();
    await vi.advanceTimersByTimeAsync(SOCKET_DEFAULTS.keepAliveMs);
    expect(socket.sentFrames()).toEqual([{ action: ROUTE.ping }]);
    await vi.advanceTimersByTimeAsync(SOCKET_DEFAULTS.keepAliveMs);
    expect(socket.sentFrames()).toHaveLength(2);
    expect(client.status.state).toBe("open");

    socket.answerPings = false; // the connection dies silently
    await vi.advanceTimersByTimeAsync(2 * SOCKET_DEFAULTS.keepAliveMs);
    expect(socket.closedWith?.code).toBe(4000);
    expect(client.status).toMatchObject({ state: "reconnecting", reason: expect.stringContaining("keep-alive") });
  });

  it("sends a renewed token before the current one expires", async () => {
    const { client, tokens } = createClient();
    client.start();
    await settle();
    const socket = FakeWebSocket.latest();
    socket.acceptOpen();
    await vi.advanceTimersByTimeAsync(HOUR - SOCKET_DEFAULTS.refreshMarginMs - 1);
    expect(socket.sentFrames().filter((frame) => JSON.stringify(frame).includes(ROUTE.reauth))).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(tokens.calls.at(-1)).toBe(true);
    expect(socket.sentFrames()).toContainEqual({ action: ROUTE.reauth, token: "t2" });
    socket.receive({ type: "reauthenticated", expiresAt: new Date(Date.now() + HOUR).toISOString() });
    expect(client.status.state).toBe("open");
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("reconnects with a fresh token when the server refuses the renewal", async () => {
    const { client } = createClient();
    client.start();
    await settle();
    const socket = FakeWebSocket.latest();
    socket.acceptOpen();
    await vi.advanceTimersByTimeAsync(HOUR - SOCKET_DEFAULTS.refreshMarginMs);
    socket.receive({ type: "error", code: "unauthorized", message: "token rejected" });
    expect(socket.closedWith?.code).toBe(1000);
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.live).toHaveLength(1);
  });

  it("can renew by reconnecting instead of reauth", async () => {
    const { client } = createClient({ renewal: "reconnect" });
    client.start();
    await settle();
    FakeWebSocket.latest().acceptOpen();
    await vi.advanceTimersByTimeAsync(HOUR - SOCKET_DEFAULTS.refreshMarginMs);
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.latest().protocols).toEqual([SUBPROTOCOL, "t2"]);
    expect(FakeWebSocket.live).toHaveLength(1);
  });

  it("recycles the connection before the gateway's lifetime cap, without backoff", async () => {
    // Tokens that never need renewal, so only the lifetime cap acts.
    const { client } = createClient({
      getToken: async () => ({ token: "long", expiresAt: Date.now() + 10 * HOUR }),
    });
    client.start();
    await settle();
    const first = FakeWebSocket.latest();
    first.acceptOpen();
    await vi.advanceTimersByTimeAsync(LIMITS.connectionLifetimeMs - SOCKET_DEFAULTS.lifetimeMarginMs);
    expect(first.closedWith).toEqual({ code: 1000, reason: "renewing connection" });
    expect(client.status.state).toBe("connecting");
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.live).toHaveLength(1);
  });

  it("closes cleanly on stop and stays closed", async () => {
    const { client } = createClient();
    client.start();
    await settle();
    const socket = FakeWebSocket.latest();
    socket.acceptOpen();
    client.stop("signed out");
    expect(socket.closedWith).toEqual({ code: 1000, reason: "signed out" });
    expect(client.status).toEqual({ state: "closed", reason: "signed out" });
    socket.serverClose(1000);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(client.status.state).toBe("closed");
  });

  it("does not open a socket when stopped while the token was being fetched", async () => {
    const { client } = createClient();
    client.start();
    client.stop("signed out");
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it("refuses, in words, to send what the gateway would reject", async () => {
    const { client } = createClient();
    expect(client.send({ hello: 1 })).toEqual({ ok: false, reason: "The socket is not open." });
    client.start();
    await settle();
    FakeWebSocket.latest().acceptOpen();
    const tooBig = client.send("x".repeat(LIMITS.frameBytes + 1));
    expect(tooBig).toMatchObject({ ok: false, reason: expect.stringContaining(`${LIMITS.frameBytes} bytes`) });
    expect(client.send({ hello: 1 })).toEqual({ ok: true });
    expect(FakeWebSocket.latest().sentFrames()).toEqual([{ hello: 1 }]);
  });

  it("hands parsed frames to listeners", async () => {
    const { client } = createClient();
    const frames: unknown[] = [];
    client.onFrame((frame) => frames.push(frame));
    client.start();
    await settle();
    FakeWebSocket.latest().acceptOpen();
    FakeWebSocket.latest().receive({ type: "echo", message: "hi" });
    FakeWebSocket.latest().receive("garbage");
    expect(frames).toEqual([
      { type: "echo", message: "hi" },
      { type: "unknown", raw: "garbage" },
    ]);
  });
});

describe("acquireSocket", () => {
  const create = () => createClient().client;

  it("keeps exactly one socket through a StrictMode mount, unmount, mount", async () => {
    const first = acquireSocket("alice", create);
    first.release();
    const second = acquireSocket("alice", create);
    await settle();
    expect(second.client).toBe(first.client);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(FakeWebSocket.live).toHaveLength(1);
    second.release();
    await settle();
    expect(FakeWebSocket.live).toHaveLength(0);
    expect(second.client.status).toMatchObject({ state: "closed" });
  });

  it("replaces the socket when another user signs in, and closes on sign-out", async () => {
    const alice = acquireSocket("alice", create);
    await settle();
    const bob = acquireSocket("bob", create);
    await settle();
    expect(alice.client.status).toEqual({ state: "closed", reason: "replaced by a new connection" });
    expect(FakeWebSocket.live).toHaveLength(1);
    closeSocket("bob", "signed out");
    expect(bob.client.status).toEqual({ state: "closed", reason: "signed out" });
    expect(FakeWebSocket.live).toHaveLength(0);
    bob.release();
    alice.release();
    await settle();
    expect(FakeWebSocket.live).toHaveLength(0);
  });
});

describe("a long healthy session", () => {
  it("keeps one socket for 5 hours: pings under the idle timeout, a valid token throughout, recycled before the cap", async () => {
    const expiries = new Map<string, number>();
    const getToken = async ({ forceRefresh }: { forceRefresh: boolean }): Promise<IdToken> => {
      const fresh = forceRefresh || expiries.size === 0;
      if (fresh) expiries.set(`t${expiries.size + 1}`, Date.now() + HOUR);
      const token = `t${expiries.size}`;
      return { token, expiresAt: expiries.get(token) ?? 0 };
    };
    const { client, states } = createClient({ getToken });
    client.start();

    /** Per socket: when it opened, when it last sent a frame, and the token it last presented. */
    const seen = new Map<FakeWebSocket, { openedAt: number; lastSentAt: number; frames: number; token: string }>();
    let reauths = 0;
    const STEP = 10_000;
    for (let elapsed = 0; elapsed < 5 * HOUR; elapsed += STEP) {
      await vi.advanceTimersByTimeAsync(STEP);
      const now = Date.now();
      expect(FakeWebSocket.live.length).toBeLessThanOrEqual(1);
      for (const socket of FakeWebSocket.live) {
        let facts = seen.get(socket);
        if (!facts) {
          socket.acceptOpen();
          facts = { openedAt: now, lastSentAt: now, frames: 0, token: socket.protocols?.[1] ?? "" };
          seen.set(socket, facts);
        }
        for (const frame of socket.sentFrames().slice(facts.frames) as Array<{ action: string; token?: string }>) {
          facts.lastSentAt = now;
          if (frame.action === ROUTE.reauth && frame.token) {
            reauths += 1;
            facts.token = frame.token;
            socket.receive({
              type: "reauthenticated",
              expiresAt: new Date(expiries.get(frame.token) ?? 0).toISOString(),
            });
          }
        }
        facts.frames = socket.sent.length;
        expect(now - facts.openedAt).toBeLessThan(LIMITS.connectionLifetimeMs);
        expect(now - facts.lastSentAt).toBeLessThan(LIMITS.idleTimeoutMs);
        expect(expiries.get(facts.token) ?? 0).toBeGreaterThan(now);
      }
    }
    expect(client.status.state).toBe("open");
    expect(states).not.toContain("reconnecting");
    // Two recycles before the 2-hour cap in 5 hours, and reauths in between for hour-long tokens.
    expect(FakeWebSocket.instances).toHaveLength(3);
    expect(reauths).toBeGreaterThanOrEqual(3);
  });
});

describe("describeClose", () => {
  it("puts every close in words", () => {
    expect(describeClose(1006, "", false)).toMatch(/did not accept the connection/);
    expect(describeClose(1006, "", true)).toBe("the connection was lost");
    expect(describeClose(1001, "going away", true)).toBe("the server went away: going away");
    expect(describeClose(1009, "", true)).toMatch(/too large/);
    expect(describeClose(1011, "", true)).toBe("the server hit an error");
    expect(describeClose(4401, "token expired", true)).toBe("closed with code 4401: token expired");
  });
});
