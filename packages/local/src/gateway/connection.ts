import { isUtf8 } from "node:buffer";
import type { Duplex } from "node:stream";
import { LIMITS } from "@wsauth/core/constants";
import type { ConnectionFacts } from "@wsauth/core/events";
import type { Log } from "@wsauth/core/logging";
import { type RawData, WebSocket } from "ws";
import { FrameSizeGuard } from "./frames";
import type { AcceptedHandshake } from "./handshake";
import type { ConnectionDescription } from "./management";
import { closedOrTerminated } from "./net";
import type { GatewayLimits } from "./types";

/** Close codes and reasons the gateway uses when it ends a connection itself. */
export const CLOSE = {
  goingAway: { code: 1001, reason: "Going away" },
  tooBig: { code: 1009, reason: "Message too big" },
  deleted: { code: 1000, reason: "" },
} as const;

export interface CloseStatus {
  code: number;
  reason: string;
}

/**
 * Most bytes queued for one client that it has not read yet. Beyond this it is treated as gone (closed
 * with 1001), so a client that stops reading cannot make the gateway buffer without bound.
 */
const SEND_BUFFER_LIMIT_BYTES = 64 * LIMITS.messagePayloadBytes;

export interface ConnectionOptions {
  limits: Pick<GatewayLimits, "frameBytes" | "idleTimeoutMs" | "connectionLifetimeMs">;
  /** A client message (binary ones base64-encoded), for routing. */
  onMessage(connection: Connection, body: string, isBinary: boolean, bytes: number): void;
  /** Runs once, whichever way the connection ended, with the status `$disconnect` reports. */
  onClosed(connection: Connection, status: CloseStatus): void;
  /** Whether debug lines are wanted (they cost a redaction pass each). */
  debug: boolean;
  log: Log;
}

/**
 * One open WebSocket connection: it owns its socket, its frames (the 32 KB frame limit, sends), its
 * idle and lifetime timers and its close, and reports its messages and its end to the gateway.
 */
export class Connection {
  readonly facts: ConnectionFacts;
  /** The handshake's `Host` header (`$disconnect` carries it). */
  readonly host: string;
  /** Last traffic in either direction (`LastActiveAt` of GetConnection). */
  #lastActiveAt: number;
  /** Last client frame (drives the idle timeout). */
  #lastClientActivityAt: number;
  #open = true;
  /** Set when the gateway closes the connection: what `$disconnect` reports. */
  #serverClose: CloseStatus | undefined;
  #idleTimer: NodeJS.Timeout;
  readonly #lifetimeTimer: NodeJS.Timeout;
  readonly #socket: WebSocket;
  readonly #options: ConnectionOptions;

  constructor(socket: WebSocket, rawSocket: Duplex, accepted: AcceptedHandshake, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.facts = accepted.facts;
    this.host = accepted.handshake.host;
    const now = Date.now();
    this.#lastActiveAt = now;
    this.#lastClientActivityAt = now;
    const { limits } = options;

    const guard = new FrameSizeGuard(limits.frameBytes);
    // Runs before ws's own 'data' listener, so an oversized frame is caught before its message is handled.
    const watchFrames = (chunk: Buffer) => {
      if (guard.push(chunk)) {
        rawSocket.off("data", watchFrames);
        this.close(CLOSE.tooBig);
      }
    };
    rawSocket.prependListener("data", watchFrames);

    socket.on("message", (data: RawData, isBinary: boolean) => this.#receive(data as Buffer, isBinary));
    socket.on("ping", () => {
      this.#lastClientActivityAt = this.#lastActiveAt = Date.now();
    });
    socket.on("error", (error: Error & { code?: string }) => {
      // ws already answers protocol errors with a close frame; remember the code for $disconnect.
      if (!this.#serverClose) {
        const code =
          error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
            ? 1009
            : error.code === "WS_ERR_INVALID_UTF8"
              ? 1007
              : 1002;
        this.#serverClose = { code, reason: code === 1009 ? CLOSE.tooBig.reason : "Protocol error" };
      }
      if (options.debug) options.log.debug("socket error", { connectionId: this.connectionId, code: error.code });
    });
    socket.on("close", (code: number, reason: Buffer) => {
      this.#finish(code, reason.toString("utf8"));
    });

    this.#idleTimer = setTimeout(() => this.#checkIdle(), limits.idleTimeoutMs);
    this.#idleTimer.unref();
    this.#lifetimeTimer = setTimeout(() => this.close(CLOSE.goingAway), limits.connectionLifetimeMs);
    this.#lifetimeTimer.unref();
  }

  get connectionId(): string {
    return this.facts.connectionId;
  }

  get open(): boolean {
    return this.#open;
  }

  /** What GetConnection reports. */
  describe(): ConnectionDescription {
    const { identity } = this.facts;
    return {
      connectedAt: this.facts.connectedAt,
      lastActiveAt: this.#lastActiveAt,
      sourceIp: identity.sourceIp,
      ...(identity.userAgent ? { userAgent: identity.userAgent } : {}),
    };
  }

  /** Sends a text frame of the gateway's own (error frames, route responses) while open. */
  send(text: string): void {
    if (!this.#open || this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(text);
  }

  /**
   * Sends a `@connections` POST body; false when the connection is not open, or when the client has
   * stopped reading (the connection is then dropped rather than buffered for without bound).
   */
  post(data: Buffer): boolean {
    if (this.#socket.readyState !== WebSocket.OPEN) return false;
    if (this.#socket.bufferedAmount + data.length > SEND_BUFFER_LIMIT_BYTES) {
      this.close(CLOSE.goingAway);
      this.#socket.terminate();
      return false;
    }
    this.#lastActiveAt = Date.now();
    // Answered once the frame is queued, as API Gateway answers once it has accepted the message:
    // waiting for the client to read it would let one client that stops reading stall every sender
    // (a `sendmessage` to its user, a broadcast). A write that fails later closes the socket.
    // Valid UTF-8 goes out as a text frame (what browsers expect from JSON); anything else as binary.
    this.#socket.send(data, { binary: !isUtf8(data) });
    return true;
  }

  /** The gateway ends the connection: close frame to the client, `$disconnect` at once. */
  close(status: CloseStatus): void {
    if (!this.#open) return;
    this.#serverClose = { code: status.code, reason: status.reason };
    try {
      this.#socket.close(status.code, status.reason);
    } catch {
      this.#socket.terminate();
    }
    this.#finish(status.code, status.reason);
  }

  /** Resolves when the socket has closed, destroying it if the client does not answer in time. */
  closed(): Promise<void> {
    return closedOrTerminated(this.#socket);
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (!this.#open) return; // e.g. the rest of a chunk after an oversized frame
    this.#lastClientActivityAt = this.#lastActiveAt = Date.now();
    const body = isBinary ? data.toString("base64") : data.toString("utf8");
    this.#options.onMessage(this, body, isBinary, data.length);
  }

  #checkIdle(): void {
    if (!this.#open) return;
    const { idleTimeoutMs } = this.#options.limits;
    const idleFor = Date.now() - this.#lastClientActivityAt;
    if (idleFor >= idleTimeoutMs) {
      this.close(CLOSE.goingAway);
      return;
    }
    // Re-armed only when it fires, so client traffic costs one Date.now() and no timer work.
    this.#idleTimer = setTimeout(() => this.#checkIdle(), idleTimeoutMs - idleFor);
    this.#idleTimer.unref();
  }

  /** Runs exactly once per connection, whichever way it ended. */
  #finish(code: number, reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#lifetimeTimer);
    this.#options.onClosed(this, this.#serverClose ?? { code, reason });
  }
}
