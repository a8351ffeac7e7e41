import { describe, expect, it } from "vitest";
import { type ConnectionRecord, decodeConnectionRow, encodeConnectionRow, shardOf } from "./index";

const records: ConnectionRecord[] = [
  {
    connectionId: "L0SM9cOFvHcCIhw=",
    userId: "u1",
    username: "alice@example.com",
    email: "alice@example.com",
    groups: ["admins", "a,b"],
    tokenExp: 2_000_000_000,
    authTime: 1_999_996_400,
    transport: "subprotocol",
    connectedAt: 1_900_000_000_123,
    expireAt: 1_900_008_100,
    sourceIp: "203.0.113.7",
    userAgent: "Mozilla/5.0",
  },
  {
    connectionId: "a+b/c==",
    userId: "u2",
    username: "bob",
    groups: [],
    tokenExp: 2_000_000_001,
    transport: "query",
    connectedAt: 1_900_000_000_000,
    expireAt: 1_900_008_000,
  },
];

describe("the registry row of a connection", () => {
  it("round-trips a record through its row", () => {
    for (const record of records) {
      const row = encodeConnectionRow(record);
      expect(row.shard).toBe(shardOf(record.connectionId));
      expect(decodeConnectionRow(row)).toEqual(record);
    }
  });

  it("writes no attribute for an absent optional field", () => {
    expect(Object.keys(encodeConnectionRow(records[1] as ConnectionRecord))).not.toContain("email");
    expect(Object.keys(encodeConnectionRow(records[1] as ConnectionRecord))).not.toContain("sourceIp");
  });
});
