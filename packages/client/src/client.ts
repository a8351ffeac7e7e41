import type { Transport } from "@wsauth/core/auth";
import { LIMITS, ROUTE, SUBPROTOCOL, TOKEN_QUERY_PARAM } from "@wsauth/core/constants";
import type { IdentityFrame, JsonValue, SentFrame } from "@wsauth/core/protocol";
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from "./backoff";
import { type ChannelHandler, ChannelSubscriptions, channelNameProblem } from "./channels";
import { type ReceivedFrame, readServerFrame } from "./incoming";

/**
 * The client side of the authenticated socket, for browsers and Node: one `SocketClient` owns at most
 * one WebSocket at a time and keeps it alive for a signed-in user: it reconnects with backoff after
 * unexpected closes, pings under the gateway's idle timeout, renews the sign-in token before it
 * expires and recycles the connection before the gateway's lifetime cap. Channel subscriptions survive
 * every reconnect (resubscribed with `since`, see channels.ts). It knows nothing about React or
 * Amplify: the token comes from a `TokenProvider`, the WebSocket from a constructor (the global one
 * in browsers and Node >= 22, `ws` on Node 20, a fake one in unit tests).
 */

/** How the token travels on `$connect`: the subprotocol keeps it out of URLs and access logs. */
export type { Transport };

export interface IdToken {
  /** The Cognito ID token (a JWT). Never logged. */
  token: string;
  /** Its `exp`, in epoch milliseconds. */
  expiresAt: number;
}

export type TokenProvider = (options: { forceRefresh: boolean }) => Promise<IdToken>;

export type SocketStatus =
  | { state: "idle" }
  | { state: "connecting"; attempt: number }
  | { state: "open"; openedAt: number; transport: Transport }
  | { state: "reconnecting"; attempt: number; retryAt: number; reason: string }
  | { state: "closed"; reason: string };

export interface SocketNotice {
  level: "info" | "warn" | "error";
  text: string;
}

export type SendResult = { ok: true } | { ok: false; reason: string };

/** The part of the browser's WebSocket the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

export interface SocketClientOptions {
  url: string;
  getToken: TokenProvider;
  transport?: Transport;
  /** Renew the token on the open socket (`reauth`) or by reconnecting with the fresh token. */
  renewal?: "reauth" | "reconnect";
  WebSocket?: WebSocketConstructor;
  /** Returns a number in [0, 1); drives the backoff jitter. */
  random?: () => number;
  backoff?: BackoffPolicy;
  /** Interval of `ping` frames; must stay below the gateway's idle timeout. */
  keepAliveMs?: number;
  /** Renew the token this long before it expires. */
  refreshMarginMs?: number;
  /** Recycle the connection this long before the gateway's lifetime cap closes it. */
  lifetimeMarginMs?: number;
  /** How long `publish`, `sendTo` and `whoami` wait for the server's answer. */
  replyTimeoutMs?: number;
}

/** A request waiting for the server's answer (matched in order per key: the frames carry no id). */
interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The server refused a request: its stable `code` and message. */
export class ServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ServerError";
  }
}

/** WebSocket.OPEN; spelled out because a fake constructor need not carry the static constants. */
const OPEN = 1;
/** Application close code for a connection the client gave up on (no answer to keep-alive). */
const CLOSE_UNRESPONSIVE = 4000;
/** Renewals never come closer together than this, even when a refreshed token is not newer. */
const MIN_RENEW_DELAY_MS = 5_000;
/** Error codes that, in answer to a `reauth`, mean the open connection cannot be renewed in place. */
const REAUTH_REJECTED = new Set(["unauthorized", "token_expired", "forbidden"]);

export const SOCKET_DEFAULTS = {
  keepAliveMs: LIMITS.idleTimeoutMs / 2,
  refreshMarginMs: 2 * 60 * 1000,
  lifetimeMarginMs: 60 * 1000,
  replyTimeoutMs: 10 * 1000,
} as const;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A close in words, for people. Browsers hide handshake details, so a refused upgrade is a bare 1006. */
export function describeClose(code: number, reason: string, wasOpen: boolean): string {
  if (!wasOpen) return "the server did not accept the connection (server unreachable or sign-in rejected)";
  const detail = reason ? `: ${reason}` : "";
  switch (code) {
    case 1000:
      return `closed by the server${detail}`;
    case 1001:
      return `the server went away${detail}`;
    case 1006:
      return "the connection was lost";
    case 1009:
      return "the server closed the connection because a message was too large";
    case 1011:
      return `the server hit an error${detail}`;
    default:
      return `closed with code ${code}${detail}`;
  }
}

export class SocketClient {
  readonly #options: Required<Omit<SocketClientOptions, "WebSocket">> & { WebSocket: WebSocketConstructor | undefined };
  #status: SocketStatus = { state: "idle" };
  #ws: WebSocketLike | undefined;
  /** Bumped by every connect/stop, so a token fetch that finishes late cannot open a stale socket. */
  #generation = 0;
  #running = false;
  #failures = 0;
  #opened = false;
  #forceRefreshNext = false;
  #recycling = false;
  #awaitingPong = false;
  #reauthPending = false;
  #tokenExpiresAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #lifetimeTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  readonly #statusListeners = new Set<() => void>();
  readonly #frameListeners = new Set<(frame: ReceivedFrame) => void>();
  readonly #noticeListeners = new Set<(notice: SocketNotice) => void>();
  readonly #channels = new ChannelSubscriptions((frame) => this.send(frame).ok);
  readonly #waiters = new Map<string, Waiter<unknown>[]>();

  constructor(options: SocketClientOptions) {
    this.#options = {
      transport: "subprotocol",
      renewal: "reauth",
      random: Math.random,
      backoff: DEFAULT_BACKOFF,
      ...SOCKET_DEFAULTS,
      ...options,
      WebSocket: options.WebSocket,
    };
  }

  get status(): SocketStatus {
    return this.#status;
  }

  /** For `useSyncExternalStore`: arrow properties keep `this` when passed around. */
  readonly getStatus = (): SocketStatus => this.#status;
  readonly subscribeStatus = (listener: () => void): (() => void) => {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  };

  onFrame(listener: (frame: ReceivedFrame) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  onNotice(listener: (notice: SocketNotice) => void): () => void {
    this.#noticeListeners.add(listener);
    return () => this.#noticeListeners.delete(listener);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    void this.#connect();
  }

  /** Closes the socket for good (sign-out, page gone); `start()` may open a new one later. */
  stop(reason = "closed by the page"): void {
    this.#running = false;
    this.#generation += 1;
    this.#clearConnectionTimers();
    this.#channels.clear();
    for (const [key, queue] of this.#waiters) {
      for (const waiter of queue) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`the connection was closed: ${reason}`));
      }
      this.#waiters.delete(key);
    }
    clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) ws.close(1000, reason);
    this.#setStatus({ state: "closed", reason });
  }

  /** Skips the rest of a backoff wait (e.g. the browser came back online). */
  retryNow(): void {
    if (!this.#running || this.#status.state !== "reconnecting") return;
    clearTimeout(this.#retryTimer);
    void this.#connect();
  }

  /** Closes the connection for good (same as `stop`). */
  close(reason?: string): void {
    this.stop(reason);
  }

  /**
   * Subscribes to a channel; `handler` gets its events in seq order, each once, plus `subscribed`,
   * `presence`, `gap` and refusals (`error`). Survives reconnects. Returns the unsubscribe function.
   */
  subscribe(channel: string, handler: ChannelHandler): () => void {
    const problem = channelNameProblem(channel);
    if (problem) throw new TypeError(`${channel}: ${problem}`);
    return this.#channels.add(channel, handler);
  }

  /** Publishes `data` to a channel; resolves the event's seq once the server confirms it. */
  publish(channel: string, data: JsonValue): Promise<{ seq: number }> {
    const problem = channelNameProblem(channel);
    if (problem) return Promise.reject(new TypeError(`${channel}: ${problem}`));
    return this.#request(`publish ${channel}`, { action: ROUTE.publish, channel, data });
  }

  /** Sends `data` to every live connection of a user (id or sign-in name); resolves the receipt. */
  sendTo(to: string, data: JsonValue): Promise<SentFrame> {
    return this.#request(`sent ${to}`, { action: ROUTE.sendmessage, to, data });
  }

  /** Who this connection is, as the server sees it. */
  whoami(): Promise<IdentityFrame> {
    return this.#request("identity", { action: ROUTE.whoami });
  }

  #request<T>(key: string, frame: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const sent = this.send(frame);
      if (!sent.ok) {
        reject(new Error(sent.reason));
        return;
      }
      const queue = this.#waiters.get(key) ?? [];
      const waiter: Waiter<unknown> = {
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(new Error(`no answer from the server within ${this.#options.replyTimeoutMs} ms`));
        }, this.#options.replyTimeoutMs),
      };
      queue.push(waiter);
      this.#waiters.set(key, queue);
    });
  }

  #settle(key: string, outcome: { value: unknown } | { error: Error }): boolean {
    const waiter = this.#waiters.get(key)?.shift();
    if (!waiter) return false;
    clearTimeout(waiter.timer);
    if ("value" in outcome) waiter.resolve(outcome.value);
    else waiter.reject(outcome.error);
    return true;
  }

  /** Answers waiting requests from a frame (receipts, identity, refusals that name their request). */
  #answer(frame: ReceivedFrame): void {
    switch (frame.type) {
      case "published":
        this.#settle(`publish ${frame.channel}`, { value: { seq: frame.seq } });
        return;
      case "sent":
        this.#settle(`sent ${frame.to}`, { value: frame });
        return;
      case "identity":
        this.#settle("identity", { value: frame });
        return;
      case "error": {
        const error = new ServerError(frame.code, frame.message);
        const publish = /^publish ([^:\s]+):/.exec(frame.message);
        if (publish && this.#settle(`publish ${publish[1]}`, { error })) return;
        return;
      }
      default:
        return;
    }
  }

  /** Sends a frame (an object is sent as JSON). Refuses, in words, what the gateway would reject. */
  send(frame: unknown): SendResult {
    const body = typeof frame === "string" ? frame : JSON.stringify(frame);
    if (body === undefined) return { ok: false, reason: "There is nothing to send." };
    const bytes = new TextEncoder().encode(body).byteLength;
    if (bytes > LIMITS.frameBytes) {
      return {
        ok: false,
        reason: `The message is ${bytes} bytes; one frame may carry at most ${LIMITS.frameBytes} bytes.`,
      };
    }
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) return { ok: false, reason: "The socket is not open." };
    ws.send(body);
    return { ok: true };
  }

  async #connect(): Promise<void> {
    this.#generation += 1;
    const generation = this.#generation;
    this.#setStatus({ state: "connecting", attempt: this.#failures + 1 });
    let token: IdToken;
    try {
      token = await this.#token(this.#forceRefreshNext);
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#scheduleReconnect(`could not get a sign-in token: ${describeError(error)}`);
      return;
    }
    if (generation !== this.#generation) return;
    let ws: WebSocketLike;
    try {
      ws = this.#open(token.token);
    } catch (error) {
      this.#scheduleReconnect(`could not open the socket: ${describeError(error)}`);
      return;
    }
    this.#ws = ws;
    this.#opened = false;
    this.#tokenExpiresAt = token.expiresAt;
    ws.onopen = () => {
      if (ws === this.#ws) this.#handleOpen();
    };
    ws.onmessage = (event) => {
      if (ws === this.#ws) this.#handleMessage(event.data);
    };
    ws.onclose = (event) => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      this.#handleClosed(describeClose(event.code, event.reason, this.#opened));
    };
    // Browsers expose no detail on `error`; the `close` that always follows carries what there is.
    ws.onerror = () => {};
  }

  async #token(forceRefresh: boolean): Promise<IdToken> {
    const token = await this.#options.getToken({ forceRefresh });
    if (forceRefresh || token.expiresAt - Date.now() > this.#options.refreshMarginMs) return token;
    return this.#options.getToken({ forceRefresh: true });
  }

  #open(token: string): WebSocketLike {
    const Constructor = this.#options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor);
    if (this.#options.transport === "subprotocol") return new Constructor(this.#options.url, [SUBPROTOCOL, token]);
    const url = new URL(this.#options.url);
    url.searchParams.set(TOKEN_QUERY_PARAM, token);
    return new Constructor(url.toString());
  }

  #handleOpen(): void {
    this.#opened = true;
    this.#failures = 0;
    this.#forceRefreshNext = false;
    this.#awaitingPong = false;
    this.#reauthPending = false;
    const openedAt = Date.now();
    this.#setStatus({ state: "open", openedAt, transport: this.#options.transport });
    this.#keepAliveTimer = setInterval(() => this.#keepAlive(), this.#options.keepAliveMs);
    this.#scheduleRenewal();
    const recycleIn = Math.max(0, LIMITS.connectionLifetimeMs - this.#options.lifetimeMarginMs);
    this.#lifetimeTimer = setTimeout(() => this.#recycle("the connection reached its lifetime cap"), recycleIn);
    this.#channels.resubscribeAll();
  }

  #handleMessage(data: unknown): void {
    this.#awaitingPong = false;
    if (typeof data !== "string") {
      this.#notify("warn", "Ignored a binary frame from the server.");
      return;
    }
    const frame = readServerFrame(data);
    if (frame.type === "reauthenticated") {
      this.#reauthPending = false;
      this.#notify("info", "The server accepted the renewed sign-in token.");
    } else if (frame.type === "error" && this.#reauthPending && REAUTH_REJECTED.has(frame.code)) {
      this.#reauthPending = false;
      this.#recycle(`the server refused the renewed token (${frame.code}); reconnecting`);
    }
    if (frame.type !== "unknown") {
      if (frame.type === "error") this.#channels.handleError(frame);
      else this.#channels.handle(frame);
    }
    this.#answer(frame);
    for (const listener of this.#frameListeners) listener(frame);
    // Every session of the user was revoked: no token it holds connects again, so stop instead of
    // reconnecting (the application signs in again and starts a new client).
    if (frame.type === "revoked") this.stop("signed out everywhere");
  }

  /** After the current socket closed (it is already detached). */
  #handleClosed(reason: string): void {
    const wasOpen = this.#opened;
    this.#opened = false;
    this.#clearConnectionTimers();
    if (!this.#running) return;
    if (this.#recycling) {
      this.#recycling = false;
      this.#failures = 0;
      void this.#connect();
      return;
    }
    // A refused handshake is often a stale token: fetch a fresh one for the next attempt.
    if (!wasOpen) this.#forceRefreshNext = true;
    this.#scheduleReconnect(reason);
  }

  #scheduleReconnect(reason: string): void {
    this.#failures += 1;
    const delay = backoffDelay(this.#failures, this.#options.random, this.#options.backoff);
    this.#setStatus({ state: "reconnecting", attempt: this.#failures, retryAt: Date.now() + delay, reason });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
  }

  #keepAlive(): void {
    const ws = this.#ws;
    if (!ws) return;
    if (this.#awaitingPong) {
      // Nothing came back since the last ping: the connection is dead without a close (e.g. a
      // dropped network). Give up on it now instead of waiting for TCP to notice.
      this.#ws = undefined;
      ws.close(CLOSE_UNRESPONSIVE, "no answer to keep-alive");
      this.#handleClosed("the server stopped answering keep-alive pings");
      return;
    }
    this.#awaitingPong = true;
    this.send({ action: ROUTE.ping });
  }

  #scheduleRenewal(): void {
    clearTimeout(this.#renewTimer);
    const delay = Math.max(MIN_RENEW_DELAY_MS, this.#tokenExpiresAt - this.#options.refreshMarginMs - Date.now());
    this.#renewTimer = setTimeout(() => void this.#renew(), delay);
  }

  async #renew(): Promise<void> {
    const ws = this.#ws;
    if (!ws) return;
    if (this.#options.renewal === "reconnect") {
      this.#recycle("renewing the sign-in token");
      return;
    }
    let token: IdToken;
    try {
      token = await this.#options.getToken({ forceRefresh: true });
    } catch (error) {
      if (ws !== this.#ws) return;
      this.#notify("warn", `Could not refresh the sign-in token: ${describeError(error)}. Retrying.`);
      this.#scheduleRenewal();
      return;
    }
    if (ws !== this.#ws) return;
    this.#tokenExpiresAt = token.expiresAt;
    const sent = this.send({ action: ROUTE.reauth, token: token.token });
    if (sent.ok) {
      this.#reauthPending = true;
      this.#notify("info", "Sent a renewed sign-in token to the server.");
    }
    this.#scheduleRenewal();
  }

  /** Closes the open socket on purpose and connects again right away (no backoff). */
  #recycle(reason: string): void {
    const ws = this.#ws;
    if (!ws) return;
    this.#notify("info", `Reconnecting: ${reason}.`);
    this.#recycling = true;
    this.#ws = undefined;
    ws.close(1000, "renewing connection");
    this.#handleClosed(reason);
  }

  #clearConnectionTimers(): void {
    clearInterval(this.#keepAliveTimer);
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#lifetimeTimer);
  }

  #setStatus(status: SocketStatus): void {
    this.#status = status;
    for (const listener of this.#statusListeners) listener();
  }

  #notify(level: SocketNotice["level"], text: string): void {
    for (const listener of this.#noticeListeners) listener({ level, text });
  }
}
