import { createServer, request } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { isLoopbackHost, MISDIRECTED, refuseForeignHost } from "./index.js";

/**
 * A loopback-only front for a server that cannot check `Host` itself (`next dev`): requests and
 * upgrades (the dev server's hot-reload socket) for a loopback host name are passed through unchanged
 * to the upstream port; anything else is answered 421 here and never reaches it.
 */
export interface LoopbackProxy {
  port: number;
  close(): Promise<void>;
}

function refuseUpgrade(socket: Duplex): void {
  const body = JSON.stringify({ message: MISDIRECTED.message });
  socket.end(
    `HTTP/1.1 ${MISDIRECTED.status} Misdirected Request\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export async function startLoopbackProxy(options: {
  port: number;
  host: string;
  upstreamPort: number;
}): Promise<LoopbackProxy> {
  const { host, upstreamPort } = options;
  const sockets = new Set<Socket | Duplex>();
  const server = createServer((req, res) => {
    if (refuseForeignHost(req, res)) return;
    const forward = request(
      { host, port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("the site is not answering");
      else res.destroy();
    });
    req.pipe(forward);
  });
  server.on("upgrade", (req, socket, head) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (!isLoopbackHost(req.headers.host)) return refuseUpgrade(socket);
    const upstream = connect(upstreamPort, host, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let index = 0; index < req.rawHeaders.length; index += 2) {
        lines.push(`${req.rawHeaders[index]}: ${req.rawHeaders[index + 1]}`);
      }
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => {
      sockets.delete(upstream);
      socket.destroy();
    });
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
