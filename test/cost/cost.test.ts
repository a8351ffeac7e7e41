import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { FANOUT, LIMITS, ROUTE, SUBPROTOCOL } from "@wsauth/core/constants";
import type { RecordedAwsCall } from "@wsauth/local/handlers";
import { signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import pMap from "p-map";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startTcpRelay, type TcpRelay } from "../helpers/tcp-relay";

// The cost model, measured: each user-visible operation runs on the local stack while every AWS call
// the handlers make (DynamoDB, @connections, Lambda Invoke) and every handler invocation is recorded.
// The counts are what AWS bills per operation (BENCHMARKS.md turns them into money). A change that
// adds a DynamoDB call per message, or an invocation, fails here.
//
// Durations: the handlers reach DynamoDB and `@connections` through relays that add an emulated round
// trip (ROUND_TRIP_MS), and each invocation's duration is recorded in its worker; the last test takes
// the median per operation over repeated runs. They stand in for Lambda's billed durations.
//
// `WSAUTH_COST_OUT=<file>` also writes the counts and durations as JSON.

/** Emulated round trips from a Lambda function to its dependencies in the same region. */
const ROUND_TRIP_MS = { dynamodb: 5, connections: 10 } as const;

interface Counts {
  /** Each invocation's duration in its worker, by module (ms). */
  durationsMs?: Record<string, number[]>;
  invocations: Record<string, number>;
  dynamodb: Record<string, number>;
  /** The same DynamoDB calls, by the handler module that made them. */
  dynamodbByModule: Record<string, Record<string, number>>;
  posts: number;
  lambdaInvokes: number;
}

let stack: TestStack;
let calls: RecordedAwsCall[] = [];
let invocations: string[] = [];
let durations: Array<{ module: string; ms: number }> = [];
const relays: TcpRelay[] = [];
const results: Record<string, Counts & { note?: string; medians?: Record<string, Record<string, number>> }> = {};

function tally(): Counts {
  const counts: Counts = { invocations: {}, dynamodb: {}, dynamodbByModule: {}, posts: 0, lambdaInvokes: 0 };
  for (const module of invocations) counts.invocations[module] = (counts.invocations[module] ?? 0) + 1;
  for (const call of calls) {
    if (call.action.startsWith("dynamodb:")) {
      const action = call.action.slice("dynamodb:".length);
      counts.dynamodb[action] = (counts.dynamodb[action] ?? 0) + 1;
      const own = counts.dynamodbByModule[call.module] ?? {};
      own[action] = (own[action] ?? 0) + 1;
      counts.dynamodbByModule[call.module] = own;
    } else if (call.action === "execute-api:ManageConnections" && call.resource.startsWith("@connections/POST/")) {
      counts.posts += 1;
    } else if (call.action === "lambda:InvokeFunction") {
      counts.lambdaInvokes += 1;
    }
  }
  return counts;
}

function byModule(samples: ReadonlyArray<{ module: string; ms: number }>): Record<string, number[]> {
  const grouped: Record<string, number[]> = {};
  for (const { module, ms } of samples) {
    const list = grouped[module] ?? [];
    list.push(Math.round(ms * 10) / 10);
    grouped[module] = list;
  }
  return grouped;
}

const median = (samples: readonly number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

const total = (record: Record<string, number>) => Object.values(record).reduce((sum, value) => sum + value, 0);

/** Runs `operation` with fresh counters and returns what it cost, once every handler has finished. */
async function measure(name: string, operation: () => Promise<void>): Promise<Counts> {
  await settle();
  calls = [];
  invocations = [];
  durations = [];
  await operation();
  await settle();
  const counts = tally();
  results[name] = { ...counts, durationsMs: byModule(durations) };
  return counts;
}

/** Waits until no invocation has started for a while (a `$disconnect` runs after the close). */
async function settle(): Promise<void> {
  await stack.handlers.asyncSettled();
  let seen = -1;
  while (seen !== invocations.length + calls.length) {
    seen = invocations.length + calls.length;
    await sleep(150);
  }
}

async function open(token: string): Promise<{ socket: WebSocket; frames: Array<{ type: string }> }> {
  const socket = new WebSocket(stack.outputs.webSocketUrl, [SUBPROTOCOL, token]);
  const frames: Array<{ type: string }> = [];
  socket.on("message", (data) => frames.push(JSON.parse(String(data))));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { socket, frames };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for frames");
    await sleep(10);
  }
}

let alice: string;
let bob: string;
let bobId: string;
const sockets: WebSocket[] = [];
/** The sockets of the broadcast past the inline threshold (a channel publish past it reuses them). */
let crowd: Array<Awaited<ReturnType<typeof open>>> = [];

beforeAll(async () => {
  process.env.WSAUTH_LOG_LEVEL = "error";
  stack = await startTestStack({
    // The bulk broadcast below holds more of bob's sockets than the per-user cap allows.
    abuseLimits: { maxConnectionsPerUser: FANOUT.inlineMax + 100 },
    recorder: {
      everyCall: true,
      awsCall: (call) => calls.push(call),
      resourceRead: () => {},
      invocation: (module) => invocations.push(module),
      duration: (module, ms) => durations.push({ module, ms }),
    },
    routeDependencies: async (direct) => {
      const delayed = async (endpoint: string, delayMs: number) => {
        const url = new URL(endpoint);
        const relay = await startTcpRelay({ host: url.hostname, port: Number(url.port) }, { delayMs });
        relays.push(relay);
        return `${relay.endpoint}${url.pathname === "/" ? "" : url.pathname}`;
      };
      return {
        ...direct,
        dynamoEndpoint: await delayed(direct.dynamoEndpoint, ROUND_TRIP_MS.dynamodb),
        managementEndpoint: await delayed(direct.managementEndpoint, ROUND_TRIP_MS.connections),
      };
    },
  });
  alice = (await signInDemoUser(stack.outputs, 0)).idToken;
  const bobTokens = await signInDemoUser(stack.outputs, 1);
  bob = bobTokens.idToken;
  bobId = JSON.parse(Buffer.from(bob.split(".")[1] ?? "", "base64url").toString("utf8")).sub;
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  if (process.env.WSAUTH_COST_OUT) await writeFile(process.env.WSAUTH_COST_OUT, JSON.stringify(results, null, 2));
  await stack?.stop();
  await Promise.all(relays.map((relay) => relay.stop()));
});

describe("AWS calls per user-visible operation (recorded on the local stack)", () => {
  it("connect and disconnect: authorizer (1 revocation read), $connect (3 writes), $disconnect (2 writes, 1 query for its channels)", async () => {
    const counts = await measure("connect + disconnect", async () => {
      const { socket } = await open(alice);
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000);
      });
    });
    expect(counts.invocations).toEqual({ authorizer: 1, connect: 1, disconnect: 1 });
    // The GetItem is the authorizer's read of the user's revocation record (at most one per connect,
    // none while the container's lookup of that user is cached). `$connect`: the user's count (a
    // conditional UpdateItem), the sign-in name and the connection. `$disconnect`: the row, the count
    // again, and a Query for the connection's channel subscriptions (none here), which it removes.
    expect(counts.dynamodb).toEqual({ GetItem: 1, PutItem: 2, UpdateItem: 2, DeleteItem: 1, Query: 1 });
    expect(counts.posts).toBe(0);
  });

  it("an echo: one invocation, one post, no DynamoDB call", async () => {
    const { socket, frames } = await open(alice);
    sockets.push(socket);
    const counts = await measure("echo", async () => {
      socket.send(JSON.stringify({ hello: "world" }));
      await until(() => frames.some((frame) => frame.type === "echo"));
    });
    expect(counts.invocations).toEqual({ default: 1 });
    expect(counts.dynamodb).toEqual({});
    expect(counts.posts).toBe(1);
  });

  it("a keep-alive ping: one invocation, one post, no DynamoDB call", async () => {
    const { socket, frames } = await open(alice);
    sockets.push(socket);
    const counts = await measure("keep-alive ping", async () => {
      socket.send(JSON.stringify({ action: ROUTE.ping }));
      await until(() => frames.some((frame) => frame.type === "pong"));
    });
    expect(counts.invocations).toEqual({ ping: 1 });
    expect(counts.dynamodb).toEqual({});
    expect(counts.posts).toBe(1);
  });

  it("a direct message to a user with 3 connections: reads are per message, not per recipient", async () => {
    const sender = await open(alice);
    const targets = await Promise.all([open(bob), open(bob), open(bob)]);
    sockets.push(sender.socket, ...targets.map((target) => target.socket));
    const counts = await measure("direct message to 3 connections", async () => {
      sender.socket.send(JSON.stringify({ action: ROUTE.sendmessage, to: bobId, data: { n: 1 } }));
      await until(() => sender.frames.some((frame) => frame.type === "sent"));
      await until(() => targets.every((target) => target.frames.some((frame) => frame.type === "message")));
    });
    expect(counts.invocations).toEqual({ sendmessage: 1 });
    // The sender's row, read by the update that counts the frame against its rate limit, then the
    // target's connections by user id.
    expect(counts.dynamodb).toEqual({ UpdateItem: 1, Query: 1 });
    expect(counts.posts).toBe(4); // 3 deliveries + the sender's receipt
  });

  it("a broadcast inline: DynamoDB calls do not grow with the recipients", async () => {
    const sender = await open(alice);
    sockets.push(sender.socket);
    const counts = await measure("broadcast inline", async () => {
      sender.socket.send(JSON.stringify({ action: ROUTE.broadcast, data: { n: 2 } }));
      await until(() => sender.frames.some((frame) => frame.type === "broadcasted"));
    });
    const recipients = counts.posts - 1;
    expect(recipients).toBeGreaterThanOrEqual(6);
    expect(counts.invocations).toMatchObject({ broadcast: 1 });
    // Its own row, counted as a rate-limited frame (an UpdateItem in place of the read), the sender's
    // revocation record, then one Query per registry shard (one page each at this size).
    expect(counts.dynamodb).toEqual({ UpdateItem: 1, GetItem: 1, Query: 8 });
    expect(counts.lambdaInvokes).toBe(0);
  });

  it("durations per operation, median of repeated runs, with emulated round trips to DynamoDB and @connections", async () => {
    const RUNS = 15;
    const sender = await open(alice);
    const targets = await Promise.all([open(bob), open(bob), open(bob)]);
    sockets.push(sender.socket, ...targets.map((target) => target.socket));
    const operations: Record<string, () => Promise<void>> = {
      echo: async () => {
        const before = sender.frames.length;
        sender.socket.send(JSON.stringify({ n: 1 }));
        await until(() => sender.frames.slice(before).some((frame) => frame.type === "echo"));
      },
      "keep-alive ping": async () => {
        const before = sender.frames.length;
        sender.socket.send(JSON.stringify({ action: ROUTE.ping }));
        await until(() => sender.frames.slice(before).some((frame) => frame.type === "pong"));
      },
      "direct message to 3 connections": async () => {
        const before = sender.frames.length;
        sender.socket.send(JSON.stringify({ action: ROUTE.sendmessage, to: bobId, data: { n: 1 } }));
        await until(() => sender.frames.slice(before).some((frame) => frame.type === "sent"));
      },
      "connect + disconnect": async () => {
        const { socket } = await open(alice);
        await new Promise<void>((resolve) => {
          socket.once("close", () => resolve());
          socket.close(1000);
        });
      },
    };
    const medians: Record<string, Record<string, number>> = {};
    for (const [name, operation] of Object.entries(operations)) {
      await settle();
      durations = [];
      for (let run = 0; run < RUNS; run++) await operation();
      await settle();
      const grouped = byModule(durations);
      medians[name] = Object.fromEntries(Object.entries(grouped).map(([module, ms]) => [module, median(ms)]));
      for (const ms of Object.values(grouped)) expect(ms).toHaveLength(RUNS);
    }
    results["median durations (ms)"] = {
      invocations: {},
      dynamodb: {},
      dynamodbByModule: {},
      posts: 0,
      lambdaInvokes: 0,
      medians,
    };
    // Each reply waits for its @connections round trip, so a duration that misses the handler's awaits shows.
    expect(medians.echo?.default).toBeGreaterThanOrEqual(ROUND_TRIP_MS.connections);
    expect(medians["direct message to 3 connections"]?.sendmessage).toBeGreaterThanOrEqual(
      2 * ROUND_TRIP_MS.dynamodb + ROUND_TRIP_MS.connections,
    );
    expect(Object.keys(medians["connect + disconnect"] ?? {}).sort()).toEqual(["authorizer", "connect", "disconnect"]);
  }, 120_000);

  it("a broadcast past the inline threshold: FanOut jobs, a few marker writes per job, never one per message", async () => {
    const bulk = FANOUT.inlineMax + 20;
    crowd = await pMap(
      Array.from({ length: bulk }),
      async () => {
        const opened = await open(bob);
        sockets.push(opened.socket);
        return opened;
      },
      { concurrency: 16 },
    );
    const sender = await open(alice);
    sockets.push(sender.socket);
    const counts = await measure("broadcast via FanOut jobs", async () => {
      sender.socket.send(JSON.stringify({ action: ROUTE.broadcast, data: { n: 3 } }));
      await until(() => sender.frames.some((frame) => frame.type === "broadcasted"));
    });
    const recipients = counts.posts - 1;
    expect(recipients).toBeGreaterThan(FANOUT.inlineMax);
    const jobs = Math.ceil(recipients / FANOUT.jobSize);
    expect(counts.lambdaInvokes).toBe(jobs);
    expect(counts.invocations).toEqual({ broadcast: 1, fanout: jobs });
    // The route: its own row (counted as a rate-limited frame), the sender's revocation record and the
    // registry walk. Each job: one marker read, batched marker writes.
    expect(counts.dynamodb.GetItem).toBe(1 + jobs);
    expect(counts.dynamodb.Query ?? 0).toBeLessThanOrEqual(8 * 2);
    expect(counts.dynamodb.DeleteItem ?? 0).toBe(0);
    expect(total(counts.dynamodb)).toBeLessThan(recipients / 4);
    // Each job's duration, for the cost table (one sample per job).
    const jobDurations = results["broadcast via FanOut jobs"]?.durationsMs?.fanout ?? [];
    expect(jobDurations).toHaveLength(jobs);
    // The route's one UpdateItem counts the sender's frame (the rate limit). A job writes its progress
    // at most every 100 ms, plus the last write: never at the pace of the sends.
    expect(counts.dynamodbByModule.broadcast?.UpdateItem).toBe(1);
    const writeBound = jobDurations.reduce((sum, ms) => sum + Math.ceil(ms / 100) + 1, 0);
    expect(counts.dynamodbByModule.fanout?.UpdateItem ?? 0).toBeLessThanOrEqual(writeBound);
  }, 120_000);

  /** Sends a frame and waits for the frame of `type` it answers with. */
  async function ask(client: Awaited<ReturnType<typeof open>>, frame: object, type: string): Promise<void> {
    const seen = client.frames.length;
    client.socket.send(JSON.stringify(frame));
    await until(() => client.frames.slice(seen).some((reply) => reply.type === type));
  }

  it("a subscribe: the joining mark and its clearing around the subscription row, one post", async () => {
    const subscriber = await open(alice);
    sockets.push(subscriber.socket);
    const counts = await measure("subscribe", () =>
      ask(subscriber, { action: ROUTE.subscribe, channel: "public/cost" }, "subscribed"),
    );
    expect(counts.invocations).toEqual({ subscribe: 1 });
    // Its own row; the mark (UpdateItem), the subscription (PutItem), the mark cleared (UpdateItem).
    expect(counts.dynamodb).toEqual({ GetItem: 1, UpdateItem: 2, PutItem: 1 });
    expect(counts.posts).toBe(1);
  });

  it("a resubscribe replaying 3 missed events: one history Query, a post per event", async () => {
    const [publisher, subscriber] = [await open(alice), await open(alice)];
    sockets.push(publisher.socket, subscriber.socket);
    for (let n = 0; n < 3; n++)
      await ask(publisher, { action: ROUTE.publish, channel: "public/missed", data: n }, "published");
    const counts = await measure("resubscribe replaying 3 events", () =>
      ask(subscriber, { action: ROUTE.subscribe, channel: "public/missed", since: 0 }, "subscribed").then(() =>
        until(() => subscriber.frames.filter((frame) => frame.type === "event").length === 3),
      ),
    );
    expect(counts.invocations).toEqual({ subscribe: 1 });
    expect(counts.dynamodb).toEqual({ GetItem: 1, UpdateItem: 2, PutItem: 1, Query: 1 });
    expect(counts.posts).toBe(4);
  });

  it("a channel publish inline: DynamoDB calls do not grow with the subscribers", async () => {
    const publisher = await open(alice);
    const readers = await Promise.all([open(bob), open(bob), open(bob), open(alice)]);
    sockets.push(publisher.socket, ...readers.map((reader) => reader.socket));
    for (const reader of readers)
      await ask(reader, { action: ROUTE.subscribe, channel: "public/inline" }, "subscribed");
    const counts = await measure("channel publish inline to 4 subscribers", async () => {
      await ask(publisher, { action: ROUTE.publish, channel: "public/inline", data: { n: 4 } }, "published");
      await until(() => readers.every((reader) => reader.frames.some((frame) => frame.type === "event")));
    });
    expect(counts.invocations).toEqual({ publish: 1 });
    // Its own row, counted as a rate-limited frame (an UpdateItem in place of the read); the seq
    // (UpdateItem, which also returns the joining marks), history, the subscribers.
    expect(counts.dynamodb).toEqual({ UpdateItem: 2, PutItem: 1, Query: 1 });
    expect(counts.posts).toBe(readers.length + 1);
  });

  it("a channel publish past the inline threshold: FanOut jobs, no DynamoDB call per subscriber", async () => {
    expect(crowd.length).toBeGreaterThan(FANOUT.inlineMax);
    await pMap(crowd, (reader) => ask(reader, { action: ROUTE.subscribe, channel: "public/crowd" }, "subscribed"), {
      concurrency: 16,
    });
    const publisher = await open(alice);
    sockets.push(publisher.socket);
    const counts = await measure("channel publish via FanOut jobs", async () => {
      await ask(publisher, { action: ROUTE.publish, channel: "public/crowd", data: { n: 5 } }, "published");
      await until(() => crowd.every((reader) => reader.frames.some((frame) => frame.type === "event")));
    });
    const jobs = Math.ceil(crowd.length / FANOUT.jobSize);
    expect(publisher.frames.at(-1)).toMatchObject({ type: "published", jobs });
    expect(counts.lambdaInvokes).toBe(jobs);
    expect(counts.invocations).toEqual({ publish: 1, fanout: jobs });
    expect(counts.posts).toBe(crowd.length + 1);
    // The route: its own row (a rate-limited frame's UpdateItem), the seq, history, the subscribers.
    // Each job: a marker read, batched writes.
    expect(counts.dynamodb.GetItem).toBe(jobs);
    expect(counts.dynamodb.PutItem).toBe(1);
    expect(counts.dynamodb.DeleteItem ?? 0).toBe(0);
    expect(total(counts.dynamodb)).toBeLessThan(crowd.length / 4);
  }, 120_000);
  it("a burst of rate-limited frames: one write per frame, and a read only for a throttled one", async () => {
    const sender = await open(alice);
    sockets.push(sender.socket);
    const frames = 30;
    const counts = await measure("burst of 30 sendmessage frames", async () => {
      for (let n = 0; n < frames; n++) {
        sender.socket.send(JSON.stringify({ action: ROUTE.sendmessage, to: "nobody@example.com", data: { n } }));
      }
      await until(
        () => sender.frames.filter((frame) => frame.type === "sent" || frame.type === "error").length >= frames,
      );
    });
    const throttled = sender.frames.filter((frame) => frame.type === "error").length;
    expect(throttled).toBeGreaterThan(0);
    expect(counts.invocations).toEqual({ sendmessage: frames });
    // One conditional UpdateItem per frame when frames come one after another (the container knows
    // its window is open). Frames that race the one opening a window (here all 30 arrive at once)
    // pay one refused update more; a refused frame reads the row (a strongly consistent GetItem) to
    // tell a full window from a missing row, and is answered `throttled`.
    expect(counts.dynamodb.UpdateItem).toBeGreaterThanOrEqual(frames);
    expect(counts.dynamodb.UpdateItem).toBeLessThanOrEqual(2 * frames);
    expect(counts.dynamodb.GetItem).toBeGreaterThanOrEqual(throttled);
    expect(counts.dynamodb.GetItem).toBeLessThanOrEqual(frames);
    expect(counts.posts).toBe(frames);
  });

  it("rate-limited frames one after another: one write per frame in place of the read", async () => {
    const sender = await open(alice);
    sockets.push(sender.socket);
    const frames = 5;
    const counts = await measure("5 sendmessage frames, one after another", async () => {
      for (let n = 1; n <= frames; n++) {
        sender.socket.send(JSON.stringify({ action: ROUTE.sendmessage, to: bobId, data: { n } }));
        await until(() => sender.frames.filter((frame) => frame.type === "sent").length >= n);
      }
    });
    expect(counts.invocations).toEqual({ sendmessage: frames });
    expect(counts.dynamodb).toEqual({ UpdateItem: frames, Query: frames });
  });

  it("an idle hour: the keep-alive pings and one reauth, no DynamoDB call for the pings", () => {
    const ping = results["keep-alive ping"];
    expect(ping).toBeDefined();
    const pingsPerHour = (60 * 60 * 1000) / (LIMITS.idleTimeoutMs / 2);
    results["idle hour (keep-alive every 5 min)"] = {
      invocations: { ping: pingsPerHour * (ping?.invocations.ping ?? 0) },
      dynamodb: {},
      dynamodbByModule: {},
      posts: pingsPerHour * (ping?.posts ?? 0),
      lambdaInvokes: 0,
      note: "plus 60 connection-minutes and, for an ID token of 1 h, one reauth (2 GetItem: row and revocation record, UpdateItem, post)",
    };
    expect(pingsPerHour).toBe(12);
  });
});
