import { isUtf8 } from "node:buffer";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  APP_NAME,
  AUTHORIZER_HANDLER,
  AUTHORIZER_IDENTITY_SOURCES,
  LIMITS,
  LOCAL,
  LOCAL_CREDENTIALS,
  ROUTE,
  ROUTE_HANDLERS,
  ROUTE_SELECTION_FIELD,
} from "@wsauth/core/constants";
import { createLog } from "@wsauth/core/logging";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import {
  type AuthorizerDecision,
  decisionForFailure,
  decisionForResult,
  missingIdentitySource,
  parseIdentitySources,
} from "./authorizer.js";
import { type ConnectionFacts, type EventAuthorizer, EventFactory, type Handshake, readHandshake } from "./events.js";
import { FrameSizeGuard } from "./frames.js";
import { answerClientError, refuseUpgrade } from "./guard.js";
import { newId } from "./ids.js";
import { errorMessage, type Invocation, invoke } from "./invoke.js";
import { type ConnectionDirectory, createManagementHandler } from "./management.js";
import { closedOrTerminated, listen, rejectRaw } from "./net.js";
import { errorFrame, HANDSHAKE_HEADERS, handshakeSafe, readProxyResponse } from "./responses.js";
import { createSigV4Verifier } from "./sigv4.js";
import type { Gateway, GatewayLimits, GatewayOptions, LambdaHandler, RouteTable } from "./types.js";

/** Close codes and reasons the gateway uses when it ends a connection itself. */
const CLOSE = {
  goingAway: { code: 1001, reason: "Going away" },
  tooBig: { code: 1009, reason: "Message too big" },
  deleted: { code: 1000, reason: "" },
} as const;

interface Connection extends ConnectionFacts {
  socket: WebSocket;
  host: string;
  /** Last client frame (drives the idle timeout). */
  lastClientActivityAt: number;
  /** Last traffic in either direction (`LastActiveAt` of GetConnection). */
  lastActiveAt: number;
  open: boolean;
  /** Set when the gateway closes the connection: what `$disconnect` reports. */
  serverClose?: { code: number; reason: string };
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

/**
 * Most bytes queued for one client that it has not read yet. Beyond this it is treated as gone (closed
 * with 1001), so a client that stops reading cannot make the gateway buffer without bound.
 */
const SEND_BUFFER_LIMIT_BYTES = 64 * LIMITS.messagePayloadBytes;

/** A handshake that passed the authorizer and `$connect`, waiting for `ws` to finish the upgrade. */
interface AcceptedHandshake {
  facts: ConnectionFacts;
  handshake: Handshake;
  subprotocol?: string;
  headers: Array<[string, string]>;
}

type ConnectOutcome =
  | { accepted: true }
  | { accepted: false; status: number; body: string; headers: Record<string, string> };

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const host = options.host ?? "127.0.0.1";
  const stage = options.stage ?? LOCAL.stage;
  const region = options.region ?? LOCAL.region;
  const accountId = options.accountId ?? LOCAL.accountId;
  const apiId = options.apiId ?? LOCAL.apiId;
  const requestedPort = options.port ?? LOCAL.ports.gateway;
  const limits: GatewayLimits = {
    frameBytes: LIMITS.frameBytes,
    messagePayloadBytes: LIMITS.messagePayloadBytes,
    idleTimeoutMs: LIMITS.idleTimeoutMs,
    connectionLifetimeMs: LIMITS.connectionLifetimeMs,
    integrationTimeoutMs: LIMITS.integrationTimeoutMs,
  };
  // Only values that are set override the defaults (an explicit `undefined` would disable a limit).
  for (const [name, value] of Object.entries(options.limits ?? {}) as Array<[keyof GatewayLimits, unknown]>) {
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value > 0)) throw new Error(`gateway limit ${name} must be a positive number`);
    limits[name] = value;
  }
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map((origin) => origin.toLowerCase()));
  const identitySources = parseIdentitySources(options.identitySources ?? AUTHORIZER_IDENTITY_SOURCES);
  const log = options.log ?? createLog("gateway");
  // Per-message debug lines cost a redaction pass each: only build them when debug is on.
  const debug = (process.env.WSAUTH_LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? "").toUpperCase() === "DEBUG";

  let routes: RouteTable = { ...options.routes };
  let authorizer: LambdaHandler | undefined = options.authorizer;
  const connections = new Map<string, Connection>();
  const accepted = new WeakMap<IncomingMessage, AcceptedHandshake>();
  const pendingHandshakes = new Set<Promise<unknown>>();
  const pendingDisconnects = new Set<Promise<void>>();
  let closing = false;
  let routesSet = !options.waitForRoutes;

  const functionNames = new Map<string, string>();
  const functionNameOf = (routeKey: string) => {
    let name = functionNames.get(routeKey);
    if (!name) {
      const module =
        routeKey === AUTHORIZER_HANDLER ? AUTHORIZER_HANDLER : (ROUTE_HANDLERS as Record<string, string>)[routeKey];
      name = `${APP_NAME}-${stage}-${module ?? routeKey.replace(/^\$/, "")}`;
      functionNames.set(routeKey, name);
    }
    return name;
  };
  const invokeRoute = (routeKey: string, handler: LambdaHandler, event: unknown) =>
    invoke(handler, event, {
      functionName: functionNameOf(routeKey),
      region,
      accountId,
      timeoutMs: limits.integrationTimeoutMs,
    });

  const httpServer = createServer();
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: limits.messagePayloadBytes,
    verifyClient: (
      info: { req: IncomingMessage },
      done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void,
    ) => {
      const handshake = connectFlow(info.req).then(
        (outcome) => (outcome.accepted ? done(true) : done(false, outcome.status, outcome.body, outcome.headers)),
        (error: unknown) => {
          log.error("$connect handshake failed", { error: errorMessage(error) });
          done(false, 500, JSON.stringify({ message: "Internal server error" }), {
            "Content-Type": "application/json",
          });
        },
      );
      pendingHandshakes.add(handshake);
      void handshake.finally(() => pendingHandshakes.delete(handshake));
    },
    handleProtocols: (_offered: Set<string>, req: IncomingMessage) => accepted.get(req)?.subprotocol ?? false,
  });

  // Listening port is known only after listen(); events need it for domainName.
  let events: EventFactory;

  wss.on("headers", (headers: string[], req: IncomingMessage) => {
    const handshake = accepted.get(req);
    if (!handshake) return;
    for (const [name, value] of handshake.headers) headers.push(`${name}: ${value}`);
    // A subprotocol the client did not offer still goes out, as on AWS (the client then fails the handshake).
    if (handshake.subprotocol && !headers.some((line) => line.toLowerCase().startsWith("sec-websocket-protocol:"))) {
      headers.push(`Sec-WebSocket-Protocol: ${handshake.subprotocol}`);
    }
  });

  async function connectFlow(req: IncomingMessage): Promise<ConnectOutcome> {
    const url = req.url ?? "";
    const search = url.includes("?") ? url.slice(url.indexOf("?")) : "";
    const handshake = readHandshake(req, search);
    const facts: ConnectionFacts = { connectionId: newId(), connectedAt: Date.now(), identity: handshake.identity };
    const { connectionId } = facts;

    const currentAuthorizer = authorizer;
    if (currentAuthorizer) {
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
      const invocation = await invoke(currentAuthorizer, events.authorizerEvent(handshake, facts), {
        functionName: functionNameOf(AUTHORIZER_HANDLER),
        region,
        accountId,
        timeoutMs: limits.integrationTimeoutMs,
      });
      const decision: AuthorizerDecision = invocation.ok
        ? decisionForResult(invocation.value, events.connectMethodArn)
        : decisionForFailure(invocation);
      if (decision.outcome !== "allow") {
        const status = decision.outcome === "unauthorized" ? 401 : decision.outcome === "forbidden" ? 403 : 500;
        const logLine = { connectionId, status, reason: decision.reason };
        if (status === 500) {
          log.error("authorizer failed", {
            ...logLine,
            handler: functionNameOf(AUTHORIZER_HANDLER),
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
    }

    let subprotocol: string | undefined;
    const responseHeaders: Array<[string, string]> = [];
    const connectHandler = routeHandler(ROUTE.connect);
    if (connectHandler) {
      const invocation = await invokeRoute(ROUTE.connect, connectHandler, events.connectEvent(handshake, facts));
      if (!invocation.ok) {
        logIntegrationFailure(ROUTE.connect, invocation, connectionId);
        return reject(500, "Internal server error", "InternalServerErrorException");
      }
      const response = readProxyResponse(invocation.value);
      if (!response) {
        log.error("$connect integration returned a malformed response", {
          routeKey: ROUTE.connect,
          handler: functionNameOf(ROUTE.connect),
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
    if (closing || socket.destroyed || !socket.readable || !socket.writable) {
      const status = closing ? CLOSE.goingAway : { code: 1006, reason: "Client closed during $connect" };
      trackDisconnect(runDisconnect(facts, handshake.host, status.code, status.reason));
      return reject(closing ? 503 : 410, closing ? "Service Unavailable" : "Gone", "GoneException");
    }
    accepted.set(req, { facts, handshake, headers: responseHeaders, ...(subprotocol ? { subprotocol } : {}) });
    return { accepted: true };
  }

  function reject(status: number, message: string, errorType: string): ConnectOutcome {
    return {
      accepted: false,
      status,
      body: JSON.stringify({ message }),
      headers: { "Content-Type": "application/json", "x-amzn-ErrorType": errorType },
    };
  }

  function onOpen(socket: WebSocket, req: IncomingMessage) {
    const handshake = accepted.get(req);
    accepted.delete(req);
    if (!handshake) {
      socket.terminate(); // cannot happen: ws only opens sockets verifyClient accepted
      return;
    }
    const now = Date.now();
    const connection: Connection = {
      ...handshake.facts,
      socket,
      host: handshake.handshake.host,
      lastClientActivityAt: now,
      lastActiveAt: now,
      open: true,
    };
    connections.set(connection.connectionId, connection);
    log.info("connected", {
      connectionId: connection.connectionId,
      subprotocol: handshake.subprotocol ? "selected" : "none",
    });

    const guard = new FrameSizeGuard(limits.frameBytes);
    const rawSocket = req.socket;
    // Runs before ws's own 'data' listener, so an oversized frame is caught before its message is handled.
    const watchFrames = (chunk: Buffer) => {
      if (guard.push(chunk)) {
        rawSocket.off("data", watchFrames);
        closeConnection(connection, CLOSE.tooBig);
      }
    };
    rawSocket.prependListener("data", watchFrames);

    socket.on("message", (data: RawData, isBinary: boolean) => onMessage(connection, data as Buffer, isBinary));
    socket.on("ping", () => {
      connection.lastClientActivityAt = connection.lastActiveAt = Date.now();
    });
    socket.on("error", (error: Error & { code?: string }) => {
      // ws already answers protocol errors with a close frame; remember the code for $disconnect.
      if (!connection.serverClose) {
        const code =
          error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
            ? 1009
            : error.code === "WS_ERR_INVALID_UTF8"
              ? 1007
              : 1002;
        connection.serverClose = { code, reason: code === 1009 ? CLOSE.tooBig.reason : "Protocol error" };
      }
      if (debug) log.debug("socket error", { connectionId: connection.connectionId, code: error.code });
    });
    socket.on("close", (code: number, reason: Buffer) => {
      finish(connection, code, reason.toString("utf8"));
    });

    connection.idleTimer = setTimeout(checkIdle, limits.idleTimeoutMs, connection);
    connection.idleTimer.unref();
    connection.lifetimeTimer = setTimeout(closeConnection, limits.connectionLifetimeMs, connection, CLOSE.goingAway);
    connection.lifetimeTimer.unref();
  }

  function checkIdle(connection: Connection) {
    if (!connection.open) return;
    const idleFor = Date.now() - connection.lastClientActivityAt;
    if (idleFor >= limits.idleTimeoutMs) {
      closeConnection(connection, CLOSE.goingAway);
      return;
    }
    // Re-armed only when it fires, so client traffic costs one Date.now() and no timer work.
    connection.idleTimer = setTimeout(checkIdle, limits.idleTimeoutMs - idleFor, connection);
    connection.idleTimer.unref();
  }

  function onMessage(connection: Connection, data: Buffer, isBinary: boolean) {
    if (!connection.open) return; // e.g. the rest of a chunk after an oversized frame
    connection.lastClientActivityAt = connection.lastActiveAt = Date.now();
    const body = isBinary ? data.toString("base64") : data.toString("utf8");
    const routeKey = isBinary ? ROUTE.default : selectRoute(body);
    const handler = routeHandler(routeKey);
    const event = events.messageEvent(routeKey, connection, body, isBinary);
    if (!handler) {
      // No matching route and no $default: API Gateway answers with an error frame, the connection stays.
      sendFrame(connection, errorFrame("Forbidden", connection.connectionId, event.requestContext.requestId));
      if (debug) log.debug("no route", { connectionId: connection.connectionId });
      return;
    }
    const selectedRoute = routeKey;
    if (debug)
      log.debug("message", { connectionId: connection.connectionId, routeKey: selectedRoute, bytes: data.length });
    void invokeRoute(selectedRoute, handler, event).then((invocation) => {
      if (!invocation.ok) {
        logIntegrationFailure(selectedRoute, invocation, connection.connectionId, event.requestContext.requestId);
        sendFrame(
          connection,
          errorFrame("Internal server error", connection.connectionId, event.requestContext.requestId),
        );
        return;
      }
      if (options.routeResponses) {
        const response = readProxyResponse(invocation.value);
        if (response?.body !== undefined) sendFrame(connection, response.body);
      }
    });
  }

  /** `$request.body.action` with `$default` as fallback (non-JSON, no action, unknown action, `$`-keys). */
  function selectRoute(body: string): string {
    const first = body.charCodeAt(0) === 0x7b ? "{" : body.trimStart()[0];
    if (first !== "{") return ROUTE.default;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return ROUTE.default;
    }
    const action = (parsed as Record<string, unknown> | null)?.[ROUTE_SELECTION_FIELD];
    if (typeof action !== "string" || action.startsWith("$") || !routeHandler(action)) return ROUTE.default;
    return action;
  }

  /**
   * The handler of a route key. Own keys only: an action named after an `Object.prototype` member
   * ("constructor", "toString", "__proto__") is an unknown route, not a call into the prototype.
   */
  function routeHandler(routeKey: string): LambdaHandler | undefined {
    return Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
  }

  function sendFrame(connection: Connection, text: string) {
    if (!connection.open || connection.socket.readyState !== WebSocket.OPEN) return;
    connection.socket.send(text);
  }

  function logIntegrationFailure(
    routeKey: string,
    invocation: Exclude<Invocation, { ok: true }>,
    connectionId: string,
    requestId?: string,
  ) {
    log.error(invocation.reason === "timeout" ? "integration timed out" : "integration failed", {
      routeKey,
      handler: functionNameOf(routeKey),
      connectionId,
      ...(requestId ? { requestId } : {}),
      ...(invocation.reason === "timeout"
        ? { timeoutMs: limits.integrationTimeoutMs }
        : { error: errorMessage(invocation.error) }),
    });
  }

  /** The gateway ends a connection: close frame to the client, `$disconnect` at once. */
  function closeConnection(connection: Connection, status: { code: number; reason: string }) {
    if (!connection.open) return;
    connection.serverClose = { code: status.code, reason: status.reason };
    try {
      connection.socket.close(status.code, status.reason);
    } catch {
      connection.socket.terminate();
    }
    finish(connection, status.code, status.reason);
  }

  /** Runs exactly once per connection, whichever way it ended. */
  function finish(connection: Connection, code: number, reason: string) {
    if (!connection.open) return;
    connection.open = false;
    connections.delete(connection.connectionId);
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    const status = connection.serverClose ?? { code, reason };
    log.info("disconnected", { connectionId: connection.connectionId, statusCode: status.code });
    trackDisconnect(runDisconnect(connection, connection.host, status.code, status.reason));
  }

  async function runDisconnect(facts: ConnectionFacts, hostHeader: string, code: number, reason: string) {
    const handler = routeHandler(ROUTE.disconnect);
    if (!handler) return;
    const invocation = await invokeRoute(
      ROUTE.disconnect,
      handler,
      events.disconnectEvent(facts, hostHeader, code, reason),
    );
    if (!invocation.ok) logIntegrationFailure(ROUTE.disconnect, invocation, facts.connectionId);
  }

  function trackDisconnect(promise: Promise<void>) {
    pendingDisconnects.add(promise);
    void promise.finally(() => pendingDisconnects.delete(promise));
  }

  const directory: ConnectionDirectory = {
    describe(connectionId) {
      const connection = connections.get(connectionId);
      if (!connection) return undefined;
      return {
        connectedAt: connection.connectedAt,
        lastActiveAt: connection.lastActiveAt,
        sourceIp: connection.identity.sourceIp,
        ...(connection.identity.userAgent ? { userAgent: connection.identity.userAgent } : {}),
      };
    },
    post(connectionId, data) {
      const connection = connections.get(connectionId);
      if (!connection || connection.socket.readyState !== WebSocket.OPEN) return Promise.resolve(false);
      if (connection.socket.bufferedAmount + data.length > SEND_BUFFER_LIMIT_BYTES) {
        // The client has stopped reading: drop it rather than buffer without bound.
        closeConnection(connection, CLOSE.goingAway);
        connection.socket.terminate();
        return Promise.resolve(false);
      }
      connection.lastActiveAt = Date.now();
      // Answered once the frame is queued, as API Gateway answers once it has accepted the message:
      // waiting for the client to read it would let one client that stops reading stall every sender
      // (a `sendmessage` to its user, a broadcast). A write that fails later closes the socket.
      // Valid UTF-8 goes out as a text frame (what browsers expect from JSON); anything else as binary.
      connection.socket.send(data, { binary: !isUtf8(data) });
      return Promise.resolve(true);
    },
    delete(connectionId) {
      const connection = connections.get(connectionId);
      if (!connection) return false;
      closeConnection(connection, CLOSE.deleted);
      return true;
    },
  };

  const management = createManagementHandler({
    stage,
    directory,
    maxPayloadBytes: limits.messagePayloadBytes,
    verifySignature: createSigV4Verifier({ credentials: options.credentials ?? LOCAL_CREDENTIALS, region }),
    log,
  });
  httpServer.on("request", management);
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "/").split("?", 1)[0];
    if (refuseUpgrade(req, socket, allowedOrigins)) return;
    if (closing || !routesSet) return rejectRaw(socket, 503, "Service Unavailable");
    if (path !== `/${stage}` && path !== `/${stage}/`) return rejectRaw(socket, 403, "Forbidden");
    wss.handleUpgrade(req, socket, head, onOpen);
  });
  httpServer.on("clientError", answerClientError);

  await listen(httpServer, requestedPort, host);
  const { port } = httpServer.address() as AddressInfo;
  events = new EventFactory({ stage, apiId, region, accountId, domainName: `${host}:${port}` });
  httpServer.on("error", (error) => log.error("gateway server error", { error: errorMessage(error) }));
  log.info("gateway listening", { url: `ws://${host}:${port}/${stage}`, stage });

  return {
    url: `ws://${host}:${port}/${stage}`,
    managementEndpoint: `http://${host}:${port}/${stage}`,
    port,
    connectionCount: () => connections.size,
    setRoutes(nextRoutes, nextAuthorizer) {
      routes = { ...nextRoutes };
      if (nextAuthorizer) authorizer = nextAuthorizer;
      routesSet = true;
    },
    async close() {
      if (closing) return;
      closing = true;
      const serverClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await Promise.allSettled([...pendingHandshakes]);
      const sockets = [...connections.values()].map((connection) => connection.socket);
      for (const connection of [...connections.values()]) closeConnection(connection, CLOSE.goingAway);
      await Promise.allSettled([...pendingDisconnects]);
      await Promise.all(sockets.map(closedOrTerminated));
      httpServer.closeAllConnections();
      await serverClosed;
    },
  };
}
