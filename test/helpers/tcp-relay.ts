import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP relay in front of a server (DynamoDB, the Cognito/JWKS endpoint, the management API).
 * - Fault tests cut it: while cut its port is closed (new connections are refused) and open ones are
 *   dropped, exactly what a client sees when the dependency is down; `restore` listens on the same
 *   port again. The dependency itself keeps its state, so recovery can be checked against its data.
 * - Benchmarks give it a `delayMs`: every client -> server chunk is held that long, so each request
 *   costs one emulated network round trip (loopback has none, which hides what concurrency buys).
 * - `hold()` keeps every client -> server chunk from then on (requests "in flight" on the network);
 *   `release()` forwards them. Chunks of a client that disconnected meanwhile are dropped, as a
 *   request from a host that died never arrives.
 */
export interface TcpRelay {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  hold(): void;
  release(): void;
  stop(): Promise<void>;
}

export async function startTcpRelay(
  target: { host: string; port: number },
  options: { cut?: boolean; delayMs?: number } = {},
) {
  const { delayMs } = options;
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let held = false;
  const heldChunks = new Map<Socket, Buffer[]>();

  const pass = (client: Socket) => {
    const upstream = createConnection(target);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      heldChunks.delete(upstream);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    const forward = (chunk: Buffer) => {
      if (upstream.destroyed) return;
      if (held || heldChunks.has(upstream)) {
        const queue = heldChunks.get(upstream) ?? [];
        queue.push(chunk);
        heldChunks.set(upstream, queue);
      } else {
        upstream.write(chunk);
      }
    };
    if (delayMs) {
      // Timers with equal delays fire in order, so the byte stream keeps its order.
      client.on("data", (chunk: Buffer) => setTimeout(() => forward(chunk), delayMs));
    } else {
      client.on("data", forward);
      client.on("end", () => {
        if (!heldChunks.has(upstream)) upstream.end();
      });
    }
    upstream.pipe(client);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(pass);
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => {
        next.off("error", reject);
        const address = next.address();
        if (address && typeof address === "object") port = address.port;
        server = next;
        resolve();
      });
    });

  const close = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  const relay: TcpRelay = {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    cut: close,
    restore: async () => {
      if (!server) await listen();
    },
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const [upstream, queue] of heldChunks) {
        heldChunks.delete(upstream);
        if (!upstream.destroyed) for (const chunk of queue) upstream.write(chunk);
      }
    },
    stop: close,
  };
  if (options.cut) await close();
  return relay;
}
