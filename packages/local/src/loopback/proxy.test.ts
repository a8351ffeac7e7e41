import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { httpRequest } from "../testing/index";
import { type LoopbackProxy, startLoopbackProxy } from "./proxy";

const get = async (port: number, host: string) => {
  const { status, body } = await httpRequest(`http://127.0.0.1:${port}/page?x=1`, { headers: { host } });
  return { status, body };
};

/** The front `next dev` runs behind: loopback host names only, requests and upgrades passed through. */
describe("loopback-only proxy", () => {
  const seen: string[] = [];
  const upstream = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host}`);
    res.writeHead(200, { "content-type": "text/plain", "x-upstream": "yes" }).end("from upstream");
  });
  const sockets = new WebSocketServer({ server: upstream });
  sockets.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo ${String(data)}`)));
  let proxy: LoopbackProxy;

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    proxy = await startLoopbackProxy({ port: 0, host: "127.0.0.1", upstreamPort });
  });
  afterAll(async () => {
    await proxy.close();
    sockets.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it("passes requests for a loopback host through unchanged", async () => {
    const answer = await get(proxy.port, `localhost:${proxy.port}`);
    expect(answer).toEqual({ status: 200, body: "from upstream" });
    expect(seen.at(-1)).toBe(`GET /page?x=1 localhost:${proxy.port}`);
  });

  it("answers a foreign host name with 421 without reaching the upstream", async () => {
    const before = seen.length;
    expect((await get(proxy.port, "rebound.example")).status).toBe(421);
    expect(seen.length).toBe(before);
  });

  it("passes WebSocket upgrades (the dev server's hot reload) for loopback hosts only", async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.port}/_next/webpack-hmr`);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const reply = new Promise<string>((resolve) => socket.once("message", (data) => resolve(String(data))));
    socket.send("ping");
    expect(await reply).toBe("echo ping");
    socket.close();

    const refused = new WebSocket(`ws://127.0.0.1:${proxy.port}/_next/webpack-hmr`, {
      headers: { host: "evil.example" },
    });
    const status = await new Promise<number>((resolve) => {
      refused.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      refused.once("error", () => resolve(0));
    });
    expect(status).toBe(421);
    refused.terminate();
  });
});
