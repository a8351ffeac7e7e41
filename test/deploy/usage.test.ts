import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeAuthorizerContext } from "@wsauth/core/auth";
import { createChannelStore } from "@wsauth/core/channel";
import { createConnectionEntity, createConnectionStore, expireAtFor, shardOf } from "@wsauth/core/connection";
import {
  ABUSE_LIMITS,
  AUTHORIZER_HANDLER,
  FANOUT,
  LIMITS,
  LOCAL,
  ROUTE,
  SUBPROTOCOL,
  SWEEP,
  TOKEN_QUERY_PARAM,
} from "@wsauth/core/constants";
import { messageEvent } from "@wsauth/core/testing";
import { localDynamoClient } from "@wsauth/local/dynamo";
import type { RecordedAwsCall, RecordedResourceRead } from "@wsauth/local/handlers";
import { signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import type { Context } from "aws-lambda";
import pMap from "p-map";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { allows, functionFor, type Graph, type GraphFunction, moduleOf, resourcesOf } from "./checks";
import { deployShell, evaluate, mutated } from "./graph";

// IAM and links, both ways: the local stack runs the real handlers through every route and job while
// recording each AWS call (as IAM action + resource) and each `Resource.<Name>` read per handler
// module. Every call must be allowed by that function's policy in the deploy graph, every read must be
// a link of that function; and every action granted and every resource linked must be used.

/**
 * Grants that the tests cannot see used, and why. The `Realtime` link grants `@connections` access to
 * every function linked to it; `$disconnect` builds the shared runtime (which reads the endpoint) but
 * never calls it.
 */
const UNUSED_GRANTS: Record<string, readonly string[]> = {
  disconnect: ["execute-api:ManageConnections"],
};

const lambdaContext = {
  functionName: "deploy-usage",
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:${LOCAL.region}:${LOCAL.accountId}:function:deploy-usage`,
  memoryLimitInMB: "128",
  awsRequestId: "deploy-usage",
  logGroupName: "/aws/lambda/deploy-usage",
  logStreamName: "local",
  // A whole invocation ahead, as the sweep has when it starts (it stops taking pages near its end).
  getRemainingTimeInMillis: () => SWEEP.timeoutSeconds * 1000,
} as Context;

interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A socket with a queue of received frames. */
async function open(url: string, protocols?: string[]) {
  const socket = new WebSocket(url, protocols);
  const frames: Frame[] = [];
  const waiters: Array<{ type: string; resolve: (frame: Frame) => void }> = [];
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    const index = waiters.findIndex((waiter) => waiter.type === frame.type);
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(frame);
    else frames.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    send: (frame: object) => socket.send(JSON.stringify(frame)),
    next: (type: string) =>
      new Promise<Frame>((resolve) => {
        const index = frames.findIndex((frame) => frame.type === type);
        if (index >= 0) resolve(frames.splice(index, 1)[0] as Frame);
        else waiters.push({ type, resolve });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000);
      }),
  };
}

function claims(idToken: string): { sub: string; email: string; exp: number; "cognito:groups"?: string[] } {
  return JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString("utf8"));
}

let stack: TestStack;
let graph: Graph;
const calls: RecordedAwsCall[] = [];
const reads: RecordedResourceRead[] = [];

beforeAll(async () => {
  // The vanished connections make the handlers warn "reply not delivered" (on stderr, from the handler
  // worker); the reports asserted below say the same, so the run stays quiet.
  process.env.WSAUTH_LOG_LEVEL = "error";
  [graph, stack] = await Promise.all([
    evaluate({ stage: "alice", env: deployShell() }),
    startTestStack({
      recorder: { awsCall: (call) => calls.push(call), resourceRead: (read) => reads.push(read) },
    }),
  ]);
  const { outputs } = stack;
  const alice = await signInDemoUser(outputs, 0);
  const bob = await signInDemoUser(outputs, 1);
  const aliceClaims = claims(alice.idToken);
  const bobClaims = claims(bob.idToken);
  const aliceSocket = await open(outputs.webSocketUrl, [SUBPROTOCOL, alice.idToken]);
  const bobSocket = await open(`${outputs.webSocketUrl}?${TOKEN_QUERY_PARAM}=${encodeURIComponent(bob.idToken)}`);

  // Rows of connections the gateway does not hold (a client that vanished without `$disconnect`):
  // sends to them answer 410 and the sender prunes them, with their channel rows.
  const client = localDynamoClient(outputs.dynamoEndpoint);
  const store = createConnectionStore({ tableName: outputs.tableName, client });
  const identityOf = (c: typeof aliceClaims) => ({
    userId: c.sub,
    username: c.email,
    email: c.email,
    groups: c["cognito:groups"] ?? [],
    tokenExp: c.exp,
    transport: "subprotocol" as const,
  });
  const vanished = async (c: typeof aliceClaims, connectedAt = Date.now()) => {
    const connectionId = `gone${randomUUID().replaceAll("-", "").slice(0, 12)}=`;
    await store.register({ connectionId, identity: identityOf(c), connectedAt });
    return connectionId;
  };
  // A vanished connection subscribed to channels (and present in the presence ones): a fan-out meets
  // its 410 and prunes its channel rows; past the 2 h cap, the sweep removes them.
  const channels = createChannelStore({ tableName: outputs.tableName, client });
  const vanishedSubscriber = async (c: typeof aliceClaims, names: string[], connectedAt = Date.now()) => {
    const connectionId = await vanished(c, connectedAt);
    const member = { userId: c.sub, username: c.email };
    for (const channel of names) {
      await channels.subscribe({ channel, connectionId, ...member, expireAt: expireAtFor(connectedAt) });
      if (channel.startsWith("presence/")) await channels.join(channel, member, connectionId);
    }
    return connectionId;
  };
  const topic = "public/deploy";
  const room = "presence/deploy";

  try {
    aliceSocket.send({ action: ROUTE.whoami });
    await aliceSocket.next("identity");
    aliceSocket.send({ action: ROUTE.ping });
    await aliceSocket.next("pong");
    aliceSocket.send({ action: "hello" });
    await aliceSocket.next("echo");

    await vanishedSubscriber(bobClaims, [room]);
    aliceSocket.send({ action: ROUTE.sendmessage, to: bobClaims.email, data: { n: 1 } });
    expect(await aliceSocket.next("sent")).toMatchObject({ delivered: 1, gone: 1 });
    await bobSocket.next("message");

    await vanishedSubscriber(bobClaims, [room]);
    aliceSocket.send({ action: ROUTE.broadcast, data: { n: 2 } });
    await bobSocket.next("broadcast");
    expect(await aliceSocket.next("broadcasted")).toMatchObject({ jobs: 0 });

    // A broadcast past the inline threshold is queued as FanOut jobs (asynchronous invocations).
    await pMap(Array.from({ length: FANOUT.inlineMax }), () => vanished(bobClaims), { concurrency: 16 });
    aliceSocket.send({ action: ROUTE.broadcast, data: { n: 2.5 } });
    await bobSocket.next("broadcast");
    expect(await aliceSocket.next("broadcasted")).toMatchObject({ jobs: 2 });
    await stack.handlers.asyncSettled();

    const fresh = await signInDemoUser(outputs, 0);
    aliceSocket.send({ action: ROUTE.reauth, token: fresh.idToken });
    await aliceSocket.next("reauthenticated");

    // The sender itself vanished before the reply: each message route prunes its own row. The context
    // API Gateway hands over still carries the token expiry of `$connect`, long past: echo and ping
    // then read the row to see whether a `reauth` extended it. Each vanished connection was present in
    // a room, so pruning it also deletes its subscription and takes it out of the room's presence.
    for (const [routeKey, body] of [
      [ROUTE.ping, { action: ROUTE.ping }],
      [ROUTE.default, { action: "hello" }],
      [ROUTE.whoami, { action: ROUTE.whoami }],
      [ROUTE.reauth, { action: ROUTE.reauth, token: fresh.idToken }],
    ] as const) {
      const connectionId = await vanishedSubscriber(aliceClaims, [room]);
      const expired = { ...identityOf(aliceClaims), tokenExp: Math.floor(Date.now() / 1000) - 60 };
      const authorizer = { principalId: aliceClaims.sub, ...encodeAuthorizerContext(expired) };
      await stack.handlers.routes[routeKey]?.(
        messageEvent(routeKey, JSON.stringify(body), { connectionId, authorizer }),
        lambdaContext,
      );
    }

    // The sender vanished mid-request on the channel routes: the reply's 410 prunes its row and its
    // channel rows (subscribe also drops the subscription it has just written, and its presence).
    for (const [routeKey, body] of [
      [ROUTE.subscribe, { action: ROUTE.subscribe, channel: room }],
      [ROUTE.unsubscribe, { action: ROUTE.unsubscribe, channel: room }],
      [ROUTE.publish, { action: ROUTE.publish, channel: "public/deploy-vanished", data: { n: 3.5 } }],
    ] as const) {
      const connectionId = await vanishedSubscriber(aliceClaims, [room]);
      const authorizer = { principalId: aliceClaims.sub, ...encodeAuthorizerContext(identityOf(aliceClaims)) };
      await stack.handlers.routes[routeKey]?.(
        messageEvent(routeKey, JSON.stringify(body), { connectionId, authorizer }),
        lambdaContext,
      );
      expect(await channels.channelsOf(connectionId), routeKey).toEqual([]);
    }
    expect(await channels.members(room)).toEqual([]);

    // Channels: subscribe (with presence, and with `since` to replay history), publish fan-out (one
    // subscriber vanished: its 410 prunes its subscription and presence), unsubscribe (a leave).
    bobSocket.send({ action: ROUTE.subscribe, channel: topic });
    await bobSocket.next("subscribed");
    bobSocket.send({ action: ROUTE.subscribe, channel: room });
    await bobSocket.next("subscribed");
    aliceSocket.send({ action: ROUTE.subscribe, channel: room });
    await aliceSocket.next("subscribed");
    await bobSocket.next("presence");
    await vanishedSubscriber(aliceClaims, [topic]);
    aliceSocket.send({ action: ROUTE.publish, channel: topic, data: { n: 4 } });
    expect(await aliceSocket.next("published")).toMatchObject({ channel: topic, seq: 1 });
    await bobSocket.next("event");
    await vanishedSubscriber(bobClaims, [room]);
    aliceSocket.send({ action: ROUTE.publish, channel: room, data: { n: 5 } });
    await aliceSocket.next("published");
    await bobSocket.next("event");
    aliceSocket.send({ action: ROUTE.subscribe, channel: topic, since: 0 });
    await aliceSocket.next("subscribed");
    await aliceSocket.next("event");
    aliceSocket.send({ action: ROUTE.unsubscribe, channel: room });
    await aliceSocket.next("unsubscribed");
    await bobSocket.next("presence");

    // A channel event past the inline threshold is queued as FanOut jobs too, from `publish` and from
    // `Notify` (subscription rows of vanished connections: the jobs' 410s prune them).
    const crowd = "public/deploy-crowd";
    const crowded = async (channel: string) => {
      await pMap(
        Array.from({ length: FANOUT.inlineMax }),
        async () => {
          const connectionId = `gone${randomUUID().replaceAll("-", "").slice(0, 12)}=`;
          const member = { userId: bobClaims.sub, username: bobClaims.email };
          await channels.subscribe({ channel, connectionId, ...member, expireAt: expireAtFor(Date.now()) });
        },
        { concurrency: 16 },
      );
    };
    bobSocket.send({ action: ROUTE.subscribe, channel: crowd });
    await bobSocket.next("subscribed");
    await crowded(crowd);
    aliceSocket.send({ action: ROUTE.publish, channel: crowd, data: { n: 4.5 } });
    expect(await aliceSocket.next("published")).toMatchObject({ channel: crowd, seq: 1, jobs: 2 });
    await bobSocket.next("event");
    await stack.handlers.asyncSettled();
    await crowded(crowd);
    expect(await stack.handlers.jobs.notify({ channel: crowd, data: { n: 4.6 } }, lambdaContext)).toMatchObject({
      channel: crowd,
      seq: 2,
      jobs: 2,
    });
    await bobSocket.next("event");
    await stack.handlers.asyncSettled();

    // A frame over the per-connection rate on each rate-limited route: the refused count, then the read
    // that tells a full window from a missing row (the window was filled by a container whose clock is
    // ahead), answered `throttled` (to a connection that vanished meanwhile: its 410 prunes it).
    const rateLimited = [
      [ROUTE.sendmessage, { action: ROUTE.sendmessage, to: bobClaims.email, data: 1 }],
      [ROUTE.publish, { action: ROUTE.publish, channel: topic, data: 1 }],
      [ROUTE.broadcast, { action: ROUTE.broadcast, data: 1 }],
    ] as const;
    for (const [routeKey, body] of rateLimited) {
      const connectionId = await vanishedSubscriber(aliceClaims, [room]);
      await createConnectionEntity(client, outputs.tableName)
        .patch({ shard: shardOf(connectionId), connectionId })
        .set({ rateWindow: Number.MAX_SAFE_INTEGER, rateCount: ABUSE_LIMITS.message.burst })
        .go();
      const authorizer = { principalId: aliceClaims.sub, ...encodeAuthorizerContext(identityOf(aliceClaims)) };
      await stack.handlers.routes[routeKey]?.(
        messageEvent(routeKey, JSON.stringify(body), { connectionId, authorizer }),
        lambdaContext,
      );
    }

    // A connect at the per-user cap, held by connections that vanished minutes ago: `$connect` repairs
    // the count (each is checked with the gateway, answers 410 and is pruned with its channel rows).
    const longAgo = Date.now() - 5 * 60_000;
    await pMap(Array.from({ length: ABUSE_LIMITS.maxConnectionsPerUser }), () =>
      vanishedSubscriber(aliceClaims, [room], longAgo),
    );
    const capped = await open(outputs.webSocketUrl, [SUBPROTOCOL, alice.idToken]);
    await capped.close();

    // The jobs: a push to a user (one live connection, one vanished) and a sweep that closes a
    // connection past the 2 h cap.
    await vanishedSubscriber(bobClaims, [room]);
    const report = await stack.handlers.jobs.notify({ userId: bobClaims.sub, data: { n: 3 } }, lambdaContext);
    expect(report).toMatchObject({ delivered: 1, gone: 1 });
    // A server-side publish to the user's channel, as `system`, with one subscriber vanished.
    const inbox = `user/${bobClaims.sub}`;
    bobSocket.send({ action: ROUTE.subscribe, channel: inbox });
    await bobSocket.next("subscribed");
    await vanishedSubscriber(bobClaims, [inbox]);
    const published = await stack.handlers.jobs.notify({ channel: inbox, data: { n: 6 } }, lambdaContext);
    expect(published).toMatchObject({ channel: inbox, seq: 1, delivered: 1, gone: 1 });
    await bobSocket.next("event");
    await vanishedSubscriber(bobClaims, [topic, room], Date.now() - LIMITS.connectionLifetimeMs - 60_000);
    await stack.handlers.jobs.sweep({}, lambdaContext);

    // `$disconnect` with subscriptions: bob leaves the room alice is in again, and alice sees the leave
    // once his `$disconnect` has removed his subscriptions and presence.
    aliceSocket.send({ action: ROUTE.subscribe, channel: room });
    await aliceSocket.next("subscribed");
    await bobSocket.close();
    while ((await aliceSocket.next("presence")).event !== "leave");
    await aliceSocket.close();
    // `$disconnect` runs after the close handshake.
    const deadline = Date.now() + 10_000;
    while (!calls.some((call) => call.module === "disconnect")) {
      if (Date.now() > deadline) throw new Error("no $disconnect reached the registry within 10 s");
      await sleep(50);
    }

    // Revocation: `Revoke` by sign-in name (alice's vanished connection, present in a room, is closed
    // and leaves it), then bob signs out everywhere from a fresh socket that is in the room itself.
    await vanishedSubscriber(aliceClaims, [room]);
    const revoked = await stack.handlers.jobs.revoke({ username: aliceClaims.email }, lambdaContext);
    expect(revoked).toMatchObject({ userId: aliceClaims.sub, closed: 1, gone: 1 });
    // His own socket's channel rows may be cleaned by its `$disconnect` first; those of his vanished
    // connection (no socket, no `$disconnect`) are always the route's to clean.
    const bobAgain = await signInDemoUser(outputs, 1);
    const bobLast = await open(outputs.webSocketUrl, [SUBPROTOCOL, bobAgain.idToken]);
    await vanishedSubscriber(bobClaims, [room]);
    bobLast.send({ action: ROUTE.revoke, token: bobAgain.idToken });
    await bobLast.next("revoked");
    // The route closes bob's connections after that frame and takes the vanished one out of the room.
    const revokeDeadline = Date.now() + 10_000;
    while (!calls.some((call) => call.module === ROUTE.revoke && call.action === "dynamodb:UpdateItem")) {
      if (Date.now() > revokeDeadline) throw new Error("the revoke route did not clean up within 10 s");
      await sleep(50);
    }
  } finally {
    client.destroy();
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** The ARN IAM evaluates for a recorded call, in the deploy graph's terms. */
function arnOf(call: RecordedAwsCall): string {
  const [table] = resourcesOf(graph, "aws:dynamodb/table:Table");
  const [api] = resourcesOf(graph, "aws:apigatewayv2/api:Api");
  const [stage] = resourcesOf(graph, "aws:apigatewayv2/stage:Stage");
  const tablePrefix = `table/${LOCAL.tableName}`;
  if (call.resource.startsWith(tablePrefix)) return `${table?.arn}${call.resource.slice(tablePrefix.length)}`;
  const invoked = /^function\/.+-([a-z]+)$/.exec(call.resource);
  if (invoked) {
    return `arn:aws:lambda:${graph.region}:123456789012:function:${functionFor(graph, invoked[1] ?? "").physicalName}`;
  }
  const connection = /^@connections\/([A-Z]+)\/(.+)$/.exec(call.resource);
  if (connection) {
    const executionArn = `arn:aws:execute-api:${graph.region}:123456789012:${api?.id}`;
    return `${executionArn}/${stage?.inputs.name}/${connection[1]}/@connections/${connection[2]}`;
  }
  throw new Error(`no ARN for ${call.action} on ${call.resource}`);
}

/**
 * Each finding once: the handler pool runs a module in several workers, each with its own module state,
 * so the same call or read can be recorded once per worker.
 */
const distinct = (findings: string[]) => [...new Set(findings)];

/** Calls not allowed by the policy of the function that made them. */
function deniedCalls(target: Graph, recorded: RecordedAwsCall[]): string[] {
  return distinct(
    recorded
      .filter((call) => !allows(functionFor(target, call.module), call.action, arnOf(call)))
      .map((call) => `${call.module}: ${call.action} on ${call.resource}`),
  );
}

/** Granted actions of our functions that no recorded call used (outside UNUSED_GRANTS). */
function unusedGrants(target: Graph, recorded: RecordedAwsCall[]): string[] {
  return target.functions.flatMap((fn: GraphFunction) => {
    const module = moduleOf(fn);
    if (module === undefined) return [];
    const granted = new Set(fn.policy.flatMap((statement) => [statement.Action ?? []].flat()));
    return [...granted]
      .filter((action) => !(UNUSED_GRANTS[module] ?? []).includes(action))
      .filter((action) => !recorded.some((call) => call.module === module && call.action === action))
      .map((action) => `${module}: ${action}`);
  });
}

/** Reads of resources not linked to the reader, and links nobody reads. */
function linkMismatches(target: Graph, recorded: RecordedResourceRead[]): string[] {
  const linkReads = recorded.filter((read) => read.resource !== "App");
  const unlinked = linkReads
    .filter((read) => !functionFor(target, read.module).links.includes(read.resource))
    .map((read) => `${read.module} reads ${read.resource}, which is not linked to it`);
  const unread = target.functions.flatMap((fn) => {
    const module = moduleOf(fn);
    if (module === undefined) return [];
    return fn.links
      .filter((link) => !linkReads.some((read) => read.module === module && read.resource === link))
      .map((link) => `${module} is linked to ${link} but never reads it`);
  });
  return distinct([...unlinked, ...unread]);
}

describe("what the handlers use against what the deploy graph grants", () => {
  it("recorded calls from every handler module, inside invocations", () => {
    const modules = new Set(calls.map((call) => call.module));
    for (const fn of graph.functions) {
      const module = moduleOf(fn);
      if (module !== undefined && module !== AUTHORIZER_HANDLER) expect(modules, module).toContain(module);
    }
    expect(calls.filter((call) => call.module === "(module load)")).toEqual([]);
  });

  it("every AWS call a handler makes is allowed by its function's policy", () => {
    expect(deniedCalls(graph, calls)).toEqual([]);
  });

  it("fails when a function loses an action its handler uses", () => {
    const withoutUpdate = mutated(graph, (copy) => {
      for (const statement of functionFor(copy, ROUTE.reauth).policy) {
        statement.Action = [statement.Action ?? []].flat().filter((action) => action !== "dynamodb:UpdateItem");
      }
    });
    expect(deniedCalls(withoutUpdate, calls)).toContainEqual(expect.stringMatching(/^reauth: dynamodb:UpdateItem on /));
  });

  it("every action granted to a function is used by it (or listed in UNUSED_GRANTS with a reason)", () => {
    expect(unusedGrants(graph, calls)).toEqual([]);
    const withExtra = mutated(graph, (copy) => {
      const statement = functionFor(copy, ROUTE.whoami).policy[0];
      if (statement) statement.Action = [...[statement.Action ?? []].flat(), "dynamodb:PutItem"];
    });
    expect(unusedGrants(withExtra, calls)).toEqual(["whoami: dynamodb:PutItem"]);
  });

  it("every Resource a handler reads is linked to it, and every link is read", () => {
    expect(linkMismatches(graph, reads)).toEqual([]);
    const withExtraLink = mutated(graph, (copy) => {
      functionFor(copy, ROUTE.ping).links.push("UserPool");
    });
    expect(linkMismatches(withExtraLink, reads)).toEqual(["ping is linked to UserPool but never reads it"]);
    const withoutLink = mutated(graph, (copy) => {
      const fn = functionFor(copy, AUTHORIZER_HANDLER);
      fn.links = fn.links.filter((link) => link !== "WebClient");
    });
    expect(linkMismatches(withoutLink, reads)).toEqual(["authorizer reads WebClient, which is not linked to it"]);
  });
});
