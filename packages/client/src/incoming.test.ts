import { frames } from "@wsauth/core/protocol";
import { describe, expect, it } from "vitest";
import { readServerFrame } from "./incoming";

describe("readServerFrame", () => {
  it("reads every frame core's builders make, as they are", () => {
    const sentAt = Date.UTC(2030, 0, 1);
    const from = { userId: "u1", username: "alice@example.com" };
    const built = [
      frames.echo({ a: 1 }),
      frames.message(from, "hi", sentAt),
      frames.broadcast(from, { n: 1 }, sentAt),
      frames.identity({
        userId: "u1",
        username: "alice@example.com",
        groups: ["admins"],
        connectionId: "c1=",
        connectedAt: new Date(sentAt).toISOString(),
        tokenExp: 1_900_000_000,
        expiresAt: new Date(1_900_000_000_000).toISOString(),
        transport: "subprotocol",
        connections: 2,
      }),
      frames.sent("bob@example.com", { delivered: 2, gone: 1, failed: 0 }),
      frames.pong(),
      frames.reauthenticated(1_900_000_000),
      frames.error("forbidden", "only members of admins may broadcast"),
    ];
    for (const frame of built) expect(readServerFrame(JSON.stringify(frame))).toEqual(frame);
  });

  it("never throws on junk", () => {
    for (const raw of [
      "",
      "not json",
      "[]",
      "null",
      "42",
      '{"type":"message","from":"x"}',
      '{"type":"brand-new"}',
      '{"type":"toString"}',
      '{"type":"error"}',
      '{"type":"sent","to":"bob"}',
    ]) {
      expect(readServerFrame(raw)).toEqual({ type: "unknown", raw });
    }
  });
});
