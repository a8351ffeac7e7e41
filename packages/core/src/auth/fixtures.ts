import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { LOCAL, ROUTE, SUBPROTOCOL, TOKEN_QUERY_PARAM } from "../constants/index";

/**
 * Builders of API Gateway WebSocket `$connect` authorizer events, shaped as AWS documents them
 * (REQUEST authorizer on a WebSocket API), for tests and the local gateway. Pure data: no I/O.
 */
export interface ConnectEventOptions {
  /** Token sent as `?idToken=` (repeat the parameter by passing an array). */
  queryToken?: string | string[];
  /** Token sent as `Sec-WebSocket-Protocol: wsauth.v1, <token>`. */
  subprotocolToken?: string;
  /** Raw `Sec-WebSocket-Protocol` header value (overrides subprotocolToken). */
  protocolHeader?: string;
  headers?: Record<string, string>;
  connectionId?: string;
  sourceIp?: string;
  region?: string;
  accountId?: string;
  apiId?: string;
  stage?: string;
  nowMs?: number;
}

/** The `methodArn` API Gateway sends for `$connect`. */
export function connectMethodArn(
  options: Pick<ConnectEventOptions, "region" | "accountId" | "apiId" | "stage"> = {},
): string {
  const { region = LOCAL.region, accountId = LOCAL.accountId, apiId = LOCAL.apiId, stage = LOCAL.stage } = options;
  return `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/${ROUTE.connect}`;
}

/**
 * The REQUEST authorizer event of a WebSocket API. AWS sends no `resource`, `path`, `httpMethod` or
 * `pathParameters` for WebSocket APIs (those are REST API fields in @types/aws-lambda).
 */
export type WebSocketConnectAuthorizerEvent = Omit<
  APIGatewayRequestAuthorizerEvent,
  "resource" | "path" | "httpMethod" | "pathParameters"
>;

export function buildConnectAuthorizerEvent(options: ConnectEventOptions = {}): WebSocketConnectAuthorizerEvent {
  const nowMs = options.nowMs ?? Date.now();
  const stage = options.stage ?? LOCAL.stage;
  const apiId = options.apiId ?? LOCAL.apiId;
  const region = options.region ?? LOCAL.region;
  const connectionId = options.connectionId ?? "Fixture0ConnId=";
  const domainName = `${apiId}.execute-api.${region}.amazonaws.com`;
  const protocolHeader =
    options.protocolHeader ??
    (options.subprotocolToken !== undefined ? `${SUBPROTOCOL}, ${options.subprotocolToken}` : undefined);
  const headers: Record<string, string> = {
    Host: domainName,
    "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "X-Forwarded-For": options.sourceIp ?? "127.0.0.1",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
    ...(protocolHeader !== undefined ? { "Sec-WebSocket-Protocol": protocolHeader } : {}),
    ...options.headers,
  };
  const queryValues =
    options.queryToken === undefined
      ? undefined
      : Array.isArray(options.queryToken)
        ? options.queryToken
        : [options.queryToken];
  return {
    type: "REQUEST",
    methodArn: connectMethodArn(options),
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: queryValues ? { [TOKEN_QUERY_PARAM]: queryValues.at(-1) ?? "" } : null,
    multiValueQueryStringParameters: queryValues ? { [TOKEN_QUERY_PARAM]: queryValues } : null,
    stageVariables: null,
    requestContext: {
      routeKey: ROUTE.connect,
      eventType: "CONNECT",
      extendedRequestId: "FixtureExtReqId=",
      requestTime: new Date(nowMs).toUTCString(),
      messageDirection: "IN",
      stage,
      connectedAt: nowMs,
      requestTimeEpoch: nowMs,
      identity: { sourceIp: options.sourceIp ?? "127.0.0.1", userAgent: "fixture" },
      requestId: "FixtureReqId=",
      domainName,
      connectionId,
      apiId,
      // The cast: @types/aws-lambda models the REST API request context; the WebSocket one has other fields.
    } as unknown as APIGatewayRequestAuthorizerEvent["requestContext"],
  };
}
