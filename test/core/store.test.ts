import type { ConnectionIdentity } from "@wsauth/core/auth";
import { CONNECTION_SHARDS, createConnectionStore, expireAtFor, shardOf } from "@wsauth/core/connection";
import { EXPIRE_MARGIN_SECONDS, LIMITS } from "@wsauth/core/constants";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
let clock = T0;
const now = () => clock;

function identity(userId: string, overrides: Partial<ConnectionIdentity> = {}): ConnectionIdentity {
  return {
    userId,
    username: `${userId}@example.com`,
    groups: [],
    tokenExp: Math.floor(T0 / 1000) + 3600,
    transport: "query",
    ...overrides,
  };
}

describe("connection store (dynalite)", () => {
  let dynamo: LocalDynamo;
  let tableName = "";
  const store = () => createConnectionStore({ tableName, client: localDynamoClient(dynamo.endpoint), now });

  beforeAll(async () => {
    dynamo = await startDynamo({ port: 0 });
    tableName = "store-test";
    await createConnectionsTable(localDynamoClient(dynamo.endpoint), tableName);
  });
  afterAll(() => dynamo.stop());

  it("caps expireAt at the connection lifetime plus margin", () => {
    expect(expireAtFor(T0)).toBe(T0 / 1000 + LIMITS.connectionLifetimeMs / 1000 + EXPIRE_MARGIN_SECONDS);
  });

  it("spreads connection ids over every shard, stably", () => {
    const shards = new Set(Array.from({ length: 200 }, (_, i) => shardOf(`conn-${i}=`)));
    expect(shards.size).toBe(CONNECTION_SHARDS);
    expect(shardOf("AbC=")).toBe(shardOf("AbC="));
  });

  it("stores a connection and reads it back by id, keeping the id's case", async () => {
    const registry = store();
    const record = await registry.register({
      connectionId: "MiXeD=Case",
      identity: identity("user-a", { groups: ["admins"], email: "a@example.com", transport: "subprotocol" }),
      connectedAt: T0,
      sourceIp: "203.0.113.9",
      userAgent: "x".repeat(2000),
    });
    expect(record.userAgent).toHaveLength(512);
    const read = await registry.get("MiXeD=Case");
    expect(read).toEqual(record);
    expect(await registry.get("mixed=case")).toBeUndefined();
    await registry.remove("MiXeD=Case");
    expect(await registry.get("MiXeD=Case")).toBeUndefined();
    await registry.remove("MiXeD=Case"); // unknown: not an error
  });

  it("lists a user's connections and resolves a username case-insensitively", async () => {
    const registry = store();
    for (const id of ["b1", "b2", "b3"]) {
      await registry.register({ connectionId: id, identity: identity("user-b"), connectedAt: T0 });
    }
    await registry.register({ connectionId: "c1", identity: identity("user-c"), connectedAt: T0 });
    expect((await registry.listByUser("user-b")).map((c) => c.connectionId).sort()).toEqual(["b1", "b2", "b3"]);
    expect((await registry.listForTarget("USER-B@Example.com")).map((c) => c.connectionId).sort()).toEqual([
      "b1",
      "b2",
      "b3",
    ]);
    expect((await registry.listForTarget("user-c")).map((c) => c.connectionId)).toEqual(["c1"]);
    expect(await registry.listForTarget("nobody@example.com")).toEqual([]);
  });

  it("never lets a colliding sign-in name receive another user's messages", async () => {
    const registry = store();
    const named = async (connectionId: string, userId: string, username: string) =>
      registry.register({ connectionId, identity: identity(userId, { username }), connectedAt: T0 });
    const idsOf = async (target: string) => (await registry.listForTarget(target)).map((c) => c.connectionId).sort();
    await named("kate-1", "sub-kate", "kate@example.com");
    // Another user whose name differs only in case, and one whose Kelvin sign (U+212A) lower-cases to "k".
    await named("kate-case", "sub-mallory", "Kate@example.com");
    await named("kate-kelvin", "sub-trudy", "\u212Aate@example.com");
    expect(await idsOf("kate@example.com")).toEqual(["kate-1"]);
    expect(await idsOf("Kate@example.com")).toEqual(["kate-case"]);
    // Matches several users only case-insensitively: names nobody rather than all of them.
    expect(await idsOf("KATE@EXAMPLE.COM")).toEqual([]);
    // A user id wins over a sign-in name equal to it.
    await named("imposter-1", "sub-imposter", "sub-kate");
    expect(await idsOf("sub-kate")).toEqual(["kate-1"]);
  });

  it("ignores an alias once its user signs in under another name", async () => {
    const registry = store();
    await registry.register({
      connectionId: "renamed-old",
      identity: identity("sub-renamed", { username: "old@example.com" }),
      connectedAt: T0,
    });
    await registry.remove("renamed-old");
    await registry.register({
      connectionId: "renamed-new",
      identity: identity("sub-renamed", { username: "new@example.com" }),
      connectedAt: T0,
    });
    // The alias row old@ -> sub-renamed is still live, but no connection of that user uses the name now.
    expect(await registry.listForTarget("old@example.com")).toEqual([]);
    expect((await registry.listForTarget("new@example.com")).map((c) => c.connectionId)).toEqual(["renamed-new"]);
  });

  it("never returns rows past expireAt (dynalite has no TTL)", async () => {
    const registry = store();
    await registry.register({ connectionId: "old1", identity: identity("user-old"), connectedAt: T0 - 3 * 3600_000 });
    await registry.register({ connectionId: "new1", identity: identity("user-old"), connectedAt: T0 });
    expect(await registry.get("old1")).toBeUndefined();
    expect((await registry.listByUser("user-old")).map((c) => c.connectionId)).toEqual(["new1"]);
    const walked = [];
    for await (const page of registry.walk({ pageSize: 2 })) walked.push(...page);
    expect(walked.map((c) => c.connectionId)).not.toContain("old1");
    const recipients = [];
    for await (const page of registry.walkRecipients({ pageSize: 2 })) recipients.push(...page);
    expect(recipients.map((c) => c.connectionId)).not.toContain("old1");
    const all = [];
    for await (const page of registry.walk({ includeExpired: true })) all.push(...page);
    expect(all.map((c) => c.connectionId)).toContain("old1");
  });

  it("walks every live connection exactly once across shards and pages", async () => {
    const walkTable = "walk-test";
    await createConnectionsTable(localDynamoClient(dynamo.endpoint), walkTable);
    const registry = createConnectionStore({ tableName: walkTable, client: localDynamoClient(dynamo.endpoint), now });
    const ids = Array.from({ length: 45 }, (_, i) => `walk-${i}`);
    await Promise.all(
      ids.map((connectionId) => registry.register({ connectionId, identity: identity("w"), connectedAt: T0 })),
    );
    const seen: string[] = [];
    for await (const page of registry.walk({ pageSize: 4 })) seen.push(...page.map((c) => c.connectionId));
    expect(seen.sort()).toEqual([...ids].sort());
    // The fan-out's walk: the same connections, only the two attributes it reads.
    const recipients: Array<Record<string, unknown>> = [];
    for await (const page of registry.walkRecipients({ pageSize: 4 })) recipients.push(...page);
    expect(recipients.map((r) => r.connectionId).sort()).toEqual([...ids].sort());
    const exp = (await registry.get("walk-0"))?.tokenExp;
    expect(
      recipients.every((r) => Object.keys(r).sort().join() === "connectionId,tokenExp" && r.tokenExp === exp),
    ).toBe(true);
  });

  it("extends tokenExp forward only, and not for unknown connections", async () => {
    const registry = store();
    await registry.register({ connectionId: "r1", identity: identity("user-r"), connectedAt: T0 });
    const later = Math.floor(T0 / 1000) + 7200;
    expect((await registry.extendToken("r1", later))?.tokenExp).toBe(later);
    expect((await registry.extendToken("r1", later - 100))?.tokenExp).toBe(later);
    expect(await registry.extendToken("missing", later)).toBeUndefined();
  });

  it("keeps the registry exact under concurrent connects and disconnects of one user", async () => {
    const registry = store();
    const ids = Array.from({ length: 30 }, (_, i) => `cc-${i}`);
    await Promise.all(
      ids.map((connectionId) => registry.register({ connectionId, identity: identity("user-cc"), connectedAt: T0 })),
    );
    const leaving = ids.filter((_, i) => i % 3 === 0);
    const joining = Array.from({ length: 10 }, (_, i) => `cc-new-${i}`);
    await Promise.all([
      ...leaving.map((id) => registry.remove(id)),
      ...joining.map((connectionId) =>
        registry.register({ connectionId, identity: identity("user-cc"), connectedAt: T0 }),
      ),
    ]);
    const expected = [...ids.filter((id) => !leaving.includes(id)), ...joining].sort();
    expect((await registry.listByUser("user-cc")).map((c) => c.connectionId).sort()).toEqual(expected);
  });

  it("reports a failing table as a dependency error", async () => {
    const registry = createConnectionStore({
      tableName: "no-such-table",
      client: localDynamoClient(dynamo.endpoint),
      now,
    });
    await expect(registry.get("x")).rejects.toMatchObject({ code: "dependency_failed" });
  });

  it("stops reading a row once the clock passes its expireAt", async () => {
    const registry = store();
    await registry.register({ connectionId: "ttl1", identity: identity("user-ttl"), connectedAt: T0 });
    clock = (expireAtFor(T0) + 1) * 1000;
    try {
      expect(await registry.get("ttl1")).toBeUndefined();
      expect(await registry.listForTarget("user-ttl@example.com")).toEqual([]);
    } finally {
      clock = T0;
    }
  });
});
