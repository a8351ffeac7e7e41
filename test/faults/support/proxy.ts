import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay in front of a dependency (DynamoDB, the Cognito/JWKS endpoint) that a test can cut:
 * while cut its port is closed (new connections are refused) and open ones are dropped, exactly what
 * a client sees when the dependency is down; `restore` listens on the same port again. The
 * dependency itself keeps its state, so recovery can be checked against the data that was there.
 */
export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }, options: { cut?: boolean } = {}) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const relay = (client: Socket) => {
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
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(relay);
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
  const proxy: FaultProxy = {
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
  return proxy;
}
