import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { createRevocationLookup, notBeforeOfItem, revocationKeyOf } from "../auth/index";
import { CONNECTIONS_TABLE, REVOCATION } from "../constants/index";
import { parseCognitoAdminEvent } from "./cloudtrail";
import { isRevoked } from "./index";
import { parseRevokeInput } from "./revoke";
import { createRevocationEntity } from "./schema";

/** An EventBridge event of `AdminDisableUser` as CloudTrail delivers it (fields per AWS's event shape). */
function adminEvent(detail: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: "0",
    id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.cognito-idp",
    account: "123456789012",
    time: "2026-12-04T10:00:01Z",
    region: "us-east-1",
    resources: [],
    detail: {
      eventVersion: "1.08",
      userIdentity: { type: "IAMUser", accountId: "123456789012", userName: "operator" },
      eventTime: "2026-12-04T10:00:00Z",
      eventSource: "cognito-idp.amazonaws.com",
      eventName: "AdminDisableUser",
      awsRegion: "us-east-1",
      sourceIPAddress: "192.0.2.1",
      userAgent: "aws-cli/2",
      requestParameters: { userPoolId: "us-east-1_Example", username: "HIDDEN_DUE_TO_SECURITY_REASONS" },
      responseElements: null,
      additionalEventData: { sub: "5f1c7d2e-0000-4000-8000-000000000001" },
      requestID: "b1e2c3d4-0000-4000-8000-000000000000",
      eventID: "c1e2c3d4-0000-4000-8000-000000000000",
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: "123456789012",
      eventCategory: "Management",
      ...detail,
    },
  };
}

describe("not-before rule", () => {
  it("refuses a sign-in before notBefore (and one without a sign-in time), allows one at or after it", () => {
    expect(isRevoked(99, 100)).toBe(true);
    expect(isRevoked(undefined, 100)).toBe(true);
    expect(isRevoked(100, 100)).toBe(false);
    expect(isRevoked(50, undefined)).toBe(false);
  });

  it("keeps the record at least as long as the longest Cognito token (1 day)", () => {
    expect(REVOCATION.recordTtlSeconds).toBeGreaterThanOrEqual(24 * 60 * 60);
  });
});

describe("the authorizer's lookup", () => {
  it("builds the item key ElectroDB gives the revocation entity", () => {
    const entity = createRevocationEntity(new DynamoDBClient({ region: "us-east-1" }), "t");
    for (const userId of ["5f1c7d2e-0000-4000-8000-000000000001", "Ab_c-D"]) {
      expect(entity.get({ userId, scope: "user" }).params().Key).toEqual(revocationKeyOf(userId));
    }
  });

  it("ignores a record past its TTL (TTL deletes late)", () => {
    expect(notBeforeOfItem({ notBefore: { N: "100" }, [CONNECTIONS_TABLE.ttl]: { N: "200" } }, 150)).toBe(100);
    expect(notBeforeOfItem({ notBefore: { N: "100" }, [CONNECTIONS_TABLE.ttl]: { N: "200" } }, 200)).toBeUndefined();
    expect(notBeforeOfItem(undefined, 0)).toBeUndefined();
  });

  it("sends one signed GetItem per user within the cache bound, shared by concurrent lookups", async () => {
    let clock = 1_000_000;
    const requests: Request[] = [];
    const fakeFetch = (async (url: URL, init: RequestInit) => {
      requests.push(new Request(url, init));
      return new Response(JSON.stringify({ Item: { notBefore: { N: "42" }, expireAt: { N: "9999999999" } } }));
    }) as unknown as typeof fetch;
    const lookup = createRevocationLookup({
      tableName: "wsauth-test",
      env: {
        AWS_REGION: "eu-west-1",
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "secret",
        AWS_SESSION_TOKEN: "session",
      },
      now: () => clock,
      fetch: fakeFetch,
    });
    const [first, second] = await Promise.all([lookup.notBefore("u1"), lookup.notBefore("u1")]);
    expect([first, second]).toEqual([42, 42]);
    expect(lookup.notBefore("u1")).toBe(42);
    expect(requests).toHaveLength(1);
    clock += REVOCATION.lookupCacheMs;
    expect(await lookup.notBefore("u1")).toBe(42);
    expect(requests).toHaveLength(2);
    const request = requests[0] as Request;
    expect(request.url).toBe("https://dynamodb.eu-west-1.amazonaws.com/");
    expect(request.headers.get("x-amz-target")).toBe("DynamoDB_20120810.GetItem");
    expect(request.headers.get("authorization")).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/dynamodb\/aws4_request/,
    );
    expect(request.headers.get("x-amz-security-token")).toBe("session");
    expect(await request.json()).toMatchObject({
      TableName: "wsauth-test",
      Key: { pk: { S: revocationKeyOf("u1").pk } },
      ConsistentRead: true,
    });
  });

  it("reports a failing GetItem as a dependency failure and caches nothing", async () => {
    let calls = 0;
    const lookup = createRevocationLookup({
      tableName: "t",
      env: {},
      fetch: (async () => {
        calls += 1;
        return new Response('{"__type":"com.amazonaws.dynamodb.v20120810#AccessDeniedException"}', { status: 400 });
      }) as unknown as typeof fetch,
    });
    await expect(lookup.notBefore("u1")).rejects.toMatchObject({ code: "dependency_failed" });
    await expect(lookup.notBefore("u1")).rejects.toThrow(/AccessDeniedException/);
    expect(calls).toBe(2);
  });
});

describe("Revoke's input", () => {
  it("takes exactly one of userId or username", () => {
    expect(parseRevokeInput({ userId: "u1" })).toEqual({ userId: "u1" });
    expect(parseRevokeInput({ username: "alice@example.com" })).toEqual({ username: "alice@example.com" });
    expect(() => parseRevokeInput({})).toThrow(/exactly one/);
    expect(() => parseRevokeInput({ userId: "u1", username: "a" })).toThrow(/exactly one/);
    expect(() => parseRevokeInput({ userId: "u1", data: 1 })).toThrow();
  });

  it("reads the user of a Cognito admin event from its recorded sub, the username being hidden", () => {
    expect(parseCognitoAdminEvent(adminEvent())).toEqual({
      eventName: "AdminDisableUser",
      target: { userId: "5f1c7d2e-0000-4000-8000-000000000001" },
    });
  });

  it("falls back to a username logged in the clear, and names no one when both are hidden or the call failed", () => {
    const clear = adminEvent({
      eventName: "AdminRemoveUserFromGroup",
      requestParameters: { userPoolId: "us-east-1_Example", username: "alice@example.com", groupName: "admins" },
      additionalEventData: undefined,
    });
    expect(parseCognitoAdminEvent(clear).target).toEqual({ username: "alice@example.com" });
    const hidden = adminEvent({ additionalEventData: null });
    expect(parseCognitoAdminEvent(hidden).target).toBeUndefined();
    expect(parseCognitoAdminEvent(adminEvent({ errorCode: "UserNotFoundException" })).target).toBeUndefined();
  });

  it("refuses other events: another source, another action", () => {
    expect(() => parseCognitoAdminEvent({ ...adminEvent(), source: "aws.s3" })).toThrow();
    expect(() => parseCognitoAdminEvent(adminEvent({ eventName: "AdminEnableUser" }))).toThrow();
  });
});
