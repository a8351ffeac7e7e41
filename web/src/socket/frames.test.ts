import { describe, expect, it } from "vitest";
import { parseServerFrame } from "./frames";

describe("parseServerFrame", () => {
  it("reads the frames of the wire protocol", () => {
    expect(parseServerFrame('{"type":"echo","message":{"a":1}}')).toEqual({ type: "echo", message: { a: 1 } });
    expect(
      parseServerFrame(
        JSON.stringify({
          type: "message",
          from: { userId: "u1", username: "alice@example.com" },
          data: "hi",
          sentAt: "2025-01-01T00:00:00.000Z",
        }),
      ),
    ).toEqual({
      type: "message",
      from: { userId: "u1", username: "alice@example.com" },
      data: "hi",
      sentAt: "2025-01-01T00:00:00.000Z",
    });
    expect(parseServerFrame('{"type":"identity","userId":"u1","username":"a"}')).toEqual({
      type: "identity",
      identity: { userId: "u1", username: "a" },
    });
    expect(parseServerFrame('{"type":"pong"}')).toEqual({ type: "pong" });
    expect(parseServerFrame('{"type":"error","code":"unknown_target","message":"no such user"}')).toEqual({
      type: "error",
      code: "unknown_target",
      message: "no such user",
    });
  });

  it("reads the receipt of a sent message", () => {
    expect(parseServerFrame('{"type":"sent","to":"bob","delivered":2,"gone":1,"failed":0}')).toEqual({
      type: "sent",
      report: { to: "bob", delivered: 2, gone: 1, failed: 0 },
    });
  });

  it("never throws on junk", () => {
    for (const raw of ["", "not json", "[]", "null", "42", '{"type":"message","from":"x"}', '{"type":"brand-new"}']) {
      expect(parseServerFrame(raw)).toEqual({ type: "unknown", raw });
    }
    expect(parseServerFrame('{"type":"error"}')).toMatchObject({ type: "error", code: "unknown" });
  });
});
