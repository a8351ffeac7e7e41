import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP relay in front of a server (DynamoDB, the Cognito/JWKS endpoint, the management API).
 * - Fault tests cut it: while cut its port is closed (new connections are refused) and open ones are
 *   dropped, exactly what a client sees when the dependency is down; `restore` listens on the same
 *   port again. The dependency itself keeps its state, so recovery can be checked against its data.
 * - Benchmarks give it a `delayMs`: every client -> server chunk is held that long, so each request
 *   costs one emulated network round trip (loopback has none, which hides what concurrency buys).
 */
export interface TcpRelay {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
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

  const pass = (client: Socket) => {
    const upstream = createConnection(target);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    if (delayMs) {
      // Timers with equal delays fire in order, so the byte stream keeps its order.
      client.on("data", (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    } else {
      client.pipe(upstream);
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
    stop: close,
  };
  if (options.cut) await close();
  return relay;
}
