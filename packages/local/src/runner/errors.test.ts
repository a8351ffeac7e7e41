import { toWire, toWsAuthError, WsAuthError } from "@wsauth/core/errors";
import { describe, expect, it } from "vitest";
import { CliError } from "../cli/ws";
import { HandlerBuildError } from "../handlers/build";
import { describeError, LocalStackError, ToolingError } from "./errors";

describe("developer tooling errors", () => {
  it("share one root that is not the domain's", () => {
    for (const error of [
      new LocalStackError("port 3001 is in use", "pass --gateway-port"),
      new CliError("send needs --user"),
      new HandlerBuildError("src/a.ts:1:1: Expected ';'"),
    ]) {
      expect(error).toBeInstanceOf(ToolingError);
      expect(error).not.toBeInstanceOf(WsAuthError);
      expect(error.name).toBe(error.constructor.name);
    }
  });

  it("never reach a client with their text: a handler would report them as internal", () => {
    const leaked = toWsAuthError(new LocalStackError("dynalite at /home/dev/.local failed", "restart it"));
    expect(toWire(leaked)).toEqual({ code: "internal", message: "internal error" });
  });

  it("print as one line with the fix", () => {
    expect(describeError(new LocalStackError("port 3001 is in use", "pass --gateway-port"))).toBe(
      "port 3001 is in use (fix: pass --gateway-port)",
    );
  });
});
