import { describe, expect, it } from "vitest";
import { frames, parseServerFrame } from "../protocol/index";
import {
  DependencyError,
  ERROR_CODES,
  ERROR_WIRE,
  fromWire,
  IdentityError,
  InputError,
  isClientSafe,
  toWire,
  toWsAuthError,
  WsAuthError,
} from "./index";

describe("the ErrorCode -> wire mapping", () => {
  it("round-trips every code through an error frame", () => {
    for (const code of ERROR_CODES) {
      const error = fromWire({ code, message: `message of ${code}` });
      const wire = toWire(error);
      const received = parseServerFrame(JSON.stringify(frames.error(wire.code, wire.message)));
      expect(received).toEqual({ type: "error", code, message: wire.message });
      if (received?.type !== "error") throw new Error("not an error frame");
      const decoded = fromWire(received);
      expect(decoded).toBeInstanceOf(error.constructor);
      expect(decoded.code).toBe(code);
      expect(toWire(decoded)).toEqual(wire);
    }
  });

  it("shows a client its own errors and only a generic message for the server's", () => {
    expect(toWire(new InputError("validation_failed", "to: too long"))).toEqual({
      code: "validation_failed",
      message: "to: too long",
    });
    expect(toWire(new IdentityError("forbidden", "only members of admins may broadcast")).message).toBe(
      "only members of admins may broadcast",
    );
    const leaky = new DependencyError("connections table: put failed (arn:aws:dynamodb:secret-table)");
    expect(toWire(leaky)).toEqual({ code: "dependency_failed", message: ERROR_WIRE.dependency_failed.clientMessage });
    expect(toWire(toWsAuthError(new Error("TypeError at /var/task/index.mjs")))).toEqual({
      code: "internal",
      message: "internal error",
    });
    expect(isClientSafe(new InputError("invalid_json", "x"))).toBe(true);
    expect(isClientSafe(new WsAuthError("timeout", "x"))).toBe(false);
  });

  it("decides the $connect answer and the close by code", () => {
    expect(ERROR_WIRE.unauthorized.connect).toBe("unauthorized");
    expect(ERROR_WIRE.token_expired.connect).toBe("unauthorized");
    expect(ERROR_WIRE.forbidden.connect).toBe("deny");
    expect(ERROR_WIRE.dependency_failed.connect).toBe("error");
    expect(ERROR_WIRE.internal.connect).toBe("error");
    expect(ERROR_CODES.filter((code) => ERROR_WIRE[code].closesConnection)).toEqual(["token_expired"]);
  });
});
