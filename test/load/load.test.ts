import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { LOAD_LIMITS, startTestStack, type TestStack } from "@wsauth/local/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRegistryRows, settle } from "../../bench/lib/registry";
import { createLoadUsers, type LoadUser } from "../../bench/lib/users";
import { loadSizeFromEnv, runLoadScenario } from "./support/scenario";

/**
 * The load suite: many authenticated connections of several users sending at once through the
 * whole local path (authorizer, `$connect`, routes, registry, `@connections`). Reduced size by
 * default; `pnpm test:load` sets WSAUTH_LOAD_SIZE=full (10 users x 100 connections x 100 messages).
 */

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Heap of this process (the gateway runs in it) after a full collection. */
function settledHeap(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

const size = loadSizeFromEnv();
const total = size.users * size.connectionsPerUser;

describe(`load: ${size.users} users x ${size.connectionsPerUser} connections x ${size.messagesPerConnection} messages`, () => {
  let stack: TestStack;
  let users: LoadUser[];

  beforeAll(async () => {
    stack = await startTestStack(LOAD_LIMITS);
    users = await createLoadUsers(stack.outputs, size.users);
  }, 120_000);
  afterAll(async () => {
    const report = await stack?.stop();
    expect(report?.leftoverRows ?? 0).toBe(0);
  });

  it("delivers every message exactly once to the right connection and leaves nothing behind", async () => {
    // Warm the path (handler module init, SDK clients) so the baseline includes what stays loaded.
    await runLoadScenario(stack.outputs, users.slice(0, 1), {
      ...size,
      users: 1,
      connectionsPerUser: 2,
      messagesPerConnection: 2,
      directMessagesPerUser: 0,
    });
    await settle(() => stack.gateway.connectionCount(), 0);
    const baselineHeap = settledHeap();

    const started = Date.now();
    const tally = await runLoadScenario(stack.outputs, users, size);
    const counts = { ...tally, errorFrames: tally.errorFrames.length };
    console.info(`load run: ${JSON.stringify(counts)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    expect(tally.connections).toBe(total);
    expect(tally.errorFrames).toEqual([]);
    expect(tally.echoesSent).toBe(total * size.messagesPerConnection);
    expect(tally.lost).toBe(0);
    expect(tally.duplicated).toBe(0);
    expect(tally.misrouted).toBe(0);
    expect(tally.directReceived).toBe(tally.directExpected);
    expect(tally.receipts).toBe(size.users * size.directMessagesPerUser);
    expect(tally.receiptDelivered).toBe(tally.directExpected);

    expect(await settle(() => stack.gateway.connectionCount(), 0)).toBe(0);
    expect(await settle(() => countRegistryRows(stack.outputs), 0)).toBe(0);
    // "Near the baseline": what 1,000 connections' buffers and closures would hold is far more.
    const growth = settledHeap() - baselineHeap;
    console.info(`gateway process heap: ${(growth / 1024 / 1024).toFixed(1)} MB above the warm baseline`);
    expect(growth).toBeLessThan(24 * 1024 * 1024);
  }, 600_000);
});
