import { SUBPROTOCOL } from "@wsauth/core/constants";
import pMap from "p-map";
import WebSocket from "ws";

/**
 * A separate process holding many client sockets for the scale benchmark (10,000 sockets and the
 * gateway's 10,000 do not fit one process's file limit, and the clients' CPU is not the gateway's).
 * Driven over IPC by the bench: `open` grows the farm to `count` sockets; `expect` answers once every
 * socket has received the broadcast tagged `run`; `close` closes everything and exits.
 */

export type FarmCommand =
  | { cmd: "open"; count: number; url: string; token: string }
  | { cmd: "expect"; run: string }
  | { cmd: "close" };
export type FarmReply =
  | { kind: "opened"; total: number }
  | { kind: "received"; run: string; count: number }
  | { kind: "error"; message: string };

const sockets: WebSocket[] = [];
const received = new Map<string, number>();
let waiting: { run: string } | undefined;
const reply = (message: FarmReply) => process.send?.(message);

function check(): void {
  if (waiting && (received.get(waiting.run) ?? 0) >= sockets.length) {
    reply({ kind: "received", run: waiting.run, count: received.get(waiting.run) ?? 0 });
    waiting = undefined;
  }
}

async function openOne(url: string, token: string): Promise<void> {
  const socket = new WebSocket(url, [SUBPROTOCOL, token]);
  socket.on("message", (data) => {
    const text = String(data);
    // Only broadcasts carry a run tag; parse nothing else.
    if (!text.includes('"run"')) return;
    const frame = JSON.parse(text) as { type?: string; data?: { run?: string } };
    const run = frame.type === "broadcast" ? frame.data?.run : undefined;
    if (run === undefined) return;
    received.set(run, (received.get(run) ?? 0) + 1);
    check();
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("unexpected-response", (_request, response) =>
      reject(new Error(`upgrade refused: ${response.statusCode}`)),
    );
    socket.once("close", () => reject(new Error("closed before it opened")));
  });
  sockets.push(socket);
}

process.on("message", (command: FarmCommand) => {
  void (async () => {
    try {
      if (command.cmd === "open") {
        const missing = Math.max(0, command.count - sockets.length);
        await pMap(Array.from({ length: missing }), () => openOne(command.url, command.token), { concurrency: 32 });
        reply({ kind: "opened", total: sockets.length });
      } else if (command.cmd === "expect") {
        waiting = { run: command.run };
        check();
      } else {
        // A few at a time: 10,000 closes at once would be 10,000 `$disconnect`s racing for one
        // local DynamoDB, which times them out (on AWS they spread over many containers).
        await pMap(
          sockets,
          (socket) =>
            new Promise<void>((resolve) => {
              socket.once("close", () => resolve());
              socket.close(1000);
            }),
          { concurrency: 32 },
        );
        process.exit(0);
      }
    } catch (error) {
      reply({ kind: "error", message: (error as Error).message });
    }
  })();
});
