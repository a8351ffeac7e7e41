import type { IncomingMessage } from "node:http";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { LOCAL_CREDENTIALS, ROUTE } from "@wsauth/core/constants";
import type { Log, LogFields } from "@wsauth/core/logging";
import { type ClientOptions, type RawData, WebSocket } from "ws";
import { type Gateway, type GatewayOptions, type LambdaHandler, startGateway } from "../index";

/**
 * Test harness for the gateway conformance suite: fixture handlers that record their events, a log
 * that keeps its lines, a `ws` client wrapper with a message queue, and the AWS SDK management client.
 */

// biome-ignore lint/suspicious/noExplicitAny: recorded events are inspected field by field in assertions.
export type RecordedEvent = any;

/** Events handlers received, in order, with a way to wait for one. */
export class EventLog {
  readonly events: Array<{ route: string; event: RecordedEvent }> = [];
  private waiters: Array<{
    match: (route: string, event: RecordedEvent) => boolean;
    resolve: (event: RecordedEvent) => void;
  }> = [];

  push(route: string, event: RecordedEvent) {
    this.events.push({ route, event });
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(route, event)) return true;
      waiter.resolve(event);
      return false;
    });
  }

  of(route: string): RecordedEvent[] {
    return this.events.filter((entry) => entry.route === route).map((entry) => entry.event);
  }

  /** Resolves with the first event (already recorded or future) of `route` that matches. */
  next(route: string, match: (event: RecordedEvent) => boolean = () => true): Promise<RecordedEvent> {
    const existing = this.events.find((entry) => entry.route === route && match(entry.event));
    if (existing) return Promise.resolve(existing.event);
    return new Promise((resolve) => {
      this.waiters.push({ match: (r, event) => r === route && match(event), resolve });
    });
  }

  disconnectOf(connectionId: string): Promise<RecordedEvent> {
    return this.next(ROUTE.disconnect, (event) => event.requestContext.connectionId === connectionId);
  }
}

/** A handler that records its event and then does what `then` says. */
export function recording(log: EventLog, route: string, then?: (event: RecordedEvent) => unknown): LambdaHandler {
  return async (event) => {
    log.push(route, event);
    return then ? then(event) : { statusCode: 200 };
  };
}

/** An authorizer result allowing `resource` with `context`. */
export function allowPolicy(resource: string, context: Record<string, unknown> = {}, principalId = "user-sub") {
  return {
    principalId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: resource }],
    },
    context,
  };
}

export interface LogLine {
  level: string;
  message: string;
  fields?: LogFields;
}

export function capturingLog(): Log & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const write = (level: string) => (message: string, fields?: LogFields) => {
    lines.push({ level, message, ...(fields ? { fields } : {}) });
  };
  return {
    lines,
    text: () => JSON.stringify(lines),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

/** A gateway on an ephemeral port whose log lines are kept for assertions. */
export async function startTestGateway(options: Omit<GatewayOptions, "log">) {
  const log = capturingLog();
  const gateway = await startGateway({ port: 0, ...options, log });
  return { gateway, log };
}

export function managementClient(gateway: Gateway): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint: gateway.managementEndpoint,
    region: "us-east-1",
    credentials: { ...LOCAL_CREDENTIALS },
  });
}

export interface Received {
  data: string;
  isBinary: boolean;
}

/** An open client socket with its incoming messages queued, and how it closed. */
export class TestClient {
  private readonly queue: Received[] = [];
  private readonly takers: Array<(message: Received) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(
    readonly socket: WebSocket,
    readonly upgradeHeaders: IncomingMessage["headers"],
  ) {
    socket.on("message", (data: RawData, isBinary: boolean) => {
      const message = { data: isBinary ? (data as Buffer).toString("base64") : String(data), isBinary };
      const taker = this.takers.shift();
      if (taker) taker(message);
      else this.queue.push(message);
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
    });
  }

  next(): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  async nextJson(): Promise<RecordedEvent> {
    return JSON.parse((await this.next()).data);
  }

  send(data: string | Buffer) {
    this.socket.send(data);
  }
}

export type ConnectResult =
  | { ok: true; client: TestClient }
  | { ok: false; status?: number; body?: string; headers?: IncomingMessage["headers"]; error?: Error };

/** Opens a socket; resolves with the client, or with the HTTP status the handshake was refused with. */
export function connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, protocols, options);
    let upgradeHeaders: IncomingMessage["headers"] = {};
    socket.on("upgrade", (res) => {
      upgradeHeaders = res.headers;
    });
    socket.once("open", () => resolve({ ok: true, client: new TestClient(socket, upgradeHeaders) }));
    socket.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => {
        resolve({ ok: false, status: res.statusCode, body, headers: res.headers });
        socket.terminate();
      });
      res.on("error", () => resolve({ ok: false, status: res.statusCode, body, headers: res.headers }));
    });
    // After a refused handshake `terminate()` reports an error too; the first outcome wins.
    socket.on("error", (error) => resolve({ ok: false, error }));
  });
}

export async function open(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<TestClient> {
  const result = await connect(url, protocols, options);
  if (!result.ok) {
    throw new Error(`connection refused: ${result.status ?? ""} ${result.body ?? result.error?.message ?? ""}`);
  }
  return result.client;
}

/** The gateway's connection id of a client: ask a recording $default route via a probe message. */
export async function connectionIdOf(client: TestClient, log: EventLog): Promise<string> {
  const marker = `probe-${Math.random()}`;
  client.send(marker);
  const event = await log.next(ROUTE.default, (e) => e.body === marker);
  return event.requestContext.connectionId;
}

export const CONNECTION_ID_SHAPE = /^[A-Za-z0-9+/]{15}=$/;
