import { SUBPROTOCOL } from "@wsauth/core/constants";
import pMap from "p-map";
import WebSocket from "ws";

/** A frame the server sent, parsed (the server only sends JSON objects). */
export type Frame = Record<string, unknown> & { type?: string };

/** An authenticated client socket with its frames kept in order and a way to wait for one. */
export class RealtimeClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = [];
  /** Called for every frame before it is stored (benchmarks count without storing). */
  onFrame?: (frame: Frame) => void;
  keepFrames = true;

  constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.onFrame?.(frame);
      if (this.keepFrames) this.frames.push(frame);
      if (this.waiters.length === 0) return;
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(frame)) return true;
        waiter.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }));
    });
    // Errors surface through `close` (and the test's assertions), never as an unhandled event.
    socket.on("error", () => {});
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or future) that matches. */
  next(match: (frame: Frame) => boolean = () => true): Promise<Frame> {
    const found = this.frames.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Sends `frame` and waits for the first new frame that matches. */
  async request(frame: unknown, match: (frame: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.length;
    const reply = new Promise<Frame>((resolve) => {
      this.waiters.push({ match: (f) => match(f) && this.frames.indexOf(f) >= seen, resolve });
    });
    this.send(frame);
    return reply;
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close(1000);
    await this.closed;
  }

  /** Drops the TCP connection without a close frame (a client that vanished). */
  vanish(): void {
    this.socket.terminate();
  }
}

export type ConnectOutcome = { ok: true; client: RealtimeClient } | { ok: false; status?: number; error?: string };

/** Opens a socket with the token in the subprotocol (or the query string); resolves how it went. */
export function tryConnect(url: string, idToken: string, transport: "subprotocol" | "query" = "subprotocol") {
  return new Promise<ConnectOutcome>((resolve) => {
    const socket =
      transport === "subprotocol"
        ? new WebSocket(url, [SUBPROTOCOL, idToken], { perMessageDeflate: false })
        : new WebSocket(`${url}?idToken=${encodeURIComponent(idToken)}`, { perMessageDeflate: false });
    let settled = false;
    const settle = (outcome: ConnectOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    socket.once("open", () => settle({ ok: true, client: new RealtimeClient(socket) }));
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      settle({ ok: false, status: response.statusCode });
      socket.terminate();
    });
    socket.on("error", (error) => settle({ ok: false, error: error.message }));
  });
}

export async function connect(url: string, idToken: string, transport?: "subprotocol" | "query") {
  const outcome = await tryConnect(url, idToken, transport);
  if (!outcome.ok) throw new Error(`connection refused: ${outcome.status ?? outcome.error ?? "unknown"}`);
  return outcome.client;
}

/** Opens `count` sockets for `tokenOf(index)`, at most `concurrency` handshakes at a time. */
export function connectMany(
  url: string,
  count: number,
  tokenOf: (index: number) => string,
  concurrency = 20,
): Promise<RealtimeClient[]> {
  return pMap(
    Array.from({ length: count }, (_, index) => index),
    (index) => connect(url, tokenOf(index)),
    { concurrency },
  );
}

export async function closeAll(clients: readonly RealtimeClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

/** Opens a socket with no token and no subprotocol (for the raw `ws` baseline). */
export function connectPlain(url: string): Promise<RealtimeClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once("open", () => resolve(new RealtimeClient(socket)));
    socket.once("error", reject);
  });
}
