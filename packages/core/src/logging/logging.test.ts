import { afterEach, describe, expect, it, vi } from "vitest";
import { createLog, redact } from "./index";

const JWT =
  "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJhYmMiLCJleHAiOjEyMzR9.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw";

function capture() {
  const lines: string[] = [];
  const sink = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(sink);
  vi.spyOn(process.stderr, "write").mockImplementation(sink);
  return lines;
}

describe("logging", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one JSON object per line with level, service, message and fields", () => {
    const lines = capture();
    createLog("test", { level: "info" }).info("connected", { connectionId: "c1", count: 2 });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry).toMatchObject({ level: "INFO", service: "test", message: "connected", connectionId: "c1", count: 2 });
    expect(Date.parse(entry.timestamp)).not.toBeNaN();
  });

  it("drops entries below the configured level", () => {
    const lines = capture();
    const log = createLog("test", { level: "warn" });
    log.info("quiet");
    log.debug("quieter");
    log.warn("loud");
    expect(lines).toHaveLength(1);
  });

  it("never writes a JWT or a secret-named field", () => {
    const lines = capture();
    createLog("test", { level: "debug" }).error(`bad token ${JWT}`, {
      token: JWT,
      idToken: "opaque-secret",
      headers: { "Sec-WebSocket-Protocol": `wsauth.v1, ${JWT}` },
      nested: [{ value: `x${JWT}` }],
      error: new Error(`failed for ${JWT}`),
    });
    const text = lines.join("");
    expect(text).not.toContain(JWT);
    expect(text).not.toContain("c2lnbmF0dXJl");
    expect(text).not.toContain("opaque-secret");
    expect(text).toContain("[redacted-jwt]");
  });

  it("survives fields that cannot be serialised", () => {
    const lines = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    createLog("test", { level: "info" }).info("odd", { big: 1n, cyclic });
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ message: "odd" });
  });

  it("redacts without changing values that hold no secret", () => {
    expect(redact({ a: 1, b: ["x", null], c: { d: true } })).toEqual({ a: 1, b: ["x", null], c: { d: true } });
  });
});
