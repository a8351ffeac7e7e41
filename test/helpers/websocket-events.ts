import { randomUUID } from "node:crypto";
import { LOCAL, ROUTE } from "@wsauth/core/constants";

/**
 * API Gateway WebSocket proxy-integration events (`$connect`, message routes, `$disconnect`) shaped
 * as AWS's developer guide shows them, for calling handler modules directly in tests.
 */
export interface EventOptions {
  connectionId: string;
  /** What the `$connect` authorizer returned (`principalId` + context); API Gateway stringifies it. */
  authorizer?: Record<string, string | number | boolean>;
  connectedAt?: number;
  sourceIp?: string;
  userAgent?: string;
  stage?: string;
}

const apiId = LOCAL.apiId;
const domainName = `${apiId}.execute-api.${LOCAL.region}.amazonaws.com`;

function requestContext(routeKey: string, eventType: "CONNECT" | "MESSAGE" | "DISCONNECT", options: EventOptions) {
  const now = Date.now();
  const requestId = randomUUID();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: new Date(now).toUTCString(),
    messageDirection: "IN",
    stage: options.stage ?? LOCAL.stage,
    connectedAt: options.connectedAt ?? now,
    requestTimeEpoch: now,
    identity: { sourceIp: options.sourceIp ?? "203.0.113.7", userAgent: options.userAgent ?? "vitest" },
    requestId,
    domainName,
    connectionId: options.connectionId,
    apiId,
    ...(options.authorizer ? { authorizer: { ...stringified(options.authorizer), integrationLatency: 7 } } : {}),
  };
}

/** API Gateway passes authorizer context values to later events as strings (and keeps `principalId`). */
function stringified(context: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(context).map(([key, value]) => [key, String(value)]));
}

export function connectEvent(options: EventOptions & { headers?: Record<string, string>; body?: string }) {
  const headers = {
    Host: domainName,
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "X-Forwarded-For": options.sourceIp ?? "203.0.113.7",
    ...options.headers,
  };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([key, value]) => [key, [value]])),
    requestContext: requestContext(ROUTE.connect, "CONNECT", options),
    isBase64Encoded: false,
    ...(options.body !== undefined ? { body: options.body } : {}),
  };
}

export function messageEvent(routeKey: string, body: string, options: EventOptions & { isBase64Encoded?: boolean }) {
  return {
    requestContext: { ...requestContext(routeKey, "MESSAGE", options), messageId: randomUUID() },
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

export function disconnectEvent(options: EventOptions) {
  return {
    headers: { Host: domainName },
    multiValueHeaders: { Host: [domainName] },
    requestContext: {
      ...requestContext(ROUTE.disconnect, "DISCONNECT", options),
      disconnectStatusCode: 1000,
      disconnectReason: "",
    },
    isBase64Encoded: false,
  };
}
