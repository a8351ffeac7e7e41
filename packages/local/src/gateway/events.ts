import type { IncomingMessage } from "node:http";
import { ROUTE } from "@wsauth/core/constants";
import { formatRequestTime, newId } from "./ids.js";

/**
 * Lambda events in the shapes API Gateway WebSocket APIs send: the REQUEST authorizer event and the
 * Lambda proxy events of `$connect`, message routes and `$disconnect`.
 */

/** What the handshake request carried, captured once per connection. */
export interface Handshake {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  query: URLSearchParams;
  identity: Readonly<{ sourceIp: string; userAgent?: string }>;
  host: string;
}

/** Authorizer context as later events carry it: stringified values plus principalId. */
export type EventAuthorizer = Readonly<Record<string, string | number | null>>;

/** A connection's fixed part of every requestContext. */
export interface ConnectionFacts {
  connectionId: string;
  connectedAt: number;
  identity: Handshake["identity"];
  authorizer?: EventAuthorizer;
}

export function readHandshake(req: IncomingMessage, search: string): Handshake {
  // rawHeaders keeps the client's header-name casing, as API Gateway's events do. The maps have no
  // prototype: a header or parameter may be named `constructor` or `__proto__`.
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index] as string;
    const value = req.rawHeaders[index + 1] as string;
    headers[name] = value;
    const values = multiValueHeaders[name];
    if (values) values.push(value);
    else multiValueHeaders[name] = [value];
  }
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const forwarded = {
    "X-Forwarded-For": sourceIp,
    "X-Forwarded-Port": String(req.socket.localPort ?? ""),
    "X-Forwarded-Proto": "http",
  };
  for (const [name, value] of Object.entries(forwarded)) {
    if (headers[name] === undefined && req.headers[name.toLowerCase()] === undefined) {
      headers[name] = value;
      multiValueHeaders[name] = [value];
    }
  }

  const query = new URLSearchParams(search);
  const handshake: Handshake = {
    headers,
    multiValueHeaders,
    query,
    identity: Object.freeze({
      sourceIp,
      ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
    }),
    host: req.headers.host ?? "",
  };
  if ([...query.keys()].length > 0) {
    const single: Record<string, string> = Object.create(null);
    const multi: Record<string, string[]> = Object.create(null);
    for (const [name, value] of query) {
      single[name] = value;
      const values = multi[name];
      if (values) values.push(value);
      else multi[name] = [value];
    }
    handshake.queryStringParameters = single;
    handshake.multiValueQueryStringParameters = multi;
  }
  return handshake;
}

export class EventFactory {
  constructor(
    private readonly api: { stage: string; apiId: string; domainName: string; region: string; accountId: string },
  ) {}

  /** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect` */
  get connectMethodArn(): string {
    const { region, accountId, apiId, stage } = this.api;
    return `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/$connect`;
  }

  private requestContext(routeKey: string, eventType: "CONNECT" | "MESSAGE" | "DISCONNECT", facts: ConnectionFacts) {
    const now = Date.now();
    const requestId = newId();
    return {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: formatRequestTime(now),
      messageDirection: "IN" as const,
      stage: this.api.stage,
      connectedAt: facts.connectedAt,
      requestTimeEpoch: now,
      identity: facts.identity,
      requestId,
      domainName: this.api.domainName,
      connectionId: facts.connectionId,
      apiId: this.api.apiId,
    };
  }

  authorizerEvent(handshake: Handshake, facts: ConnectionFacts) {
    return {
      type: "REQUEST" as const,
      methodArn: this.connectMethodArn,
      headers: handshake.headers,
      multiValueHeaders: handshake.multiValueHeaders,
      queryStringParameters: handshake.queryStringParameters,
      multiValueQueryStringParameters: handshake.multiValueQueryStringParameters,
      stageVariables: {},
      requestContext: this.requestContext(ROUTE.connect, "CONNECT", facts),
    };
  }

  connectEvent(handshake: Handshake, facts: ConnectionFacts) {
    return {
      headers: handshake.headers,
      multiValueHeaders: handshake.multiValueHeaders,
      queryStringParameters: handshake.queryStringParameters,
      multiValueQueryStringParameters: handshake.multiValueQueryStringParameters,
      requestContext: { ...this.requestContext(ROUTE.connect, "CONNECT", facts), authorizer: facts.authorizer },
      isBase64Encoded: false,
    };
  }

  messageEvent(routeKey: string, facts: ConnectionFacts, body: string, isBase64Encoded: boolean) {
    return {
      requestContext: {
        ...this.requestContext(routeKey, "MESSAGE", facts),
        messageId: newId(),
        authorizer: facts.authorizer,
      },
      body,
      isBase64Encoded,
    };
  }

  disconnectEvent(facts: ConnectionFacts, host: string, statusCode: number, reason: string) {
    // API Gateway sends only a few headers with $disconnect (never the handshake's token-bearing ones).
    const headers = { Host: host, "X-Forwarded-For": facts.identity.sourceIp };
    return {
      headers,
      multiValueHeaders: { Host: [host], "X-Forwarded-For": [facts.identity.sourceIp] },
      requestContext: {
        ...this.requestContext(ROUTE.disconnect, "DISCONNECT", facts),
        disconnectStatusCode: statusCode,
        disconnectReason: reason,
        authorizer: facts.authorizer,
      },
      isBase64Encoded: false,
    };
  }
}
