import { readFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { networkInterfaces } from "node:os";
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { DescribeUserPoolClientCommand, UpdateUserPoolClientCommand } from "@aws-sdk/client-cognito-identity-provider";
import { createChannelStore } from "@wsauth/core/channel";
import { type ConnectionStore, createConnectionStore } from "@wsauth/core/connection";
import { LOCAL_CREDENTIALS, SUBPROTOCOL } from "@wsauth/core/constants";
import { createMessenger, createRealtime, REAUTH_REFUSALS } from "@wsauth/core/messaging";
import { createRevocationStore } from "@wsauth/core/revocation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startCognitoEmulator } from "../cognito/emulator";
import { localCognitoClient } from "../cognito/index";
import { localDynamoClient } from "../dynamo/index";
import type { Reporter } from "../runner/index";
import { httpRequest, type SignedInTokens, signInDemoUser, startTestStack, type TestStack } from "../testing/index";
import { outputsPath } from "./index";

type Frame = Record<string, unknown>;

/** Opens a socket (token as subprotocol) that collects frames; or the HTTP status it was refused with. */
function openSocket(
  url: string,
  idToken: string,
  options: WebSocket.ClientOptions = {},
): Promise<
  | { ok: true; socket: WebSocket; next: (match: (frame: Frame) => boolean) => Promise<Frame> }
  | { ok: false; status: number }
> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [SUBPROTOCOL, idToken], options);
    const frames: Frame[] = [];
    const waiters: Array<() => void> = [];
    socket.on("message", (data) => {
      frames.push(JSON.parse(String(data)) as Frame);
      for (const wake of waiters.splice(0)) wake();
    });
    const next = async (match: (frame: Frame) => boolean): Promise<Frame> => {
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        await new Promise<void>((wake) => waiters.push(wake));
      }
    };
    socket.once("open", () => resolve({ ok: true, socket, next }));
    socket.once("unexpected-response", (_req, res) => {
      resolve({ ok: false, status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once("error", reject);
  });
}

async function mustOpen(url: string, idToken: string, options: WebSocket.ClientOptions = {}) {
  const result = await openSocket(url, idToken, options);
  if (!result.ok) throw new Error(`socket refused with ${result.status}`);
  return result;
}

/** The machine's non-loopback IPv4 addresses (a container may have none). */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry && entry.family === "IPv4" && !entry.internal)
    .map((entry) => entry?.address ?? "");
}

/** Whether something accepts TCP connections on `address:port`. */
function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, address);
    socket.setTimeout(2000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const portOf = (url: string) => Number(new URL(url.replace(/^ws/, "http")).port);

const OWN_FRONT_END = "http://localhost:5173";

describe("local stack: closed to the world (black box)", () => {
  let stack: TestStack;
  let alice: SignedInTokens;

  beforeAll(async () => {
    stack = await startTestStack({ allowedOrigins: [OWN_FRONT_END] });
    alice = await signInDemoUser(stack.outputs, 0);
  });
  afterAll(() => stack?.stop());

  it("publishes its one credential pair in outputs.json, and @connections accepts the SDK signing with it", async () => {
    const written = JSON.parse(await readFile(outputsPath(stack.stateDir), "utf8")) as Record<string, unknown>;
    expect(written.localCredentials).toStrictEqual({
      accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
      secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
    });
    const socket = await mustOpen(stack.outputs.webSocketUrl, alice.idToken);
    try {
      socket.socket.send(JSON.stringify({ action: "whoami" }));
      const { connectionId } = await socket.next((frame) => frame.type === "identity");
      const sdk = new ApiGatewayManagementApiClient({
        endpoint: stack.outputs.managementEndpoint,
        region: stack.outputs.region,
        credentials: stack.outputs.localCredentials,
      });
      try {
        const data = JSON.stringify({ type: "message", data: "signed" });
        await sdk.send(new PostToConnectionCommand({ ConnectionId: String(connectionId), Data: data }));
        expect(await socket.next((frame) => frame.type === "message")).toMatchObject({ data: "signed" });
      } finally {
        sdk.destroy();
      }

      const unsigned = await fetch(
        `${stack.outputs.managementEndpoint}/@connections/${encodeURIComponent(String(connectionId))}`,
        { method: "POST", body: "unsigned" },
      );
      expect(unsigned.status).toBe(403);
      const forged = new ApiGatewayManagementApiClient({
        endpoint: stack.outputs.managementEndpoint,
        region: stack.outputs.region,
        credentials: { ...stack.outputs.localCredentials, secretAccessKey: "guessed" },
        maxAttempts: 1,
      });
      const refused = await forged
        .send(new PostToConnectionCommand({ ConnectionId: String(connectionId), Data: "forged" }))
        .catch((error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode);
      forged.destroy();
      expect(refused).toBe(403);
    } finally {
      socket.socket.close();
    }
  });

  it("refuses a socket from another browser origin, accepts an allowed one and clients without Origin", async () => {
    expect(await openSocket(stack.outputs.webSocketUrl, alice.idToken, { origin: "https://evil.example" })).toEqual({
      ok: false,
      status: 403,
    });
    const fromOwnFrontEnd = await mustOpen(stack.outputs.webSocketUrl, alice.idToken, { origin: OWN_FRONT_END });
    fromOwnFrontEnd.socket.close();
  });

  it("answers requests for a host name that is not loopback with 421 (gateway and Cognito)", async () => {
    const gateway = await httpRequest(`${stack.outputs.managementEndpoint}/@connections/x`, {
      headers: { host: "evil.example" },
    });
    expect(gateway.status).toBe(421);
    const cognito = await httpRequest(
      `${stack.outputs.cognitoEndpoint}/${stack.outputs.userPoolId}/.well-known/jwks.json`,
      {
        headers: { host: "evil.example" },
      },
    );
    expect(cognito.status).toBe(421);
    const upgrade = await openSocket(stack.outputs.webSocketUrl, alice.idToken, {
      headers: { host: "rebound.example" },
    });
    expect(upgrade).toEqual({ ok: false, status: 421 });
  });

  it("the Cognito endpoint answers CORS for the allowed origins only, never with a wildcard", async () => {
    const preflight = (origin: string) =>
      httpRequest(stack.outputs.cognitoEndpoint, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,x-amz-target,x-amz-user-agent",
        },
      });
    const allowed = await preflight(OWN_FRONT_END);
    expect(allowed.status).toBe(204);
    expect(allowed.headers["access-control-allow-origin"]).toBe(OWN_FRONT_END);
    const refused = await preflight("https://evil.example");
    expect(refused.status).toBe(403);
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();

    // A sign-in posted from a foreign page is refused outright; from the allowed one it works, and no
    // answer names any origin but the caller's.
    const signIn = (origin: string) =>
      fetch(stack.outputs.cognitoEndpoint, {
        method: "POST",
        headers: {
          origin,
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        body: JSON.stringify({
          AuthFlow: "USER_PASSWORD_AUTH",
          ClientId: stack.outputs.userPoolClientId,
          AuthParameters: {
            USERNAME: stack.outputs.demoUsers[0]?.username,
            PASSWORD: stack.outputs.demoUsers[0]?.password,
          },
        }),
      });
    const fromEvil = await signIn("https://evil.example");
    expect(fromEvil.status).toBe(403);
    expect(JSON.stringify(await fromEvil.json())).not.toContain("IdToken");
    const fromSite = await signIn(OWN_FRONT_END);
    expect(fromSite.status).toBe(200);
    expect(fromSite.headers.get("access-control-allow-origin")).toBe(OWN_FRONT_END);
    await fromSite.body?.cancel();
  });

  it("the local DynamoDB refuses foreign host names and every browser (it would answer CORS for any origin)", async () => {
    const foreign = await httpRequest(stack.outputs.dynamoEndpoint, {
      method: "POST",
      headers: { host: "evil.example" },
    });
    expect(foreign.status).toBe(421);
    const preflight = await httpRequest(stack.outputs.dynamoEndpoint, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    const fromPage = await fetch(stack.outputs.dynamoEndpoint, {
      method: "POST",
      headers: {
        origin: OWN_FRONT_END,
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "DynamoDB_20120810.ListTables",
      },
      body: "{}",
    });
    expect(fromPage.status).toBe(403);
    expect(await fromPage.text()).not.toContain(stack.outputs.tableName);
  });

  it("every emulator listens on loopback only", async () => {
    const ports = [
      portOf(stack.outputs.dynamoEndpoint),
      portOf(stack.outputs.cognitoEndpoint),
      portOf(stack.outputs.webSocketUrl),
    ];
    for (const port of ports) expect(await accepts("127.0.0.1", port)).toBe(true);
    for (const address of externalAddresses()) {
      for (const port of ports) expect(await accepts(address, port), `${address}:${port}`).toBe(false);
    }
  });
});

describe("local stack: seed parity and no oracles (black box)", () => {
  let stack: TestStack;
  let alice: SignedInTokens;
  let bob: SignedInTokens;

  beforeAll(async () => {
    stack = await startTestStack();
    [alice, bob] = await Promise.all([signInDemoUser(stack.outputs, 0), signInDemoUser(stack.outputs, 1)]);
  });
  afterAll(() => stack?.stop());

  it("echoes a text frame as it was sent", async () => {
    const socket = await mustOpen(stack.outputs.webSocketUrl, alice.idToken);
    try {
      socket.socket.send("hello");
      expect(await socket.next((frame) => frame.type === "echo")).toEqual({ type: "echo", message: "hello" });
    } finally {
      socket.socket.close();
    }
  });

  it("answers a handshake with oversized headers with a 4xx status, not a dropped socket", async () => {
    const port = portOf(stack.outputs.webSocketUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tcpConnect(port, "127.0.0.1", () =>
        socket.write(
          `GET /${stack.outputs.stage} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            `Sec-WebSocket-Protocol: ${SUBPROTOCOL}, ${"x".repeat(40_000)}\r\n\r\n`,
        ),
      );
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("a message to an unknown user and to a known offline one get frames that cannot be told apart", async () => {
    // Bob has an account and was online a moment ago.
    const bobSocket = await mustOpen(stack.outputs.webSocketUrl, bob.idToken);
    bobSocket.socket.send(JSON.stringify({ action: "ping" }));
    await bobSocket.next((frame) => frame.type === "pong");
    const bobName = stack.outputs.demoUsers[1]?.username ?? "";
    await new Promise<void>((resolve) => {
      bobSocket.socket.once("close", () => resolve());
      bobSocket.socket.close();
    });
    const socket = await mustOpen(stack.outputs.webSocketUrl, alice.idToken);
    try {
      const answers: Frame[] = [];
      for (const to of ["nobody@example.com", bobName]) {
        const seen = answers.length;
        socket.socket.send(JSON.stringify({ action: "sendmessage", to, data: { text: "anyone?" } }));
        answers.push(
          await socket.next((frame) => (frame.type === "sent" || frame.type === "error") && frame.to === to),
        );
        expect(answers).toHaveLength(seen + 1);
      }
      const [unknown, offline] = answers.map(({ to: _to, ...rest }) => rest);
      expect(unknown).toEqual(offline);
      expect(unknown).toEqual({ type: "sent", delivered: 0, gone: 0, failed: 0 });
    } finally {
      socket.socket.close();
    }
  });

  it("a refused reauth says only its code's fixed message", async () => {
    const socket = await mustOpen(stack.outputs.webSocketUrl, alice.idToken);
    try {
      const [header, payload] = alice.idToken.split(".");
      const forged = `${header}.${payload}.${"A".repeat(342)}`;
      const errors: Frame[] = [];
      for (const token of [forged, bob.idToken, "not-a-jwt"]) {
        socket.socket.send(JSON.stringify({ action: "reauth", token }));
        errors.push(await socket.next((frame) => frame.type === "error" && !errors.includes(frame)));
      }
      expect(errors).toEqual([
        { type: "error", code: "unauthorized", message: REAUTH_REFUSALS.unauthorized },
        { type: "error", code: "forbidden", message: REAUTH_REFUSALS.forbidden },
        { type: "error", code: "unauthorized", message: REAUTH_REFUSALS.unauthorized },
      ]);
    } finally {
      socket.socket.close();
    }
  });
});

describe("local stack: the sweep and a reauth racing it (black box)", () => {
  let stack: TestStack;
  afterAll(() => stack?.stop());

  it("a connection renewed by reauth after the sweep read its row stays open; an expired one is closed", async () => {
    stack = await startTestStack();
    // ID tokens that expire well inside a connection's 2 h lifetime, as Cognito's default hour does
    // (the emulator's own default is a day): set on the app client as an admin would.
    const cognito = localCognitoClient(stack.outputs.cognitoEndpoint);
    try {
      const ids = { UserPoolId: stack.outputs.userPoolId, ClientId: stack.outputs.userPoolClientId };
      const { UserPoolClient: client } = await cognito.send(new DescribeUserPoolClientCommand(ids));
      await cognito.send(
        new UpdateUserPoolClientCommand({
          ...ids,
          ...(client?.ExplicitAuthFlows ? { ExplicitAuthFlows: client.ExplicitAuthFlows } : {}),
          IdTokenValidity: 1,
          TokenValidityUnits: { ...client?.TokenValidityUnits, IdToken: "hours" },
        }),
      );
    } finally {
      cognito.destroy();
    }
    const claims = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp: number; iat: number };
    const expOf = (jwt: string) => claims(jwt).exp;
    const [aliceFirst, bob] = await Promise.all([signInDemoUser(stack.outputs, 0), signInDemoUser(stack.outputs, 1)]);
    const oldExp = Math.max(expOf(aliceFirst.idToken), expOf(bob.idToken));
    const aliceSocket = await mustOpen(stack.outputs.webSocketUrl, aliceFirst.idToken);
    const bobSocket = await mustOpen(stack.outputs.webSocketUrl, bob.idToken);
    const idOf = async (socket: Awaited<ReturnType<typeof mustOpen>>) => {
      socket.socket.send(JSON.stringify({ action: "whoami" }));
      return String((await socket.next((frame) => frame.type === "identity")).connectionId);
    };
    const [aliceId, bobId] = [await idOf(aliceSocket), await idOf(bobSocket)];
    // A fresh token that expires after the first ones (tokens carry whole seconds).
    const issuedAt = (Math.max(claims(aliceFirst.idToken).iat, claims(bob.idToken).iat) + 1) * 1000;
    if (Date.now() < issuedAt) await new Promise((resolve) => setTimeout(resolve, issuedAt - Date.now() + 50));
    const aliceFresh = await signInDemoUser(stack.outputs, 0);
    expect(expOf(aliceFresh.idToken)).toBeGreaterThan(oldExp);

    // The sweep runs as it does on AWS, with its clock just past the first tokens' expiry.
    const sweepNow = () => oldExp * 1000 + 500;
    const dynamoClient = localDynamoClient(stack.outputs.dynamoEndpoint);
    const management = new ApiGatewayManagementApiClient({
      endpoint: stack.outputs.managementEndpoint,
      region: stack.outputs.region,
      credentials: stack.outputs.localCredentials,
    });
    try {
      const store = createConnectionStore({ tableName: stack.outputs.tableName, client: dynamoClient, now: sweepNow });
      // Alice's reauth commits after the sweep read her row and before it acts on it.
      const racing: ConnectionStore = {
        ...store,
        async *walk(options) {
          for await (const page of store.walk(options)) {
            if (page.some((record) => record.connectionId === aliceId)) {
              aliceSocket.socket.send(JSON.stringify({ action: "reauth", token: aliceFresh.idToken }));
              await aliceSocket.next((frame) => frame.type === "reauthenticated");
            }
            yield page;
          }
        },
      };
      const messenger = createMessenger({
        endpoint: stack.outputs.managementEndpoint,
        store,
        client: management,
        now: sweepNow,
      });
      const report = await createRealtime({
        store: racing,
        channelStore: createChannelStore({ tableName: stack.outputs.tableName, client: dynamoClient, now: sweepNow }),
        revocations: createRevocationStore({ tableName: stack.outputs.tableName, client: dynamoClient, now: sweepNow }),
        messenger,
        now: sweepNow,
      }).sweep();
      expect(report).toMatchObject({ renewed: 1, closed: 1, failed: 0 });
    } finally {
      management.destroy();
      dynamoClient.destroy();
    }
    expect(await bobSocket.next((frame) => frame.type === "error")).toMatchObject({ code: "token_expired" });
    await new Promise<void>((resolve) => {
      if (bobSocket.socket.readyState === WebSocket.CLOSED) resolve();
      else bobSocket.socket.once("close", () => resolve());
    });
    expect(bobId).not.toBe(aliceId);
    aliceSocket.socket.send(JSON.stringify({ action: "ping" }));
    expect(await aliceSocket.next((frame) => frame.type === "pong")).toEqual({ type: "pong" });
    expect(aliceSocket.socket.readyState).toBe(WebSocket.OPEN);
    aliceSocket.socket.close();
  });
});

describe("cognito-local (behind the bridge)", () => {
  it("listens on loopback only", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dataDir = await mkdtemp(join(tmpdir(), "wsauth-cognito-"));
    const silent: Reporter = { info: () => {}, warn: () => {}, error: () => {} };
    const emulator = await startCognitoEmulator({ dataDir, issuerDomain: "http://127.0.0.1:1", reporter: silent });
    try {
      const url = new URL(emulator.upstream);
      expect(url.hostname).toBe("127.0.0.1");
      const port = Number(url.port);
      expect(await accepts("127.0.0.1", port)).toBe(true);
      for (const address of externalAddresses()) expect(await accepts(address, port), address).toBe(false);
    } finally {
      await emulator.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
