import { createConnection, createServer, type Socket } from "node:net";

/**
 * A loopback TCP relay that holds every client -> server chunk for `delayMs` before passing it on:
 * each request then costs one emulated network round trip, as a call from a Lambda function to API
 * Gateway's management endpoint does (loopback has none, which hides what concurrency buys).
 */
export interface LatencyRelay {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startLatencyRelay(target: { host: string; port: number }, delayMs: number) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    // Timers with equal delays fire in order, so the byte stream keeps its order.
    client.on("data", (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : 0;
  const relay: LatencyRelay = {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return relay;
}
