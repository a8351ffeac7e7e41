import type { IncomingMessage } from "node:http";
import { AUTHORIZER_HANDLER, ROUTE } from "@wsauth/core/constants";
import { type ConnectionFacts, type EventAuthorizer, type HandshakeRequest, newId } from "@wsauth/core/events";
import type { Log } from "@wsauth/core/logging";
import {
  type AuthorizerDecision,
  decisionForFailure,
  decisionForResult,
  type IdentitySource,
  missingIdentitySource,
} from "./authorizer";
import type { Integrations } from "./integrations";
import { errorMessage } from "./invoke";
import { HANDSHAKE_HEADERS, handshakeSafe, readProxyResponse } from "./responses";
import { type StageThrottler, THROTTLED } from "./throttle";

/**
 * The WebSocket upgrade, as API Gateway runs it: identity sources, the REQUEST authorizer, then the
 * `$connect` integration, whose answer accepts or refuses the upgrade. `ws` calls in through
 * `verifyClient` (decide), `handleProtocols` (the subprotocol `$connect` selected) and its `headers`
 * event (the integration's response headers on the 101).
 */

/** What the handshake request carried, captured once per connection. */
export interface Handshake extends HandshakeRequest {
  query: URLSearchParams;
  identity: Readonly<{ sourceIp: string; userAgent?: string }>;
  host: string;
}

/** A handshake that passed the authorizer and `$connect`, waiting for `ws` to finish the upgrade. */
export interface AcceptedHandshake {
  facts: ConnectionFacts;
  handshake: Handshake;
  subprotocol?: string;
  headers: Array<[string, string]>;
}

type HandshakeOutcome =
  | { accepted: true }
  | { accepted: false; status: number; body: string; headers: Record<string, string> };

/** Close status of a connection that never opened: the gateway went away, or the client did. */
const GOING_AWAY = { code: 1001, reason: "Going away" } as const;

export function readHandshake(req: IncomingMessage): Handshake {
  const url = req.url ?? "";
  const search = url.includes("?") ? url.slice(url.indexOf("?")) : "";
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

function reject(status: number, message: string, errorType: string): HandshakeOutcome {
  return {
    accepted: false,
    status,
    body: JSON.stringify({ message }),
    headers: { "Content-Type": "application/json", "x-amzn-ErrorType": errorType },
  };
}

export interface HandshakesOptions {
  integrations: Integrations;
  identitySources: readonly IdentitySource[];
  /** True once the gateway is shutting down: a handshake that finishes then is refused. */
  closing: () => boolean;
  /** The stage's per-route token buckets (`$connect`'s is taken before the authorizer runs). */
  throttler: StageThrottler;
  log: Log;
}

/** The handshakes in flight and the accepted ones waiting for their socket. */
export class Handshakes {
  readonly #options: HandshakesOptions;
  readonly #accepted = new WeakMap<IncomingMessage, AcceptedHandshake>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(options: HandshakesOptions) {
    this.#options = options;
  }

  /** `ws`'s `verifyClient`: runs the handshake, then accepts or refuses the upgrade. */
  readonly verifyClient = (
    info: { req: IncomingMessage },
    done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void,
  ): void => {
    const handshake = this.#run(info.req).then(
      (outcome) => (outcome.accepted ? done(true) : done(false, outcome.status, outcome.body, outcome.headers)),
      (error: unknown) => {
        this.#options.log.error("$connect handshake failed", { error: errorMessage(error) });
        done(false, 500, JSON.stringify({ message: "Internal server error" }), {
          "Content-Type": "application/json",
        });
      },
    );
    this.#pending.add(handshake);
    void handshake.finally(() => this.#pending.delete(handshake));
  };

  /** `ws`'s `handleProtocols`: the subprotocol `$connect` selected, if any. */
  readonly selectProtocol = (_offered: Set<string>, req: IncomingMessage): string | false =>
    this.#accepted.get(req)?.subprotocol ?? false;

  /** `ws`'s `headers` event: the `$connect` integration's response headers go on the 101. */
  readonly addResponseHeaders = (headers: string[], req: IncomingMessage): void => {
    const handshake = this.#accepted.get(req);
    if (!handshake) return;
    for (const [name, value] of handshake.headers) headers.push(`${name}: ${value}`);
    // A subprotocol the client did not offer still goes out, as on AWS (the client then fails the handshake).
    if (handshake.subprotocol && !headers.some((line) => line.toLowerCase().startsWith("sec-websocket-protocol:"))) {
      headers.push(`Sec-WebSocket-Protocol: ${handshake.subprotocol}`);
    }
  };

  /** The accepted handshake of an upgraded request (once: the connection takes it over). */
  take(req: IncomingMessage): AcceptedHandshake | undefined {
    const handshake = this.#accepted.get(req);
    this.#accepted.delete(req);
    return handshake;
  }

  /** Resolves once every handshake in flight has been answered. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  async #run(req: IncomingMessage): Promise<HandshakeOutcome> {
    const { integrations, log } = this.#options;
    const handshake = readHandshake(req);
    const facts: ConnectionFacts = { connectionId: newId(), connectedAt: Date.now(), identity: handshake.identity };
    if (!this.#options.throttler.admit(ROUTE.connect)) {
      log.info("$connect rejected", {
        connectionId: facts.connectionId,
        status: THROTTLED.status,
        reason: "throttled",
      });
      return reject(THROTTLED.status, THROTTLED.message, THROTTLED.errorType);
    }

    const refused = await this.#authorize(req, handshake, facts);
    if (refused) return refused;

    let subprotocol: string | undefined;
    const responseHeaders: Array<[string, string]> = [];
    const connectHandler = integrations.handler(ROUTE.connect);
    if (connectHandler) {
      const { connectionId } = facts;
      const invocation = await integrations.invoke(
        ROUTE.connect,
        connectHandler,
        integrations.events.connectEvent(handshake, facts),
      );
      if (!invocation.ok) {
        integrations.logFailure(ROUTE.connect, invocation, connectionId);
        return reject(500, "Internal server error", "InternalServerErrorException");
      }
      const response = readProxyResponse(invocation.value);
      if (!response) {
        log.error("$connect integration returned a malformed response", {
          routeKey: ROUTE.connect,
          handler: integrations.functionName(ROUTE.connect),
          connectionId,
        });
        return reject(500, "Internal server error", "InternalServerErrorException");
      }
      if (response.statusCode < 200 || response.statusCode > 299) {
        log.info("$connect rejected", { connectionId, status: response.statusCode, reason: "$connect integration" });
        return {
          accepted: false,
          status: response.statusCode,
          body: response.body ?? "",
          headers: { "Content-Type": response.contentType ?? "text/plain", ...handshakeSafe(response.headers) },
        };
      }
      for (const [name, value] of Object.entries(response.headers)) {
        if (name.toLowerCase() === "sec-websocket-protocol") subprotocol = value;
        else if (!HANDSHAKE_HEADERS.has(name.toLowerCase())) responseHeaders.push([name, value]);
      }
    }

    // The client may have gone, or the gateway may be closing, while the handlers ran: the connection
    // never opens, but $connect already ran (and may have registered it), so it gets its $disconnect.
    const socket = req.socket;
    const closing = this.#options.closing();
    if (closing || socket.destroyed || !socket.readable || !socket.writable) {
      const status = closing ? GOING_AWAY : { code: 1006, reason: "Client closed during $connect" };
      integrations.disconnect(facts, handshake.host, status.code, status.reason);
      return reject(closing ? 503 : 410, closing ? "Service Unavailable" : "Gone", "GoneException");
    }
    this.#accepted.set(req, { facts, handshake, headers: responseHeaders, ...(subprotocol ? { subprotocol } : {}) });
    return { accepted: true };
  }

  /** Identity sources, then the authorizer: a refusal, or `undefined` with `facts.authorizer` set. */
  async #authorize(
    req: IncomingMessage,
    handshake: Handshake,
    facts: ConnectionFacts,
  ): Promise<HandshakeOutcome | undefined> {
    const { integrations, log, identitySources } = this.#options;
    const authorizer = integrations.authorizer;
    if (!authorizer) return undefined;
    const { connectionId } = facts;
    const missing = missingIdentitySource(identitySources, req.headers, handshake.query);
    if (missing) {
      log.info("$connect rejected", {
        connectionId,
        status: 401,
        reason: `identity source ${missing.expression} missing`,
      });
      return reject(401, "Unauthorized", "UnauthorizedException");
    }
    const started = Date.now();
    const invocation = await integrations.invoke(
      AUTHORIZER_HANDLER,
      authorizer,
      integrations.events.authorizerEvent(handshake, facts),
    );
    const decision: AuthorizerDecision = invocation.ok
      ? decisionForResult(invocation.value, integrations.events.connectMethodArn)
      : decisionForFailure(invocation);
    if (decision.outcome !== "allow") {
      const status = decision.outcome === "unauthorized" ? 401 : decision.outcome === "forbidden" ? 403 : 500;
      const logLine = { connectionId, status, reason: decision.reason };
      if (status === 500) {
        log.error("authorizer failed", {
          ...logLine,
          handler: integrations.functionName(AUTHORIZER_HANDLER),
          ...(invocation.ok
            ? {}
            : { error: invocation.reason === "timeout" ? "timeout" : errorMessage(invocation.error) }),
        });
        return reject(500, "Internal server error", "AuthorizerConfigurationException");
      }
      log.info("$connect rejected", logLine);
      return reject(
        status,
        status === 401 ? "Unauthorized" : "Forbidden",
        status === 401 ? "UnauthorizedException" : "AccessDeniedException",
      );
    }
    const authorizerContext: EventAuthorizer = Object.freeze({
      ...decision.context,
      principalId: decision.principalId,
      integrationLatency: Date.now() - started,
    });
    facts.authorizer = authorizerContext;
    return undefined;
  }
}
