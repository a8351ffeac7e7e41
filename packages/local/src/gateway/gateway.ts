import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { AUTHORIZER_IDENTITY_SOURCES, LIMITS, LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { createEventBuilder } from "@wsauth/core/events";
import { createLog } from "@wsauth/core/logging";
import { type WebSocket, WebSocketServer } from "ws";
import { parseIdentitySources } from "./authorizer";
import { CLOSE, Connection } from "./connection";
import { answerClientError, refuseUpgrade } from "./guard";
import { Handshakes } from "./handshake";
import { Integrations } from "./integrations";
import { errorMessage } from "./invoke";
import { type ConnectionDirectory, createManagementHandler } from "./management";
import { listen, rejectRaw } from "./net";
import { createSigV4Verifier } from "./sigv4";
import { StageThrottler } from "./throttle";
import type { Gateway, GatewayLimits, GatewayOptions } from "./types";

/** AWS's limits, with the ones `options` sets (a value that is set must be a positive number). */
function limitsOf(options: GatewayOptions): GatewayLimits {
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
  return limits;
}

/**
 * Starts the gateway: one HTTP server for the WebSocket upgrades (`Handshakes`), the open
 * `Connection`s, and the `@connections` management API; `Integrations` invokes the handlers.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const host = options.host ?? "127.0.0.1";
  const stage = options.stage ?? LOCAL.stage;
  const region = options.region ?? LOCAL.region;
  const accountId = options.accountId ?? LOCAL.accountId;
  const limits = limitsOf(options);
  const identitySources = parseIdentitySources(options.identitySources ?? AUTHORIZER_IDENTITY_SOURCES);
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map((origin) => origin.toLowerCase()));
  const log = options.log ?? createLog("gateway");
  const debug = log.enabled?.("debug") ?? false;

  const httpServer = createServer();
  httpServer.on("clientError", answerClientError);
  await listen(httpServer, options.port ?? LOCAL.ports.gateway, host);
  const { port } = httpServer.address() as AddressInfo;
  httpServer.on("error", (error) => log.error("gateway server error", { error: errorMessage(error) }));

  const connections = new Map<string, Connection>();
  let closing = false;
  let routesSet = !options.waitForRoutes;
  const throttler = new StageThrottler(options.throttle);
  const integrations = new Integrations({
    routes: options.routes,
    authorizer: options.authorizer,
    events: createEventBuilder({
      stage,
      region,
      accountId,
      apiId: options.apiId ?? LOCAL.apiId,
      domainName: `${host}:${port}`,
    }),
    stage,
    region,
    accountId,
    timeoutMs: limits.integrationTimeoutMs,
    routeResponses: options.routeResponses ?? false,
    debug,
    throttler,
    log,
  });
  const handshakes = new Handshakes({ integrations, identitySources, closing: () => closing, throttler, log });

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: limits.messagePayloadBytes,
    verifyClient: handshakes.verifyClient,
    handleProtocols: handshakes.selectProtocol,
  });
  wss.on("headers", handshakes.addResponseHeaders);

  function onOpen(socket: WebSocket, req: IncomingMessage) {
    const accepted = handshakes.take(req);
    if (!accepted) {
      socket.terminate(); // cannot happen: ws only opens sockets verifyClient accepted
      return;
    }
    const connection = new Connection(socket, req.socket, accepted, {
      limits,
      onMessage: (from, body, isBinary, bytes) => integrations.receive(from, body, isBinary, bytes),
      onClosed: (closed, status) => {
        connections.delete(closed.connectionId);
        log.info("disconnected", { connectionId: closed.connectionId, statusCode: status.code });
        integrations.disconnect(closed.facts, closed.host, status.code, status.reason);
      },
      debug,
      log,
    });
    connections.set(connection.connectionId, connection);
    log.info("connected", {
      connectionId: connection.connectionId,
      subprotocol: accepted.subprotocol ? "selected" : "none",
    });
  }

  const directory: ConnectionDirectory = {
    describe: (connectionId) => connections.get(connectionId)?.describe(),
    post: async (connectionId, data) => connections.get(connectionId)?.post(data) ?? false,
    delete(connectionId) {
      const connection = connections.get(connectionId);
      connection?.close(CLOSE.deleted);
      return connection !== undefined;
    },
  };

  httpServer.on(
    "request",
    createManagementHandler({
      stage,
      directory,
      maxPayloadBytes: limits.messagePayloadBytes,
      verifySignature: createSigV4Verifier({ credentials: options.credentials ?? LOCAL_CREDENTIALS, region }),
      log,
    }),
  );
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "/").split("?", 1)[0];
    if (refuseUpgrade(req, socket, allowedOrigins)) return;
    if (closing || !routesSet) return rejectRaw(socket, 503, "Service Unavailable");
    if (path !== `/${stage}` && path !== `/${stage}/`) return rejectRaw(socket, 403, "Forbidden");
    wss.handleUpgrade(req, socket, head, onOpen);
  });
  log.info("gateway listening", { url: `ws://${host}:${port}/${stage}`, stage });

  return {
    url: `ws://${host}:${port}/${stage}`,
    managementEndpoint: `http://${host}:${port}/${stage}`,
    port,
    connectionCount: () => connections.size,
    setRoutes(nextRoutes, nextAuthorizer) {
      integrations.replace(nextRoutes, nextAuthorizer);
      routesSet = true;
    },
    async close() {
      if (closing) return;
      closing = true;
      const serverClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await handshakes.settled();
      const open = [...connections.values()];
      for (const connection of open) connection.close(CLOSE.goingAway);
      await integrations.disconnectsSettled();
      await Promise.all(open.map((connection) => connection.closed()));
      httpServer.closeAllConnections();
      await serverClosed;
    },
  };
}
