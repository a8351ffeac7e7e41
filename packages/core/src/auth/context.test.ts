import { describe, expect, it } from "vitest";
import { joinGroups, parseAuthorizerContext, splitGroups, toAuthorizerContext } from "./context";

describe("authorizer context", () => {
  it("joins ordinary group names as a plain comma-separated list", () => {
    expect(joinGroups(["admins", "staff"])).toBe("admins,staff");
    expect(joinGroups([])).toBe("");
    expect(splitGroups("admins,staff")).toEqual(["admins", "staff"]);
  });

  it("keeps a group whose name holds a comma one group (no membership of `admins` by name tricks)", () => {
    const groups = ["admins,staff", "100%", "%2C", "plain"];
    const context = toAuthorizerContext({
      userId: "u1",
      username: "erin@example.com",
      groups,
      tokenExp: 2_000_000_000,
      transport: "query",
    });
    const parsed = parseAuthorizerContext(context);
    expect(parsed?.groups).toEqual(groups);
    expect(parsed?.groups).not.toContain("admins");
  });

  it("reads API Gateway's stringified numbers and refuses a context without an identity", () => {
    expect(
      parseAuthorizerContext({ userId: "u1", username: "u", groups: "", tokenExp: "2000000000", transport: "query" }),
    ).toEqual({ userId: "u1", username: "u", groups: [], tokenExp: 2_000_000_000, transport: "query" });
    expect(parseAuthorizerContext({ username: "u", tokenExp: 1, transport: "query" })).toBeUndefined();
    expect(parseAuthorizerContext(undefined)).toBeUndefined();
  });
});
