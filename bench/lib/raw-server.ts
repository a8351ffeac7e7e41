import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/**
 * The baseline: a plain `ws` server on loopback that answers each frame the way the product's
 * `$default` route does (parse, wrap in an echo frame, serialise), with no routing, handler,
 * registry or management API in between.
 */
export interface RawEchoServer {
  url: string;
  stop(): Promise<void>;
}

export async function startRawEchoServer(): Promise<RawEchoServer> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  server.on("connection", (socket) => {
    socket.on("message", (data) => {
      let message: unknown;
      try {
        message = JSON.parse(String(data));
      } catch {
        message = String(data);
      }
      socket.send(JSON.stringify({ type: "echo", message }));
    });
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
