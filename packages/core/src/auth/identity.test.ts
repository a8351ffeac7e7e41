import { describe, expect, it } from "vitest";
import { tokenClaimsOf } from "../testing/index";
import { decodeAuthorizerContext } from "./context";
import {
  type ConnectionIdentity,
  connectionIdentityOf,
  decodeTokenIdentity,
  encodeAuthorizerContext,
  joinGroups,
  splitGroups,
  type VerifiedToken,
} from "./identity";

const tokens: VerifiedToken[] = [
  {
    userId: "5f1c7d2e-0000-4000-8000-000000000001",
    username: "alice@example.com",
    email: "alice@example.com",
    groups: ["admins"],
    tokenExp: 2_000_000_000,
    tokenUse: "id",
  },
  // An e-mail that is not the sign-in name (unverified, or a pool that signs in by user name).
  { userId: "u2", username: "bob", email: "bob@example.com", groups: [], tokenExp: 2_000_000_001, tokenUse: "id" },
  { userId: "u3", username: "carol", groups: ["admins,staff", "100%"], tokenExp: 2_000_000_002, tokenUse: "access" },
  // With its sign-in time (`auth_time`), which revocation compares.
  { userId: "u4", username: "dave", groups: [], tokenExp: 2_000_000_003, authTime: 1_999_990_000, tokenUse: "id" },
];

/** What API Gateway hands later events: every context value stringified, plus `principalId`. */
const throughGateway = (context: object, principalId: string) => ({
  principalId,
  ...Object.fromEntries(Object.entries(context).map(([key, value]) => [key, String(value)])),
});

describe("the identity model", () => {
  it("round-trips a token's identity through its claims", () => {
    for (const token of tokens) {
      expect(decodeTokenIdentity(tokenClaimsOf(token), token.userId, token.tokenExp)).toEqual(token);
    }
  });

  it("round-trips a connection's identity through the authorizer context, as API Gateway passes it on", () => {
    for (const token of tokens) {
      for (const transport of ["query", "subprotocol"] as const) {
        const identity = connectionIdentityOf(token, transport);
        expect(identity).not.toHaveProperty("tokenUse");
        const context = encodeAuthorizerContext(identity);
        expect(decodeAuthorizerContext(context)).toEqual(identity);
        expect(decodeAuthorizerContext(throughGateway(context, identity.userId))).toEqual(identity);
      }
    }
  });

  it("takes the sign-in time from auth_time, which a refresh keeps, before iat, which it moves", () => {
    const refreshed = { sub: "u5", auth_time: 1_000, iat: 5_000, exp: 9_000, token_use: "id" };
    expect(decodeTokenIdentity(refreshed, "u5", 9_000).authTime).toBe(1_000);
    const { auth_time: _dropped, ...withoutAuthTime } = refreshed;
    expect(decodeTokenIdentity(withoutAuthTime, "u5", 9_000).authTime).toBe(5_000);
    expect(decodeTokenIdentity({ sub: "u5", exp: 9_000 }, "u5", 9_000)).not.toHaveProperty("authTime");
  });

  it("joins ordinary group names as a plain comma-separated list", () => {
    expect(joinGroups(["admins", "staff"])).toBe("admins,staff");
    expect(joinGroups([])).toBe("");
    expect(splitGroups("admins,staff")).toEqual(["admins", "staff"]);
  });

  it("keeps a group whose name holds a comma one group (no membership of `admins` by name tricks)", () => {
    const groups = ["admins,staff", "100%", "%2C", "plain"];
    const identity: ConnectionIdentity = {
      userId: "u1",
      username: "erin@example.com",
      groups,
      tokenExp: 2_000_000_000,
      transport: "query",
    };
    const decoded = decodeAuthorizerContext(encodeAuthorizerContext(identity));
    expect(decoded?.groups).toEqual(groups);
    expect(decoded?.groups).not.toContain("admins");
  });

  it("reads API Gateway's stringified numbers and refuses a context without an identity", () => {
    expect(
      decodeAuthorizerContext({ userId: "u1", username: "u", groups: "", tokenExp: "2000000000", transport: "query" }),
    ).toEqual({ userId: "u1", username: "u", groups: [], tokenExp: 2_000_000_000, transport: "query" });
    expect(decodeAuthorizerContext({ username: "u", tokenExp: 1, transport: "query" })).toBeUndefined();
    expect(decodeAuthorizerContext(undefined)).toBeUndefined();
  });

  it("names the caller by the e-mail only once it is verified", () => {
    const claims = { email: "mallory@example.com", email_verified: false, "cognito:username": "mallory" };
    expect(decodeTokenIdentity(claims, "u4", 1).username).toBe("mallory");
    expect(decodeTokenIdentity({ ...claims, email_verified: "true" }, "u4", 1).username).toBe("mallory@example.com");
    expect(decodeTokenIdentity({}, "u4", 1).username).toBe("u4");
  });
});
