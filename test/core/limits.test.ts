import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import type { ConnectionIdentity } from "@wsauth/core/auth";
import { createChannelStore } from "@wsauth/core/channel";
import { type ConnectionStore, createConnectionEntity, createConnectionStore, shardOf } from "@wsauth/core/connection";
import { ABUSE_LIMITS, ABUSE_LIMITS_ENV, LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import {
  abuseLimitsFromEnv,
  createMessenger,
  createRealtime,
  frameWindowOf,
  type Realtime,
} from "@wsauth/core/messaging";
import { createRevocationStore } from "@wsauth/core/revocation";
import { type ConnectionsServer, startConnectionsServer } from "@wsauth/core/testing";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
let clock = T0;
const now = () => clock;

const alice: ConnectionIdentity = {
  userId: "sub-alice",
  username: "alice@example.com",
  groups: [],
  tokenExp: Math.floor(T0 / 1000) + 3600,
  transport: "query",
};
const limits = { maxConnectionsPerUser: 3, message: { ratePerSecond: 2, burst: 4 } };

describe("abuse limits in the core (dynalite + @connections over HTTP)", () => {
  let dynamo: LocalDynamo;
  let gateway: ConnectionsServer;
  let store: ConnectionStore;
  let realtime: Realtime;
  /** DynamoDB operations the store sent, by command name. */
  let sent: string[];
  let table = 0;
  let next = 0;
  let rawConnections: () => ReturnType<typeof createConnectionEntity>;

  beforeAll(async () => {
    [dynamo, gateway] = await Promise.all([startDynamo({ port: 0 }), startConnectionsServer(LOCAL.stage)]);
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), gateway.stop()]);
  });
  beforeEach(async () => {
    clock = T0;
    sent = [];
    const tableName = `limits-${table++}`;
    const client = localDynamoClient(dynamo.endpoint);
    await createConnectionsTable(client, tableName);
    client.middlewareStack.add(
      (nextHandler, context) => async (args) => {
        sent.push(String(context.commandName));
        return nextHandler(args);
      },
      { step: "initialize" },
    );
    store = createConnectionStore({ tableName, client, now });
    rawConnections = () => createConnectionEntity(client, tableName);
    const management = new ApiGatewayManagementApiClient({
      endpoint: gateway.endpoint,
      region: LOCAL.region,
      credentials: { ...LOCAL_CREDENTIALS },
      maxAttempts: 1,
    });
    const messenger = createMessenger({ endpoint: gateway.endpoint, store, client: management, now });
    const channelStore = createChannelStore({ tableName, client, now });
    const revocations = createRevocationStore({ tableName, client, now });
    realtime = createRealtime({ store, channelStore, messenger, revocations, now, limits });
  });

  const connect = async (connectedAt = clock) => {
    const connectionId = `c${next++}=`;
    gateway.open(connectionId);
    await realtime.connect({ connectionId, identity: alice, connectedAt });
    return connectionId;
  };

  it("reads the limits from the environment and refuses a bad value", () => {
    expect(abuseLimitsFromEnv({})).toEqual({
      maxConnectionsPerUser: ABUSE_LIMITS.maxConnectionsPerUser,
      message: { ...ABUSE_LIMITS.message },
    });
    expect(
      abuseLimitsFromEnv({
        [ABUSE_LIMITS_ENV.maxConnectionsPerUser]: "3",
        [ABUSE_LIMITS_ENV.messageRatePerSecond]: "5",
        [ABUSE_LIMITS_ENV.messageBurst]: "15",
      }),
    ).toEqual({ maxConnectionsPerUser: 3, message: { ratePerSecond: 5, burst: 15 } });
    expect(() => abuseLimitsFromEnv({ [ABUSE_LIMITS_ENV.maxConnectionsPerUser]: "0" })).toThrow(
      "WSAUTH_MAX_CONNECTIONS_PER_USER must be a positive integer",
    );
    expect(frameWindowOf(abuseLimitsFromEnv({}))).toEqual({ windowMs: 2000, max: 20 });
  });

  it("holds the cap under concurrent connects, writes nothing for a refused one, and frees a place on every removal", async () => {
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => connect()));
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(3);
    const refused = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
    expect(refused).toHaveLength(9);
    for (const error of refused) expect(error).toMatchObject({ code: "too_many_connections" });
    const live = await store.listByUser(alice.userId);
    expect(live).toHaveLength(3);
    expect(await store.countedConnections(alice.userId)).toHaveLength(3);

    const [first, second, third] = live.map((row) => row.connectionId) as [string, string, string];
    // $disconnect, a 410 on a send, and the sweep's conditional delete each free a place.
    await realtime.disconnect(first);
    gateway.drop(second);
    expect(await realtime.reply(second, { type: "pong" })).toMatchObject({ gone: 1 });
    expect(await store.removeIfTokenExpired(third, alice.tokenExp)).toBe(true);
    expect(await store.countedConnections(alice.userId)).toEqual([]);
    await Promise.all([connect(), connect(), connect()]);
    await expect(connect()).rejects.toMatchObject({ code: "too_many_connections" });
  });

  it("repairs the count at the cap: drops counted connections with no row or no socket, keeps young ones", async () => {
    const stale = await connect(clock - 10 * 60_000);
    const young = await connect();
    const rowless = await connect(clock - 10 * 60_000);
    gateway.drop(stale); // its $disconnect never came
    // A row gone without its count taken out (as a crash between the two writes would leave it).
    await rawConnections()
      .delete({ shard: shardOf(rowless), connectionId: rowless })
      .go();
    expect(await store.countedConnections(alice.userId)).toHaveLength(3);

    const fresh = await connect();
    const after = (await store.countedConnections(alice.userId)).map((slot) => slot.connectionId).sort();
    expect(after).toEqual([young, fresh].sort());
    expect(await store.get(stale)).toBeUndefined();
    // A young one is never dropped, row or not: it may still be inside its $connect.
    await connect();
    await rawConnections()
      .delete({ shard: shardOf(young), connectionId: young })
      .go();
    await expect(connect()).rejects.toMatchObject({ code: "too_many_connections" });
  });

  it("counts frames in a fixed window on the connection row: one write per admitted frame", async () => {
    const id = await connect();
    const frame = JSON.stringify({ action: "sendmessage", to: "nobody", data: 1 });
    const send = () => realtime.receive("sendmessage", { connectionId: id, authorizer: undefined, body: frame });
    sent = [];
    await send();
    // The first frame of a window opens it: one UpdateItem in place of the GetItem (then the target lookup).
    expect(sent.filter((name) => name !== "QueryCommand")).toEqual(["UpdateItemCommand"]);
    for (let n = 2; n <= limits.message.burst; n++) await send();
    sent = [];
    await expect(send()).rejects.toMatchObject({ code: "throttled" });
    // A refused frame: the refused update and the read that tells "full" from "no row".
    expect(sent).toEqual(["UpdateItemCommand", "GetItemCommand"]);
    expect(gateway.closed()).not.toContain(id);

    clock += frameWindowOf(limits).windowMs;
    sent = [];
    await send();
    expect(sent.filter((name) => name !== "QueryCommand")).toEqual(["UpdateItemCommand"]);
  });

  it("names the channel of a throttled publish, as a client matches refusals to its calls", async () => {
    const id = await connect();
    const body = JSON.stringify({ action: "publish", channel: "public/busy", data: 1 });
    const publish = () => realtime.receive("publish", { connectionId: id, authorizer: undefined, body });
    for (let n = 1; n <= limits.message.burst; n++) await publish();
    await expect(publish()).rejects.toMatchObject({
      code: "throttled",
      message: expect.stringMatching(/^publish public\/busy: too many frames/),
    });
  });

  it("does not count a frame of an unknown connection or write a row for it", async () => {
    await expect(
      realtime.receive("publish", {
        connectionId: "unknown=",
        authorizer: undefined,
        body: JSON.stringify({ action: "publish", channel: "public/x", data: 1 }),
      }),
    ).rejects.toMatchObject({ code: "unauthorized" });
    expect(await store.get("unknown=")).toBeUndefined();
    expect(await store.countFrame("unknown=", frameWindowOf(limits))).toEqual({ outcome: "unregistered" });
  });
});
