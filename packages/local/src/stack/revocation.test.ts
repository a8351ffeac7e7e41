import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AdminRemoveUserFromGroupCommand } from "@aws-sdk/client-cognito-identity-provider";
import { ADMIN_GROUP, LIMITS, SUBPROTOCOL } from "@wsauth/core/constants";
import { createRevocationStore } from "@wsauth/core/revocation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { localCognitoClient } from "../cognito";
import { localDynamoClient } from "../dynamo";
import { signInDemoUser, startTestStack, type TestStack } from "../testing";
import { outputsPath } from "./index";

// Black-box: a whole local stack (gateway, Cognito emulator, dynalite, the real handlers), real sockets,
// and `pnpm ws revoke` run as its own process, as a developer runs it.

type Frame = Record<string, unknown> & { type?: string };

interface Client {
  socket: WebSocket;
  frames: Frame[];
  closed: Promise<number>;
  next(type: string): Promise<Frame>;
  send(frame: unknown): void;
}

async function connect(url: string, token: string): Promise<Client | { refused: number }> {
  const socket = new WebSocket(url, [SUBPROTOCOL, token]);
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  socket.on("message", (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  const opened = await new Promise<true | number>((resolve) => {
    socket.once("open", () => resolve(true));
    socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
    socket.once("error", () => resolve(0));
  });
  if (opened !== true) return { refused: opened };
  return {
    socket,
    frames,
    closed,
    async next(type) {
      for (;;) {
        const found = frames.find((frame) => frame.type === type);
        if (found) {
          frames.splice(frames.indexOf(found), 1);
          return found;
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    send: (frame) => socket.send(JSON.stringify(frame)),
  };
}

async function open(url: string, token: string): Promise<Client> {
  const client = await connect(url, token);
  if ("refused" in client) throw new Error(`connect refused with ${client.refused}`);
  return client;
}

const CLI = join(fileURLToPath(new URL("../cli/ws.ts", import.meta.url)));

/** `pnpm ws …` as a child process (what the root script runs); resolves to its exit code and output. */
function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      err += String(chunk);
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, out, err }));
  });
}

/** Resolves once every promise has, or rejects after `ms`. */
function within<T>(ms: number, promises: Promise<T>[]): Promise<T[]> {
  return Promise.race([
    Promise.all(promises),
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)),
  ]);
}

/** Waits until the clock has passed `notBefore` (a sign-in in the revocation's own second is refused). */
async function pastNotBefore(notBefore: string): Promise<void> {
  const wait = Date.parse(notBefore) - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 20));
}

describe("revocation on the local stack", () => {
  let stack: TestStack;
  let url: string;
  const clients: Client[] = [];
  const opened = async (token: string) => {
    const client = await open(url, token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await startTestStack();
    url = stack.outputs.webSocketUrl;
  });
  afterAll(async () => {
    for (const { socket } of clients) socket.terminate();
    await stack?.stop();
  });

  it("pnpm ws revoke closes her open sockets within 5 s; her old token is refused, reauth too; a fresh sign-in connects", async () => {
    const alice = await signInDemoUser(stack.outputs, 0);
    const bob = await signInDemoUser(stack.outputs, 1);
    const aliceSockets = [await opened(alice.idToken), await opened(alice.idToken)];
    const bobSocket = await opened(bob.idToken);
    for (const socket of aliceSockets) {
      socket.send({ action: "ping" });
      await socket.next("pong");
    }

    const started = Date.now();
    const revoked = runCli(["revoke", "--user", "alice@example.com", "--outputs", outputsPath(stack.stateDir)]);
    const codes = await within(
      5_000,
      aliceSockets.map((socket) => socket.closed),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(codes).toHaveLength(2);
    for (const socket of aliceSockets) expect(socket.frames.map((frame) => frame.type)).toContain("revoked");

    const { code, out, err } = await revoked;
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const report = JSON.parse(out) as { closed: number; notBefore: string; userId: string };
    expect(report).toMatchObject({ closed: 2, closedLater: 0, failed: 0 });

    // Bob is untouched.
    bobSocket.send({ action: "ping" });
    await bobSocket.next("pong");

    // Her old token no longer connects (the CLI's second look outlasted the authorizer's lookup cache).
    const again = await connect(url, alice.idToken);
    expect([401, 403]).toContain("refused" in again ? again.refused : 101);

    // A fresh sign-in connects; the old token cannot reauth it.
    await pastNotBefore(report.notBefore);
    const fresh = await signInDemoUser(stack.outputs, 0);
    const freshSocket = await opened(fresh.idToken);
    freshSocket.send({ action: "reauth", token: alice.idToken });
    expect(await freshSocket.next("error")).toMatchObject({ code: "unauthorized" });
    freshSocket.send({ action: "reauth", token: fresh.idToken });
    await freshSocket.next("reauthenticated");
  }, 30_000);

  it("a demoted admin cannot broadcast: the group change revokes, and only a new sign-in (without the group) connects", async () => {
    const admin = await signInDemoUser(stack.outputs, 0);
    const adminSocket = await opened(admin.idToken);
    adminSocket.send({ action: "broadcast", data: { n: 1 } });
    await adminSocket.next("broadcasted");
    const sub = JSON.parse(Buffer.from(admin.idToken.split(".")[1] ?? "", "base64url").toString()).sub as string;

    // The admin action in Cognito, then the CloudTrail event of it as EventBridge hands it to `Revoke`
    // (the user name hidden, the sub recorded), here straight into the local `Revoke` function.
    const cognito = localCognitoClient(stack.outputs.cognitoEndpoint);
    try {
      await cognito.send(
        new AdminRemoveUserFromGroupCommand({
          UserPoolId: stack.outputs.userPoolId,
          Username: "alice@example.com",
          GroupName: ADMIN_GROUP,
        }),
      );
    } finally {
      cognito.destroy();
    }
    const report = (await stack.handlers.jobs.revoke(
      {
        version: "0",
        "detail-type": "AWS API Call via CloudTrail",
        source: "aws.cognito-idp",
        detail: {
          eventSource: "cognito-idp.amazonaws.com",
          eventName: "AdminRemoveUserFromGroup",
          requestParameters: { userPoolId: stack.outputs.userPoolId, username: "HIDDEN_DUE_TO_SECURITY_REASONS" },
          additionalEventData: { sub },
        },
      },
      { getRemainingTimeInMillis: () => LIMITS.integrationTimeoutMs } as never,
    )) as { closed: number; notBefore: string };
    // Her admin socket, and the one of her fresh sign-in in the test before.
    expect(report).toMatchObject({ closed: 2, failed: 0 });
    await adminSocket.closed;

    // The admin token (with the group) is refused; a new sign-in carries no `admins` and may not broadcast.
    const again = await connect(url, admin.idToken);
    expect("refused" in again ? again.refused : 101).toBe(401);
    await pastNotBefore(report.notBefore);
    const demoted = await signInDemoUser(stack.outputs, 0);
    const demotedSocket = await opened(demoted.idToken);
    demotedSocket.send({ action: "broadcast", data: { n: 2 } });
    expect(await demotedSocket.next("error")).toMatchObject({ code: "forbidden" });
  }, 30_000);

  it("broadcast reads the revocation, not the connection's stale groups: a connection the close missed may not broadcast", async () => {
    const bob = await signInDemoUser(stack.outputs, 1);
    // Bob is no admin; make the point with a connection whose row says admins but whose sign-in was
    // revoked: a revocation record written without closing anything (what a missed close leaves).
    const store = createRevocationStore({
      tableName: stack.outputs.tableName,
      client: localDynamoClient(stack.outputs.dynamoEndpoint),
    });
    const cognito = localCognitoClient(stack.outputs.cognitoEndpoint);
    const { AdminAddUserToGroupCommand } = await import("@aws-sdk/client-cognito-identity-provider");
    await cognito.send(
      new AdminAddUserToGroupCommand({
        UserPoolId: stack.outputs.userPoolId,
        Username: "bob@example.com",
        GroupName: ADMIN_GROUP,
      }),
    );
    cognito.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const promoted = await signInDemoUser(stack.outputs, 1);
    expect(promoted.idToken).not.toBe(bob.idToken);
    const socket = await opened(promoted.idToken);
    socket.send({ action: "broadcast", data: { n: 3 } });
    await socket.next("broadcasted");
    const sub = JSON.parse(Buffer.from(promoted.idToken.split(".")[1] ?? "", "base64url").toString()).sub as string;
    const record = await store.revoke(sub, "test");
    socket.send({ action: "broadcast", data: { n: 4 } });
    expect(await socket.next("error")).toMatchObject({ code: "forbidden", message: expect.stringMatching(/revoked/) });
    // A sign-in after the revocation is stored with its sign-in time, and may broadcast again.
    await pastNotBefore(new Date(record.notBefore * 1000).toISOString());
    const fresh = await signInDemoUser(stack.outputs, 1);
    const freshSocket = await opened(fresh.idToken);
    freshSocket.send({ action: "broadcast", data: { n: 5 } });
    await freshSocket.next("broadcasted");
  }, 30_000);
});
