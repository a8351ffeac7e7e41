import { ROUTE } from "@wsauth/core/constants";
import type { WebSocketLike } from "../src/socket/client";

/** A scripted stand-in for the browser's WebSocket, for unit tests of the client's logic. */
export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  readonly sent: string[] = [];
  /** Like the real server, answer `ping` with `pong` (switch off to play a dead connection). */
  answerPings = true;
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string[],
  ) {
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances = [];
  }

  static get live(): FakeWebSocket[] {
    return FakeWebSocket.instances.filter((socket) => socket.readyState < 2);
  }

  static latest(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (!socket) throw new Error("no socket was opened");
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
    if (this.answerPings && data === JSON.stringify({ action: ROUTE.ping })) {
      queueMicrotask(() => this.receive({ type: "pong" }));
    }
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // Test controls: what the server side would do.
  acceptOpen(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  serverClose(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  sentFrames(): unknown[] {
    return this.sent.map((data) => JSON.parse(data));
  }
}
