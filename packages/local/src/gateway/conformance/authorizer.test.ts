import { decodeAuthorizerContext } from "@wsauth/core/auth";
import { LOCAL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway, LambdaHandler } from "../index";
import {
  allowPolicy,
  CONNECTION_ID_SHAPE,
  type capturingLog,
  connect,
  EventLog,
  open,
  recording,
  startTestGateway,
} from "./harness";

/**
 * REQUEST authorizer on $connect: event shape, Allow/Deny/Unauthorized/failure, identity sources,
 * and how its context reaches later events. One gateway; the authorizer's behaviour is chosen per
 * connection through the `mode` query parameter.
 */
const METHOD_ARN = `arn:aws:execute-api:${LOCAL.region}:${LOCAL.accountId}:${LOCAL.apiId}/${LOCAL.stage}/$connect`;
const FAKE_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLXN1YiJ9.c2lnbmF0dXJl";

const authorizerBehaviour: Record<string, (event: { methodArn: string }) => unknown> = {
  allow: (event) =>
    allowPolicy(event.methodArn, {
      userId: "user-sub",
      username: "ada@example.com",
      groups: "admins,dev",
      tokenExp: 1_900_000_000,
      transport: "query",
      verified: true,
      nothing: null,
    }),
  wildcard: () => allowPolicy(`arn:aws:execute-api:*:*:${LOCAL.apiId}/*`),
  "other-resource": () => allowPolicy(`arn:aws:execute-api:${LOCAL.region}:${LOCAL.accountId}:other/*/$connect`),
  deny: (event) => ({
    ...allowPolicy(event.methodArn),
    policyDocument: { Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: event.methodArn }] },
  }),
  "deny-wins": (event) => ({
    principalId: "p",
    policyDocument: {
      Statement: [
        { Action: "execute-api:*", Effect: "Allow", Resource: "*" },
        { Action: "execute-api:Invoke", Effect: "Deny", Resource: event.methodArn },
      ],
    },
  }),
  unauthorized: () => {
    throw new Error("Unauthorized");
  },
  crash: () => {
    throw new TypeError("boom in authorizer");
  },
  hang: () => new Promise(() => {}),
  "no-policy": () => ({ principalId: "p" }),
  "object-context": (event) => allowPolicy(event.methodArn, { nested: { a: 1 } }),
  "no-principal": (event) => ({ ...allowPolicy(event.methodArn), principalId: undefined }),
};

describe("gateway: $connect REQUEST authorizer", () => {
  const events = new EventLog();
  let gateway: Gateway;
  let log: ReturnType<typeof capturingLog>;

  beforeAll(async () => {
    const authorizer: LambdaHandler = async (event) => {
      events.push("authorizer", event);
      const mode = event.queryStringParameters?.mode ?? "allow";
      const behaviour = authorizerBehaviour[mode];
      if (!behaviour) throw new Error(`unknown mode ${mode}`);
      return behaviour(event);
    };
    ({ gateway, log } = await startTestGateway({
      authorizer,
      limits: { integrationTimeoutMs: 300 },
      routes: {
        $connect: recording(events, "$connect"),
        $disconnect: recording(events, "$disconnect"),
        $default: recording(events, "$default"),
      },
    }));
  });
  afterAll(() => gateway.close());

  it("sends the REQUEST event API Gateway sends, then accepts on Allow for the method ARN", async () => {
    const client = await open(`${gateway.url}?mode=allow&idToken=${FAKE_TOKEN}`, [], {
      headers: { "X-Custom-Header": "custom-value", "User-Agent": "conformance-suite" },
    });
    const event = await events.next("authorizer", (e) => e.queryStringParameters?.idToken === FAKE_TOKEN);
    expect(event.type).toBe("REQUEST");
    expect(event.methodArn).toBe(METHOD_ARN);
    expect(event.headers["X-Custom-Header"]).toBe("custom-value");
    expect(event.multiValueHeaders["X-Custom-Header"]).toEqual(["custom-value"]);
    expect(event.headers["Sec-WebSocket-Key"]).toEqual(expect.any(String));
    expect(event.queryStringParameters).toEqual({ mode: "allow", idToken: FAKE_TOKEN });
    expect(event.multiValueQueryStringParameters).toEqual({ mode: ["allow"], idToken: [FAKE_TOKEN] });
    expect(event.stageVariables).toEqual({});
    const context = event.requestContext;
    expect(context).toMatchObject({
      routeKey: "$connect",
      eventType: "CONNECT",
      messageDirection: "IN",
      stage: LOCAL.stage,
      apiId: LOCAL.apiId,
      domainName: `127.0.0.1:${gateway.port}`,
      identity: { sourceIp: "127.0.0.1", userAgent: "conformance-suite" },
    });
    expect(context.connectionId).toMatch(CONNECTION_ID_SHAPE);
    expect(context.requestId).toMatch(CONNECTION_ID_SHAPE);
    expect(context.extendedRequestId).toEqual(expect.any(String));
    expect(context.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(context.requestTimeEpoch).toEqual(expect.any(Number));
    expect(context.connectedAt).toEqual(expect.any(Number));
    client.socket.close();
  });

  it("hands the context, stringified, with principalId to $connect, messages and $disconnect", async () => {
    const client = await open(`${gateway.url}?mode=allow&case=context`);
    const connectEvent = await events.next("$connect", (e) => e.queryStringParameters?.case === "context");
    const expected = {
      userId: "user-sub",
      username: "ada@example.com",
      groups: "admins,dev",
      tokenExp: "1900000000",
      transport: "query",
      verified: "true",
      nothing: null,
      principalId: "user-sub",
    };
    expect(connectEvent.requestContext.authorizer).toMatchObject(expected);
    expect(connectEvent.requestContext.authorizer.integrationLatency).toEqual(expect.any(Number));
    const connectionId = connectEvent.requestContext.connectionId;

    client.send("hello");
    const message = await events.next("$default", (e) => e.requestContext.connectionId === connectionId);
    expect(message.requestContext.authorizer).toMatchObject(expected);
    expect(decodeAuthorizerContext(message.requestContext.authorizer)).toEqual({
      userId: "user-sub",
      username: "ada@example.com",
      groups: ["admins", "dev"],
      tokenExp: 1_900_000_000,
      transport: "query",
    });

    client.socket.close();
    const disconnect = await events.disconnectOf(connectionId);
    expect(disconnect.requestContext.authorizer).toMatchObject(expected);
  });

  it("matches policy resources with IAM wildcards", async () => {
    const client = await open(`${gateway.url}?mode=wildcard`);
    client.socket.close();
  });

  it.each([
    ["deny", 403],
    ["deny-wins", 403],
    ["other-resource", 403],
    ["unauthorized", 401],
    ["crash", 500],
    ["hang", 500],
    ["no-policy", 500],
    ["object-context", 500],
    ["no-principal", 500],
  ])("refuses the upgrade when the authorizer answers %s (HTTP %i) and never runs $connect", async (mode, status) => {
    const before = events.of("$connect").length;
    const result = await connect(`${gateway.url}?mode=${mode}`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(status);
    expect(result.headers?.["content-type"]).toBe("application/json");
    expect(JSON.parse(result.body ?? "{}").message).toEqual(expect.any(String));
    expect(events.of("$connect").filter((e) => e.queryStringParameters?.mode === mode)).toHaveLength(0);
    expect(events.of("$connect").length).toBeGreaterThanOrEqual(before);
  });

  it("logs one line naming the authorizer when it fails, and never logs the token", async () => {
    await connect(`${gateway.url}?mode=crash&idToken=${FAKE_TOKEN}`, ["wsauth.v1", FAKE_TOKEN]);
    const failures = log.lines.filter(
      (line) => line.message === "authorizer failed" && line.fields?.error === "TypeError: boom in authorizer",
    );
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]?.fields).toMatchObject({ status: 500, handler: "wsauth-local-authorizer" });
    expect(log.text()).not.toContain(FAKE_TOKEN);
    expect(log.text()).not.toContain("c2lnbmF0dXJl");
  });
});

describe("gateway: identity sources", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      authorizer: recording(events, "authorizer", (event) => allowPolicy(event.methodArn)),
      identitySources: ["route.request.header.Auth", "route.request.querystring.token"],
      routes: {},
    }));
  });
  afterAll(() => gateway.close());

  it.each([
    ["the header is missing", "?token=abc", {}],
    ["the header is empty", "?token=abc", { Auth: "" }],
    ["the query parameter is missing", "", { Auth: "x" }],
    ["the query parameter is empty", "?token=", { Auth: "x" }],
  ])("answers 401 without invoking the authorizer when %s", async (_case, query, headers) => {
    const marker = `${Math.random()}`;
    const result = await connect(`${gateway.url}${query}`, [], { headers: { ...headers, "X-Marker": marker } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.status).toBe(401);
    expect(events.of("authorizer").filter((e) => e.headers["X-Marker"] === marker)).toHaveLength(0);
  });

  it("invokes the authorizer when every source is present (header names match case-insensitively)", async () => {
    const client = await open(`${gateway.url}?token=abc`, [], { headers: { auth: "x" } });
    expect(events.of("authorizer").length).toBeGreaterThanOrEqual(1);
    client.socket.close();
  });
});

describe("gateway: configuration", () => {
  it("refuses an identity source expression it does not understand", async () => {
    await expect(startTestGateway({ routes: {}, identitySources: ["$request.header.Auth"] })).rejects.toThrow(
      /unsupported identity source/,
    );
  });
});
