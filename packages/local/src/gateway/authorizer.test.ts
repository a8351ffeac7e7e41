import { describe, expect, it } from "vitest";
import {
  arnMatches,
  decisionForFailure,
  decisionForResult,
  missingIdentitySource,
  parseIdentitySources,
  wildcardMatch,
} from "./authorizer";

const ARN = "arn:aws:execute-api:us-east-1:000000000000:local/local/$connect";
const policy = (statements: unknown[], context?: unknown) => ({
  principalId: "p",
  policyDocument: { Version: "2012-10-17", Statement: statements },
  ...(context === undefined ? {} : { context }),
});
const allow = (resource: unknown, action: unknown = "execute-api:Invoke") => ({
  Effect: "Allow",
  Action: action,
  Resource: resource,
});

describe("wildcardMatch / arnMatches", () => {
  it.each([
    ["*", "anything", true],
    ["a?c", "abc", true],
    ["a*c", "abbbc", true],
    ["a*c", "abbb", false],
    ["", "", true],
    ["abc", "abcd", false],
  ])("%s ~ %s = %s", (pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });

  it.each([
    [ARN, true],
    ["*", true],
    ["arn:aws:execute-api:*:*:local/*", true],
    ["arn:aws:execute-api:us-east-1:000000000000:local/*/$connect", true],
    ["arn:aws:execute-api:us-east-1:000000000000:other/*", false],
    ["arn:aws:execute-api:us-east-1:*", false], // a wildcard never spans the colon-separated parts
    ["arn:aws:execute-api:eu-west-1:000000000000:local/local/$connect", false],
  ])("resource %s matches the method ARN: %s", (pattern, expected) => {
    expect(arnMatches(pattern, ARN)).toBe(expected);
  });
});

describe("decisionForResult", () => {
  it("allows on a matching Allow and stringifies the context", () => {
    const decision = decisionForResult(policy([allow(ARN)], { n: 1, b: false, s: "x", z: null, u: undefined }), ARN);
    expect(decision).toEqual({ outcome: "allow", principalId: "p", context: { n: "1", b: "false", s: "x", z: null } });
  });

  it("accepts a single statement object and action lists", () => {
    const result = { principalId: "p", policyDocument: { Statement: allow([ARN], ["s3:GetObject", "execute-api:*"]) } };
    expect(decisionForResult(result, ARN).outcome).toBe("allow");
  });

  it.each([
    ["an explicit Deny beats Allow", policy([allow("*"), { Effect: "Deny", Action: "*", Resource: ARN }])],
    ["no statement matches", policy([allow("arn:aws:execute-api:us-east-1:000000000000:x/*")])],
    ["the action does not cover Invoke", policy([allow(ARN, "execute-api:ManageConnections")])],
  ])("forbids when %s", (_case, result) => {
    expect(decisionForResult(result, ARN).outcome).toBe("forbidden");
  });

  it.each([
    ["not an object", "Allow"],
    ["no principalId", { policyDocument: { Statement: [allow(ARN)] } }],
    ["no policy", { principalId: "p" }],
    ["a bad Effect", policy([{ Effect: "allow", Action: "*", Resource: ARN }])],
    ["a nested context value", policy([allow(ARN)], { a: { b: 1 } })],
    ["an array context value", policy([allow(ARN)], { a: [1] })],
    ["a result over 8 KB", policy([allow(ARN)], { big: "x".repeat(9000) })],
  ])("is a 500 when the result has %s", (_case, result) => {
    expect(decisionForResult(result, ARN).outcome).toBe("error");
  });
});

describe("decisionForFailure", () => {
  it("maps a thrown Unauthorized to 401 and anything else to 500", () => {
    expect(decisionForFailure({ reason: "error", error: new Error("Unauthorized") }).outcome).toBe("unauthorized");
    expect(decisionForFailure({ reason: "error", error: "Unauthorized" }).outcome).toBe("unauthorized");
    expect(decisionForFailure({ reason: "error", error: new Error("unauthorized!") }).outcome).toBe("error");
    expect(decisionForFailure({ reason: "timeout" }).outcome).toBe("error");
  });
});

describe("identity sources", () => {
  const sources = parseIdentitySources(["route.request.header.Auth", "route.request.querystring.token"]);

  it("finds the first missing or empty source", () => {
    expect(missingIdentitySource(sources, { auth: "x" }, new URLSearchParams("token=y"))).toBeUndefined();
    expect(missingIdentitySource(sources, {}, new URLSearchParams("token=y"))?.expression).toBe(
      "route.request.header.Auth",
    );
    expect(missingIdentitySource(sources, { auth: "x" }, new URLSearchParams("Token=y"))?.name).toBe("token");
    expect(missingIdentitySource(sources, { auth: "x" }, new URLSearchParams("token="))?.name).toBe("token");
  });

  it("rejects expressions it does not understand", () => {
    expect(() => parseIdentitySources(["method.request.header.Auth"])).toThrow(/unsupported identity source/);
  });
});
