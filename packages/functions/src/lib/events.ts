/**
 * The parts of API Gateway WebSocket proxy events the handlers read. `@types/aws-lambda`'s
 * `APIGatewayProxyWebsocketEventV2` lacks `authorizer` and `identity`, which API Gateway does send.
 */
export interface WebSocketEvent {
  requestContext: {
    routeKey: string;
    eventType?: string;
    connectionId: string;
    /** Epoch milliseconds. */
    connectedAt?: number;
    stage?: string;
    /** The `$connect` authorizer's `principalId` and context, values possibly stringified. */
    authorizer?: unknown;
    identity?: { sourceIp?: string; userAgent?: string };
  };
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** What a WebSocket Lambda integration returns. */
export interface GatewayResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** The frame's text (binary frames arrive base64-encoded). */
export function bodyOf(event: WebSocketEvent): string | null | undefined {
  if (event.isBase64Encoded && typeof event.body === "string")
    return Buffer.from(event.body, "base64").toString("utf8");
  return event.body;
}
