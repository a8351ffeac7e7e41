import { describe, expect, it } from "vitest";
import { describeStatus, preview, typedJson } from "./format";

describe("format helpers", () => {
  it("describes every socket state in words", () => {
    expect(describeStatus({ state: "idle" }, 0)).toBe("Not connected yet");
    expect(describeStatus({ state: "connecting", attempt: 1 }, 0)).toBe("Connecting…");
    expect(describeStatus({ state: "connecting", attempt: 3 }, 0)).toBe("Connecting (attempt 3)…");
    expect(describeStatus({ state: "open", openedAt: 0, transport: "subprotocol" }, 0)).toBe(
      "Open — token sent as a subprotocol",
    );
    expect(
      describeStatus({ state: "reconnecting", attempt: 2, retryAt: 4_500, reason: "the connection was lost" }, 1_000),
    ).toBe("Reconnecting in 4 s — the connection was lost");
    expect(describeStatus({ state: "closed", reason: "signed out" }, 0)).toBe("Closed: signed out");
  });

  it("sends typed JSON as JSON and other text as a string", () => {
    expect(typedJson('{"a":1}')).toEqual({ a: 1 });
    expect(typedJson("hello there")).toBe("hello there");
    expect(typedJson("42")).toBe(42);
  });

  it("cuts long previews short", () => {
    expect(preview("x".repeat(10), 4)).toBe("xxxx… (10 characters)");
    expect(preview({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });
});
