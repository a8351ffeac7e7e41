import { LOCAL, SUBPROTOCOL, TOKEN_QUERY_PARAM } from "../constants/index";
import {
  type ConnectionFacts,
  createEventBuilder,
  type EventBuilder,
  type HandshakeRequest,
  type WebSocketConnectAuthorizerEvent,
} from "../events/index";

/**
 * API Gateway WebSocket events for calling handlers directly, made by the same builder the local
 * gateway uses (`@wsauth/core/events`), with the defaults of a request to a deployed API.
 */

/** Where fixture events come from (any part may be overridden). */
export interface FixtureApi {
  region?: string;
  accountId?: string;
  apiId?: string;
  stage?: string;
}

function builderFor(api: FixtureApi): EventBuilder {
  const { region = LOCAL.region, accountId = LOCAL.accountId, apiId = LOCAL.apiId, stage = LOCAL.stage } = api;
  return createEventBuilder({ region, accountId, apiId, stage, domainName: domainNameOf(apiId, region) });
}

const domainNameOf = (apiId: string, region: string) => `${apiId}.execute-api.${region}.amazonaws.com`;

function handshakeRequest(headers: Record<string, string>, query?: Record<string, string[]>): HandshakeRequest {
  const request: HandshakeRequest = {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
  };
  if (query) {
    request.queryStringParameters = Object.fromEntries(
      Object.entries(query).map(([name, values]) => [name, values.at(-1) ?? ""]),
    );
    request.multiValueQueryStringParameters = query;
  }
  return request;
}

export interface ConnectEventOptions extends FixtureApi {
  /** Token sent as `?idToken=` (repeat the parameter by passing an array). */
  queryToken?: string | string[];
  /** Token sent as `Sec-WebSocket-Protocol: wsauth.v1, <token>`. */
  subprotocolToken?: string;
  /** Raw `Sec-WebSocket-Protocol` header value (overrides subprotocolToken). */
  protocolHeader?: string;
  headers?: Record<string, string>;
  connectionId?: string;
  sourceIp?: string;
  nowMs?: number;
}

/** The `$connect` REQUEST authorizer event of a browser's handshake carrying a token. */
export function buildConnectAuthorizerEvent(options: ConnectEventOptions = {}): WebSocketConnectAuthorizerEvent {
  const region = options.region ?? LOCAL.region;
  const apiId = options.apiId ?? LOCAL.apiId;
  const sourceIp = options.sourceIp ?? "127.0.0.1";
  const protocolHeader =
    options.protocolHeader ??
    (options.subprotocolToken !== undefined ? `${SUBPROTOCOL}, ${options.subprotocolToken}` : undefined);
  const headers: Record<string, string> = {
    Host: domainNameOf(apiId, region),
    "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "X-Forwarded-For": sourceIp,
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
    ...(protocolHeader !== undefined ? { "Sec-WebSocket-Protocol": protocolHeader } : {}),
    ...options.headers,
  };
  const queryValues =
    options.queryToken === undefined
      ? undefined
      : { [TOKEN_QUERY_PARAM]: Array.isArray(options.queryToken) ? options.queryToken : [options.queryToken] };
  const facts: ConnectionFacts = {
    connectionId: options.connectionId ?? "Fixture0ConnId=",
    connectedAt: options.nowMs ?? Date.now(),
    identity: { sourceIp, userAgent: "fixture" },
  };
  return builderFor(options).authorizerEvent(handshakeRequest(headers, queryValues), facts);
}

/** A connection as the proxy events of its routes describe it. */
export interface EventOptions {
  connectionId: string;
  /** What the `$connect` authorizer returned (`principalId` + context); API Gateway stringifies it. */
  authorizer?: Record<string, string | number | boolean>;
  connectedAt?: number;
  sourceIp?: string;
  userAgent?: string;
  stage?: string;
}

function factsOf(options: EventOptions): ConnectionFacts {
  return {
    connectionId: options.connectionId,
    connectedAt: options.connectedAt ?? Date.now(),
    identity: { sourceIp: options.sourceIp ?? "203.0.113.7", userAgent: options.userAgent ?? "vitest" },
    ...(options.authorizer ? { authorizer: { ...stringified(options.authorizer), integrationLatency: 7 } } : {}),
  };
}

/** API Gateway passes authorizer context values to later events as strings (and keeps `principalId`). */
function stringified(context: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(context).map(([key, value]) => [key, String(value)]));
}

/** The `$connect` route's proxy event (after the authorizer allowed the connection). */
export function connectEvent(options: EventOptions & { headers?: Record<string, string> }) {
  const headers = {
    Host: domainNameOf(LOCAL.apiId, LOCAL.region),
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "X-Forwarded-For": options.sourceIp ?? "203.0.113.7",
    ...options.headers,
  };
  return builderFor(options).connectEvent(handshakeRequest(headers), factsOf(options));
}

/** A message route's proxy event. */
export function messageEvent(routeKey: string, body: string, options: EventOptions & { isBase64Encoded?: boolean }) {
  return builderFor(options).messageEvent(routeKey, factsOf(options), body, options.isBase64Encoded ?? false);
}

/** The `$disconnect` proxy event (a client's normal close). */
export function disconnectEvent(options: EventOptions) {
  return builderFor(options).disconnectEvent(factsOf(options), domainNameOf(LOCAL.apiId, LOCAL.region), 1000, "");
}
