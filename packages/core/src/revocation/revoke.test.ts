import { describe, expect, it } from "vitest";
import type { ConnectionRecord, ConnectionStore } from "../connection/index";
import { DependencyError } from "../errors/index";
import { createLog } from "../logging/index";
import type { DeliveryReport, Messenger } from "../messaging/index";
import type { ServerFrame } from "../protocol/index";
import { capturedLogs } from "../testing/index";
import { revokeUser } from "./revoke";
import type { RevocationStore } from "./store";

// The order and selection logic of a revocation, with in-memory stand-ins for the table and the
// gateway (the whole path runs against the local stack in packages/local/src/stack/revocation.test.ts).

const NOW = 1_900_000_000_000;
const NOT_BEFORE = NOW / 1000 + 1;

function connection(connectionId: string, authTime?: number): ConnectionRecord {
  return {
    connectionId,
    userId: "u1",
    username: "alice@example.com",
    groups: [],
    tokenExp: NOW / 1000 + 3600,
    ...(authTime !== undefined ? { authTime } : {}),
    transport: "subprotocol",
    connectedAt: NOW,
    expireAt: NOW / 1000 + 9000,
  };
}

function world(lists: ConnectionRecord[][], failing: string[] = []) {
  const events: string[] = [];
  let pass = 0;
  const store = {
    listByUser: async () => lists[Math.min(pass++, lists.length - 1)] ?? [],
    resolveUsername: async (name: string) => (name === "alice@example.com" ? "u1" : undefined),
  } as unknown as ConnectionStore;
  const revocations: RevocationStore = {
    notBefore: async () => undefined,
    revoke: async (userId, source) => {
      events.push(`record ${userId} ${source}`);
      return { userId, notBefore: NOT_BEFORE, revokedAt: NOW, ...(source ? { source } : {}) };
    },
  };
  const messenger = {
    toConnection: async (id: string, frame: ServerFrame): Promise<DeliveryReport> => {
      events.push(`${frame.type} ${id}`);
      return { delivered: 1, gone: 0, failed: 0 };
    },
    disconnect: async (id: string) => {
      if (failing.includes(id)) throw new DependencyError("management API: disconnect failed");
      events.push(`close ${id}`);
      return "closed" as const;
    },
  } as unknown as Messenger;
  const deps = {
    store,
    revocations,
    messenger,
    afterRemove: async (id: string) => {
      events.push(`channels ${id}`);
    },
    log: createLog("revoke-test", { level: "info" }),
    source: "test",
    sleep: async (ms: number) => {
      events.push(`wait ${ms}`);
    },
  };
  return { deps, events };
}

describe("revokeUser", () => {
  it("writes the record first, then tells and closes each connection, and looks again later", async () => {
    const { deps, events } = world([[connection("A"), connection("B")], []]);
    const report = await revokeUser({ username: "alice@example.com" }, deps);
    expect(report).toMatchObject({ userId: "u1", closed: 2, closedLater: 0, gone: 0, failed: 0 });
    expect(events[0]).toBe("record u1 test");
    expect(events.slice(1, -1).sort()).toEqual(
      ["revoked A", "close A", "channels A", "revoked B", "close B", "channels B"].sort(),
    );
    expect(events.indexOf("revoked A")).toBeLessThan(events.indexOf("close A"));
    expect(events.at(-1)).toBe("wait 3000");
  });

  it("the second look closes a revoked sign-in accepted in between and keeps a fresh one", async () => {
    const late = connection("LATE", NOT_BEFORE - 60);
    const unknown = connection("NOTIME");
    const fresh = connection("FRESH", NOT_BEFORE);
    const { deps, events } = world([[], [late, unknown, fresh]]);
    const report = await revokeUser({ userId: "u1" }, deps);
    expect(report).toMatchObject({ closed: 0, closedLater: 2 });
    expect(events).toContain("close LATE");
    expect(events).toContain("close NOTIME");
    expect(events).not.toContain("close FRESH");
  });

  it("reports a connection it could not close and goes on with the others", async () => {
    const { deps, events } = world([[connection("A"), connection("B")], []], ["A"]);
    const report = await revokeUser({ userId: "u1" }, { ...deps, secondPassMs: 0 });
    expect(report).toMatchObject({ closed: 1, failed: 1 });
    expect(events).toContain("close B");
    expect(events).not.toContain("wait 3000");
    expect(capturedLogs().find({ level: "ERROR", code: "dependency_failed", connectionId: "A" })).toHaveLength(1);
  });

  it("refuses a sign-in name it cannot resolve, without writing anything", async () => {
    const { deps, events } = world([[]]);
    await expect(revokeUser({ username: "nobody@example.com" }, deps)).rejects.toMatchObject({
      code: "validation_failed",
    });
    expect(events).toEqual([]);
    const viaCognito = { ...deps, resolveUsername: async () => "u9" };
    expect(await revokeUser({ username: "nobody@example.com" }, viaCognito)).toMatchObject({ userId: "u9" });
  });
});
