import { afterEach, describe, expect, it, vi } from "vitest";
import { createLog, jsonString, redact } from "./index";

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

  it("withholds every non-numeric value under a secret name, however nested or shaped", () => {
    const lines = capture();
    createLog("test", { level: "info" }).info("secrets", {
      password: ["hunter2"],
      authorization: ["Basic dXNlcjpwYXNz"],
      secret: { value: "s3cr3t" },
      cookie: 42,
      tokenExp: 1_900_000_000,
      deep: { a: { b: { c: { d: { e: { f: { g: { idToken: JWT, password: "hunter2" } } } } } } } },
      error: Object.assign(new Error("boom"), { code: JWT }),
      encoded: `wss://example.com/?idToken=${JWT.replaceAll(".", "%2E")}`,
    });
    const text = lines.join("");
    for (const secret of ["hunter2", "dXNlcjpwYXNz", "s3cr3t", "c2lnbmF0dXJl", "eyJzdWIi"]) {
      expect(text).not.toContain(secret);
    }
    const entry = JSON.parse(lines[0] ?? "");
    // Numbers stay: `tokenExp` is a time, and `cookie: 42` cannot be a credential.
    expect(entry).toMatchObject({ tokenExp: 1_900_000_000, cookie: 42, password: "[redacted]" });
  });

  it("scans hostile near-JWT text without backtracking (a quadratic pattern would hang here)", () => {
    const lines = capture();
    // 256 KB of "eyJ" starts with no separator: a backtracking pattern needed minutes for this.
    const hostile = "eyJA".repeat(64 * 1024);
    createLog("test", { level: "info" }).info("long", { value: hostile, near: `${hostile}.x` });
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry.value).toBe(hostile);
    expect(entry.near).toBe("[redacted-jwt]");
  });

  it("survives fields that cannot be serialised", () => {
    const lines = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throwing = {
      toJSON() {
        throw new Error("cannot");
      },
    };
    createLog("test", { level: "info" }).info("odd", {
      big: 1n,
      cyclic,
      throwing,
      nan: Number.NaN,
      fn: () => 1,
      after: "kept",
    });
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      level: "INFO",
      timestamp: expect.any(String),
      service: "test",
      message: "odd",
      big: "1",
      // A cycle is cut where nesting gets deeper than any log field needs.
      cyclic: { self: { self: { self: { self: { self: { self: "[nested too deep]" } } } } } },
      throwing: "[unserialisable]",
      nan: null,
      after: "kept",
    });
  });

  it("writes strings exactly as JSON.stringify does", () => {
    const samples = [
      "",
      "plain-id_123=",
      'quote " and backslash \\',
      "tab\tnew\nline\r\u0000\u001f\u007f",
      "unicode é 漢字 😀",
      "lone \ud800 high, lone \udc00 low, reversed \udc00\ud800",
      "line sep \u2028 para sep \u2029",
    ];
    for (let code = 0; code < 0x80; code += 1) samples.push(`a${String.fromCharCode(code)}b`);
    for (const sample of samples) expect(jsonString(sample)).toBe(JSON.stringify(sample));
  });

  it("keeps the line's own keys over fields of the same name, and every value's type", () => {
    const lines = capture();
    createLog("svc", { level: "info" }).info("hello", {
      level: "forged",
      service: "forged",
      timestamp: 0,
      message: "forged",
      text: 'a "quoted" value',
      count: -0,
      ratio: 1e-7,
      huge: 1e21,
      flag: false,
      nothing: null,
      list: [1, "two", { three: 3 }],
      when: new Date(0),
    });
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry).toEqual({
      level: "INFO",
      timestamp: expect.any(String),
      service: "svc",
      message: "hello",
      text: 'a "quoted" value',
      count: 0,
      ratio: 1e-7,
      huge: 1e21,
      flag: false,
      nothing: null,
      list: [1, "two", { three: 3 }],
      when: "1970-01-01T00:00:00.000Z",
    });
  });

  it("redacts without changing values that hold no secret", () => {
    expect(redact({ a: 1, b: ["x", null], c: { d: true } })).toEqual({ a: 1, b: ["x", null], c: { d: true } });
  });
});
