import { describe, expect, it } from "vitest";
import { LIMITS } from "../constants/index";
import {
  frames,
  MESSAGE_DATA_MAX_BYTES,
  MESSAGE_MAX_DEPTH,
  parseClientFrame,
  parseEchoBody,
  parseServerFrame,
} from "./index";

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe("client frames", () => {
  it("accepts the documented frames", () => {
    expect(
      parseClientFrame("sendmessage", '{"action":"sendmessage","to":"a@example.com","data":{"x":[1,"y"]}}'),
    ).toEqual({
      action: "sendmessage",
      to: "a@example.com",
      data: { x: [1, "y"] },
    });
    expect(parseClientFrame("ping", '{"action":"ping"}')).toEqual({ action: "ping" });
    expect(parseClientFrame("reauth", '{"action":"reauth","token":"t"}').token).toBe("t");
    expect(parseClientFrame("broadcast", '{"action":"broadcast","data":"hi"}').data).toBe("hi");
  });

  it("rejects bad input with stable codes", () => {
    expect(codeOf(() => parseClientFrame("ping", "{nope"))).toBe("invalid_json");
    expect(codeOf(() => parseClientFrame("ping", undefined))).toBe("invalid_json");
    expect(codeOf(() => parseClientFrame("ping", '{"action":"ping","extra":1}'))).toBe("validation_failed");
    expect(codeOf(() => parseClientFrame("sendmessage", '{"action":"sendmessage","to":"a","data":1,"from":{}}'))).toBe(
      "validation_failed",
    );
    expect(codeOf(() => parseClientFrame("sendmessage", '{"action":"sendmessage","to":"","data":1}'))).toBe(
      "validation_failed",
    );
    expect(codeOf(() => parseClientFrame("sendmessage", '{"action":"sendmessage","to":"a"}'))).toBe(
      "validation_failed",
    );
    const big = JSON.stringify({ action: "broadcast", data: "x".repeat(MESSAGE_DATA_MAX_BYTES) });
    expect(codeOf(() => parseClientFrame("broadcast", big))).toBe("payload_too_large");
    expect(codeOf(() => parseEchoBody(`"${"x".repeat(LIMITS.messagePayloadBytes)}"`))).toBe("payload_too_large");
  });

  it("rejects deeply nested JSON with validation_failed instead of overflowing the stack", () => {
    const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    // 5,000 levels is 10 KB: within every size limit, and deep enough to overflow recursive validation.
    expect(codeOf(() => parseEchoBody(nested(5_000)))).toBe("validation_failed");
    expect(codeOf(() => parseClientFrame("broadcast", `{"action":"broadcast","data":${nested(5_000)}}`))).toBe(
      "validation_failed",
    );
    expect(parseEchoBody(nested(MESSAGE_MAX_DEPTH))).toBeDefined();
    // Brackets inside strings (also after escaped quotes) are text, not nesting.
    expect(parseEchoBody(JSON.stringify({ text: `\\"${"[".repeat(500)}` }))).toEqual({ text: `\\"${"[".repeat(500)}` });
  });

  it("never repeats a rejected token in the error message", () => {
    const token = `eyJ${"a".repeat(LIMITS.maxTokenBytes)}`;
    try {
      parseClientFrame("reauth", JSON.stringify({ action: "reauth", token }));
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain("eyJ");
    }
  });

  it("echoes any JSON value", () => {
    expect(parseEchoBody('{"action":"other","n":1}')).toEqual({ action: "other", n: 1 });
    expect(parseEchoBody("[1,2]")).toEqual([1, 2]);
  });

  it("echoes text that is not JSON as the text itself", () => {
    expect(parseEchoBody("hello")).toBe("hello");
    expect(parseEchoBody('{"half":')).toBe('{"half":');
    expect(parseEchoBody("")).toBe("");
  });
});

describe("server frames", () => {
  it("builds frames that parse back", () => {
    const sent = Date.UTC(2030, 0, 1);
    const built = [
      frames.echo({ a: 1 }),
      frames.message({ userId: "u", username: "u@example.com" }, { text: "hi" }, sent),
      frames.broadcast({ userId: "u", username: "u@example.com" }, null, sent),
      frames.pong(),
      frames.reauthenticated(1_900_000_000),
      frames.error("forbidden", "no"),
    ];
    for (const frame of built) expect(parseServerFrame(JSON.stringify(frame))).toEqual(frame);
    expect(frames.reauthenticated(1_900_000_000)).toEqual({
      type: "reauthenticated",
      expiresAt: new Date(1_900_000_000_000).toISOString(),
    });
    expect(parseServerFrame("nope")).toBeUndefined();
    expect(parseServerFrame('{"type":"unknown"}')).toBeUndefined();
  });
});
