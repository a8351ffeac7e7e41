import type { createServer } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";

/** Socket-level helpers of the gateway's HTTP server. */

/** How long `close()` lets clients answer the close frame before their sockets are destroyed. */
const SHUTDOWN_GRACE_MS = 1000;

/** Resolves when the socket has closed, destroying it if the client has not answered in time. */
export function closedOrTerminated(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.terminate();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Refuses an upgrade before `ws` sees it. */
export function rejectRaw(socket: Duplex, status: number, message: string) {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Listens, turning "address in use" into one clear line with the fix. */
export function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") {
        // Keeps the errno code so callers can tell "address in use" apart from other listen failures.
        const inUse = new Error(`port ${port} is in use: stop the other process or pass --gateway-port`, {
          cause: error,
        });
        reject(Object.assign(inUse, { code: "EADDRINUSE" }));
      } else {
        reject(new Error(`gateway cannot listen on ${host}:${port}: ${error.message}`, { cause: error }));
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
