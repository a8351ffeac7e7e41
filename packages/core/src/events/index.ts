import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { ROUTE } from "../constants/index";
import { formatRequestTime, newId } from "./ids";

export { formatRequestTime, newId } from "./ids";

/**
 * The Lambda events of an API Gateway WebSocket API, in the shapes AWS's developer guide documents:
 * the REQUEST authorizer event of `$connect`, and the proxy events of `$connect`, message routes and
 * `$disconnect`. One builder makes them all: the local gateway for the events it really sends, and
 * the test fixtures (`@wsauth/core/testing`) for handlers called directly.
 */

/**
 * The REQUEST authorizer event of a WebSocket API. AWS sends no `resource`, `path`, `httpMethod` or
 * `pathParameters` for WebSocket APIs (those are REST API fields in @types/aws-lambda).
 */
export type WebSocketConnectAuthorizerEvent = Omit<
  APIGatewayRequestAuthorizerEvent,
  "resource" | "path" | "httpMethod" | "pathParameters"
>;

/** The API that sends the events. */
export interface ApiCoordinates {
  region: string;
  accountId: string;
  apiId: string;
  stage: string;
  /** `{apiId}.execute-api.{region}.amazonaws.com` on AWS; host and port locally. */
  domainName: string;
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`: the `methodArn` of `$connect`. */
export function connectMethodArn(api: Pick<ApiCoordinates, "region" | "accountId" | "apiId" | "stage">): string {
  return `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/${ROUTE.connect}`;
}

/** What the handshake request carried (header names keep the client's casing, as in AWS's events). */
export interface HandshakeRequest {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
}

/** Authorizer context as later events carry it: stringified values plus `principalId`. */
export type EventAuthorizer = Readonly<Record<string, string | number | null>>;

/** A connection's fixed part of every `requestContext`. */
export interface ConnectionFacts {
  connectionId: string;
  /** Epoch milliseconds. */
  connectedAt: number;
  identity: Readonly<{ sourceIp: string; userAgent?: string }>;
  authorizer?: EventAuthorizer;
}

type EventType = "CONNECT" | "MESSAGE" | "DISCONNECT";

export interface EventBuilder {
  readonly connectMethodArn: string;
  authorizerEvent(request: HandshakeRequest, facts: ConnectionFacts): WebSocketConnectAuthorizerEvent;
  connectEvent(request: HandshakeRequest, facts: ConnectionFacts): ReturnType<typeof connectEventOf>;
  messageEvent(
    routeKey: string,
    facts: ConnectionFacts,
    body: string,
    isBase64Encoded: boolean,
  ): ReturnType<typeof messageEventOf>;
  /** `host` is the handshake's `Host` header; API Gateway sends `$disconnect` none of its other headers. */
  disconnectEvent(
    facts: ConnectionFacts,
    host: string,
    statusCode: number,
    reason: string,
  ): ReturnType<typeof disconnectEventOf>;
}

function requestContextOf(api: ApiCoordinates, routeKey: string, eventType: EventType, facts: ConnectionFacts) {
  const now = Date.now();
  const requestId = newId();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: formatRequestTime(now),
    messageDirection: "IN" as const,
    stage: api.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now,
    identity: facts.identity,
    requestId,
    domainName: api.domainName,
    connectionId: facts.connectionId,
    apiId: api.apiId,
  };
}

function connectEventOf(api: ApiCoordinates, request: HandshakeRequest, facts: ConnectionFacts) {
  return {
    headers: request.headers,
    multiValueHeaders: request.multiValueHeaders,
    queryStringParameters: request.queryStringParameters,
    multiValueQueryStringParameters: request.multiValueQueryStringParameters,
    requestContext: { ...requestContextOf(api, ROUTE.connect, "CONNECT", facts), authorizer: facts.authorizer },
    isBase64Encoded: false,
  };
}

function messageEventOf(
  api: ApiCoordinates,
  routeKey: string,
  facts: ConnectionFacts,
  body: string,
  isBase64Encoded: boolean,
) {
  return {
    requestContext: {
      ...requestContextOf(api, routeKey, "MESSAGE", facts),
      messageId: newId(),
      authorizer: facts.authorizer,
    },
    body,
    isBase64Encoded,
  };
}

function disconnectEventOf(api: ApiCoordinates, facts: ConnectionFacts, host: string, code: number, reason: string) {
  // API Gateway sends only a few headers with $disconnect (never the handshake's token-bearing ones).
  return {
    headers: { Host: host, "X-Forwarded-For": facts.identity.sourceIp },
    multiValueHeaders: { Host: [host], "X-Forwarded-For": [facts.identity.sourceIp] },
    requestContext: {
      ...requestContextOf(api, ROUTE.disconnect, "DISCONNECT", facts),
      disconnectStatusCode: code,
      disconnectReason: reason,
      authorizer: facts.authorizer,
    },
    isBase64Encoded: false,
  };
}

/** The events of one API stage. */
export function createEventBuilder(api: ApiCoordinates): EventBuilder {
  const methodArn = connectMethodArn(api);
  return {
    connectMethodArn: methodArn,
    authorizerEvent: (request, facts) => ({
      type: "REQUEST",
      methodArn,
      headers: request.headers,
      multiValueHeaders: request.multiValueHeaders,
      // The aws-lambda type says `| null`; an absent query string is absent here, as the gateway sends it.
      queryStringParameters: request.queryStringParameters as Record<string, string>,
      multiValueQueryStringParameters: request.multiValueQueryStringParameters as Record<string, string[]>,
      stageVariables: {},
      // The cast: @types/aws-lambda models the REST API request context; the WebSocket one has other fields.
      requestContext: requestContextOf(
        api,
        ROUTE.connect,
        "CONNECT",
        facts,
      ) as unknown as WebSocketConnectAuthorizerEvent["requestContext"],
    }),
    connectEvent: (request, facts) => connectEventOf(api, request, facts),
    messageEvent: (routeKey, facts, body, isBase64Encoded) =>
      messageEventOf(api, routeKey, facts, body, isBase64Encoded),
    disconnectEvent: (facts, host, statusCode, reason) => disconnectEventOf(api, facts, host, statusCode, reason),
  };
}
