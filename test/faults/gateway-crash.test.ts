import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { createChannelStore } from "@wsauth/core/channel";
import { createConnectionStore } from "@wsauth/core/connection";
import { LIMITS, LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { createMessenger, createRealtime } from "@wsauth/core/messaging";
import { createRevocationStore } from "@wsauth/core/revocation";
import { type LocalCognito, startCognito } from "@wsauth/local/cognito";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { consoleReporter } from "@wsauth/local/runner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAll, connect } from "../../bench/lib/clients";
import { settle } from "../../bench/lib/registry";
import { createLoadUsers, type LoadUser } from "../../bench/lib/users";

/**
 * The gateway process is killed (SIGKILL: no close frames, no `$disconnect`) and started again on the
 * same port. Clients see an abnormal close and reconnect; the dead connections' rows are pruned by
 * the first send that gets 410 and by the sweep.
 */

const CHILD = fileURLToPath(new URL("./support/gateway-child.ts", import.meta.url));
const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface GatewayProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

let stateDir: string;
let dynamo: LocalDynamo;
let cognito: LocalCognito;
let dynamoClient: ReturnType<typeof localDynamoClient>;
const running = new Set<GatewayProcess>();

function startGatewayProcess(port: number): Promise<GatewayProcess> {
  const config = {
    port,
    stateDir: join(stateDir, `gateway-${running.size}-${Date.now()}`),
    linked: {
      tableName: LOCAL.tableName,
      userPoolId: cognito.userPoolId,
      clientId: cognito.clientId,
      issuer: cognito.issuer,
      jwksUri: cognito.jwksUri,
      webUrl: "",
      dynamoEndpoint: dynamo.endpoint,
    },
  };
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, WSAUTH_GATEWAY_CHILD: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const line = buffered.split("\n").find((candidate) => candidate.startsWith('{"port"'));
      if (!line) return;
      const started = { child, port: (JSON.parse(line) as { port: number }).port, exited };
      running.add(started);
      void exited.then(() => running.delete(started));
      resolve(started);
    });
    void exited.then(() => reject(new Error("the gateway process exited before it was ready")));
  });
}

async function rows(): Promise<number> {
  const store = createConnectionStore({ tableName: LOCAL.tableName, client: dynamoClient });
  let count = 0;
  for await (const page of store.walk({ includeExpired: true })) count += page.length;
  return count;
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "wsauth-crash-"));
  dynamo = await startDynamo({ port: 0 });
  dynamoClient = localDynamoClient(dynamo.endpoint);
  await createConnectionsTable(dynamoClient, LOCAL.tableName);
  cognito = await startCognito({ port: 0, stateDir, reporter: consoleReporter({ quiet: true }) });
}, 120_000);

afterAll(async () => {
  for (const gateway of running) {
    gateway.child.kill("SIGTERM");
    await gateway.exited;
  }
  dynamoClient?.destroy();
  await cognito?.stop();
  await dynamo?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe("the gateway process is killed and restarted", () => {
  it("clients see the drop and reconnect; stale rows are pruned on send and by the sweep", async () => {
    const outputs = {
      region: LOCAL.region,
      stage: LOCAL.stage,
      userPoolId: cognito.userPoolId,
      userPoolClientId: cognito.clientId,
      cognitoEndpoint: cognito.endpoint,
    };
    const [alice, bob] = (await createLoadUsers(
      {
        ...outputs,
        webSocketUrl: "",
        managementEndpoint: "",
        tableName: LOCAL.tableName,
        webUrl: "",
        dynamoEndpoint: dynamo.endpoint,
        demoUsers: [],
        localCredentials: { ...LOCAL_CREDENTIALS },
      },
      2,
      "crash",
    )) as [LoadUser, LoadUser];
    const first = await startGatewayProcess(0);
    const url = `ws://127.0.0.1:${first.port}/${LOCAL.stage}`;
    const before = await Promise.all([
      connect(url, alice.idToken),
      connect(url, bob.idToken),
      connect(url, bob.idToken),
    ]);
    await Promise.all(before.map((client) => client.request({ action: "ping" }, (frame) => frame.type === "pong")));
    expect(await rows()).toBe(3);

    first.child.kill("SIGKILL");
    await first.exited;
    // What the user sees: the socket drops without a close frame.
    const closes = await Promise.all(before.map((client) => client.closed));
    expect(closes.map((close) => close.code)).toEqual([1006, 1006, 1006]);
    // Nobody ran `$disconnect`: the rows are stale.
    expect(await rows()).toBe(3);

    await startGatewayProcess(first.port);
    const aliceAgain = await connect(url, alice.idToken);
    const bobAgain = await connect(url, bob.idToken);
    expect(await rows()).toBe(5);

    // A message to Bob reaches his new connection; his two stale rows answer 410 and are pruned.
    const receipt = await aliceAgain.request(
      { action: "sendmessage", to: bob.userId, data: { after: "restart" } },
      (frame) => frame.type === "sent" || frame.type === "error",
    );
    expect(receipt).toMatchObject({ type: "sent", delivered: 1, gone: 2, failed: 0 });
    expect(await bobAgain.next((frame) => frame.type === "message")).toMatchObject({ data: { after: "restart" } });
    expect(await rows()).toBe(3);

    // Alice's stale row (nobody sends to it) goes with the sweep that runs once the connection is past
    // the lifetime cap: the gateway answers 410 for it (gone) and closes the two live ones.
    const management = new ApiGatewayManagementApiClient({
      endpoint: `http://127.0.0.1:${first.port}/${LOCAL.stage}`,
      region: LOCAL.region,
      credentials: { ...LOCAL_CREDENTIALS },
    });
    try {
      const now = () => Date.now() + LIMITS.connectionLifetimeMs + 60_000;
      const store = createConnectionStore({ tableName: LOCAL.tableName, client: dynamoClient, now });
      const messenger = createMessenger({ endpoint: "", store, client: management, log: quiet });
      const channelStore = createChannelStore({ tableName: LOCAL.tableName, client: dynamoClient, now });
      const revocations = createRevocationStore({ tableName: LOCAL.tableName, client: dynamoClient, now });
      const report = await createRealtime({ store, channelStore, messenger, revocations, now, log: quiet }).sweep();
      expect(report).toMatchObject({ scanned: 3, closed: 3, gone: 1, failed: 0 });
    } finally {
      management.destroy();
    }
    await Promise.all([aliceAgain.closed, bobAgain.closed]);
    await closeAll([aliceAgain, bobAgain]);
    expect(await settle(rows, 0)).toBe(0);
  });
});
