import { readFile } from "node:fs/promises";
import { createChannelStore } from "@wsauth/core/channel";
import { OUTPUT_KEYS, SUBPROTOCOL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { localDynamoClient } from "../dynamo";
import { LocalStackError } from "../runner";
import { type OccupiedPort, occupyPort, signInDemoUser, startTestStack, type TestStack } from "../testing";
import { outputsPath } from "./index";

/** Opens a socket with the token in the subprotocol and collects its frames. */
async function connect(url: string, idToken: string) {
  const socket = new WebSocket(url, [SUBPROTOCOL, idToken]);
  const frames: unknown[] = [];
  const waiters: Array<() => void> = [];
  socket.on("message", (data) => {
    frames.push(JSON.parse(String(data)));
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const next = async (predicate: (frame: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = (frames as Record<string, unknown>[]).find(predicate);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { socket, next };
}

describe("local stack (programmatic)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it("writes outputs.json with the shared contract keys once it is up", async () => {
    const written = JSON.parse(await readFile(outputsPath(stack.stateDir), "utf8")) as Record<string, unknown>;
    expect(written).toEqual(stack.outputs);
    for (const key of [...OUTPUT_KEYS, "cognitoEndpoint", "dynamoEndpoint"]) {
      expect(typeof written[key], key).toBe("string");
    }
    expect(stack.outputs.webUrl).toBe("");
    expect(stack.outputs.webSocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/local$/);
    expect(stack.outputs.managementEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/local$/);
    expect(stack.outputs.demoUsers.length).toBeGreaterThanOrEqual(2);
    expect(stack.handlers.status().missing).toEqual([]);
  });

  it("a demo user signs in and echoes over the socket through the real handlers", async () => {
    const { idToken } = await signInDemoUser(stack.outputs, 1);
    const { socket, next } = await connect(stack.outputs.webSocketUrl, idToken);
    try {
      expect(socket.protocol).toBe(SUBPROTOCOL);
      socket.send(JSON.stringify({ hello: "local" }));
      expect(await next((frame) => frame.type === "echo")).toMatchObject({ message: { hello: "local" } });
      socket.send(JSON.stringify({ action: "whoami" }));
      expect(await next((frame) => frame.type === "identity")).toMatchObject({
        username: stack.outputs.demoUsers[1]?.username,
      });
    } finally {
      socket.close();
    }
  });

  it("takes the token from the query string and still answers a client that offered wsauth.v1", async () => {
    const { idToken } = await signInDemoUser(stack.outputs, 0);
    const socket = new WebSocket(`${stack.outputs.webSocketUrl}?idToken=${encodeURIComponent(idToken)}`, [SUBPROTOCOL]);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      });
      expect(socket.protocol).toBe(SUBPROTOCOL);
    } finally {
      socket.close();
    }
  });

  it("refuses a socket without a valid token", async () => {
    const socket = new WebSocket(stack.outputs.webSocketUrl, [SUBPROTOCOL, "not-a-jwt"]);
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once("unexpected-response", (_request, response) => resolve(response.statusCode));
      socket.once("open", () => resolve(101));
      socket.once("error", () => resolve(undefined));
    });
    expect(status).toBe(401);
  });
});

describe("local stack shutdown and failures", () => {
  it("stop() disconnects every socket and leaves no connection, subscription or presence rows", async () => {
    const warnings: string[] = [];
    const stack = await startTestStack({
      reporter: { info: () => {}, warn: (line) => warnings.push(line), error: () => {} },
    });
    try {
      const { idToken } = await signInDemoUser(stack.outputs, 0);
      const { socket, next } = await connect(stack.outputs.webSocketUrl, idToken);
      socket.send(JSON.stringify({ action: "subscribe", channel: "presence/stop" }));
      await next((frame) => frame.type === "subscribed");
      // A subscription of a connection the gateway never had: nothing removes it, the count must see it.
      const client = localDynamoClient(stack.outputs.dynamoEndpoint);
      await createChannelStore({ tableName: stack.outputs.tableName, client }).subscribe({
        channel: "public/stray",
        connectionId: "stray=",
        userId: "stray",
        username: "stray@example.com",
        expireAt: Math.floor(Date.now() / 1000) + 60,
      });
      client.destroy();
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      expect(stack.gateway.connectionCount()).toBe(1);
      const report = await stack.stop();
      await closed;
      expect(report).toEqual({ leftoverRows: 1, leftover: { connection: 0, subscription: 1, presence: 0 } });
      expect(warnings).toEqual([
        "0 connection, 1 subscription and 0 presence row(s) left in the registry after every socket disconnected",
      ]);
    } finally {
      await stack.stop();
    }
  });

  describe("a port in use", () => {
    let busy: OccupiedPort;
    let busyPort: number;
    beforeAll(async () => {
      busy = await occupyPort();
      busyPort = busy.port;
    });
    afterAll(() => busy.release());

    it("fails with one clear line naming the port, its role and the fix", async () => {
      const failure = await startTestStack({ ports: { gateway: busyPort } }).then(
        async (stack) => {
          await stack.stop();
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(LocalStackError);
      expect((failure as LocalStackError).message).toBe(`port ${busyPort} (WebSocket gateway) is already in use`);
      expect((failure as LocalStackError).fix).toContain("--gateway-port");
      expect((failure as LocalStackError).fix).toContain("WSAUTH_GATEWAY_PORT");
    });
  });
});
