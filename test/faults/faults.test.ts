import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAll, connect, tryConnect } from "../../bench/lib/clients";
import { settle } from "../../bench/lib/registry";
import { createLoadUsers, type LoadUser } from "../../bench/lib/users";
import { type FaultStack, startFaultStack } from "./support/fault-stack";

/**
 * Fault suite: each case breaks one thing on purpose and checks what the user sees (a refused
 * handshake, an error frame, a close) and that nothing is lost or leaked (registry rows, open
 * sockets), then that the system recovers once the fault is gone.
 */

const INTEGRATION_TIMEOUT_MS = 1_500;

let stack: FaultStack;
let alice: LoadUser;
let bob: LoadUser;

async function liveRows(): Promise<number> {
  let count = 0;
  for await (const page of stack.store.walk({ includeExpired: true })) count += page.length;
  return count;
}

/** Waits (bounded) until the gateway has no sockets and the registry no rows, and returns both counts. */
async function leftovers() {
  const sockets = await settle(() => stack.gateway.connectionCount(), 0);
  const rows = await settle(liveRows, 0);
  return { sockets, rows };
}

beforeAll(async () => {
  stack = await startFaultStack({ gatewayLimits: { integrationTimeoutMs: INTEGRATION_TIMEOUT_MS } });
  [alice, bob] = (await createLoadUsers(stack.outputs, 2, "fault")) as [LoadUser, LoadUser];
}, 120_000);
afterAll(() => stack?.stop());

describe("DynamoDB stops while clients connect and send", () => {
  it("refuses new connections cleanly, answers sends with error frames, and recovers when it returns", async () => {
    const client = await connect(stack.outputs.webSocketUrl, alice.idToken);
    await client.request({ action: "ping" }, (frame) => frame.type === "pong");

    await stack.dynamoProxy.cut();
    try {
      // A new connection cannot be registered: the handshake is refused (500), no socket opens.
      const refused = await tryConnect(stack.outputs.webSocketUrl, bob.idToken);
      expect(refused).toMatchObject({ ok: false, status: 500 });
      // The open connection gets an error frame with a stable code, and stays open.
      const error = await client.request({ action: "whoami" }, (frame) => frame.type === "error");
      expect(error).toMatchObject({ type: "error", code: "dependency_failed" });
      expect(client.open).toBe(true);
    } finally {
      await stack.dynamoProxy.restore();
    }

    const back = await connect(stack.outputs.webSocketUrl, bob.idToken);
    const identity = await back.request({ action: "whoami" }, (frame) => frame.type === "identity");
    expect(identity).toMatchObject({ userId: bob.userId, username: bob.username });
    // Alice's row, written before the outage, is still there: nothing was lost.
    expect(await client.request({ action: "whoami" }, (frame) => frame.type === "identity")).toMatchObject({
      userId: alice.userId,
      connections: 1,
    });
    await closeAll([client, back]);
    expect(await leftovers()).toEqual({ sockets: 0, rows: 0 });
  });
});

describe("handlers that fail", () => {
  it("a throwing handler costs the caller one error frame; a hanging one times out; the connection lives on", async () => {
    const original = stack.handlers.routes;
    stack.gateway.setRoutes({
      ...original,
      whoami: async () => {
        throw new Error("bug in whoami");
      },
      ping: () => new Promise(() => {}),
    });
    const client = await connect(stack.outputs.webSocketUrl, alice.idToken);
    try {
      const thrown = await client.request({ action: "whoami" }, (frame) => frame.message === "Internal server error");
      expect(thrown).not.toHaveProperty("type");
      const hung = await client.request({ action: "ping" }, (frame) => frame.message === "Internal server error");
      expect(hung).toMatchObject({ message: "Internal server error" });
      const echo = await client.request({ still: "here" }, (frame) => frame.type === "echo");
      expect(echo).toMatchObject({ message: { still: "here" } });
      expect(client.open).toBe(true);
    } finally {
      stack.gateway.setRoutes(original);
    }
    await client.close();
    expect(await leftovers()).toEqual({ sockets: 0, rows: 0 });
  });
});

describe("clients that vanish without a close frame", () => {
  it("each still gets its $disconnect: no socket and no row is left", async () => {
    const clients = await Promise.all(
      Array.from({ length: 10 }, (_, index) => connect(stack.outputs.webSocketUrl, (index % 2 ? alice : bob).idToken)),
    );
    await Promise.all(clients.map((client) => client.request({ action: "ping" }, (frame) => frame.type === "pong")));
    expect(await liveRows()).toBe(10);
    for (const client of clients) client.vanish();
    expect(await leftovers()).toEqual({ sockets: 0, rows: 0 });
  });
});

describe("a send to a connection that no longer exists (410)", () => {
  it("prunes the row and still delivers to the live connections", async () => {
    // A row whose connection the gateway never had (as after a lost `$disconnect`).
    const live = await connect(stack.outputs.webSocketUrl, bob.idToken);
    const bobIdentity = await live.request({ action: "whoami" }, (frame) => frame.type === "identity");
    await stack.store.register({
      connectionId: "StaleConnId0001=",
      identity: {
        userId: bob.userId,
        username: bob.username,
        groups: [],
        tokenExp: Number(bobIdentity.tokenExp),
        transport: "subprotocol",
      },
      connectedAt: Date.now(),
    });
    expect(await liveRows()).toBe(2);
    const sender = await connect(stack.outputs.webSocketUrl, alice.idToken);
    sender.send({ action: "sendmessage", to: bob.username, data: { hi: "bob" } });
    expect(await live.next((frame) => frame.type === "message")).toMatchObject({
      from: { userId: alice.userId },
      data: { hi: "bob" },
    });
    expect(await settle(async () => (await stack.store.get("StaleConnId0001=")) === undefined, true)).toBe(true);
    expect(sender.frames.filter((frame) => frame.type === "error")).toEqual([]);
    await closeAll([live, sender]);
    expect(await leftovers()).toEqual({ sockets: 0, rows: 0 });
  });
});
