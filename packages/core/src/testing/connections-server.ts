import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for API Gateway's `@connections` management API over real HTTP, for tests until they
 * use the local gateway: `POST|GET|DELETE /{stage}/@connections/{id}`; an unknown or closed id gets
 * 410 with `x-amzn-ErrorType: GoneException` (so the AWS SDK raises `GoneException`); a request
 * without an `Authorization` header gets 403, as an unsigned call to the real API would.
 */
export interface ConnectionsServer {
  /** What to pass as `managementEndpoint`. */
  endpoint: string;
  /** Makes `id` a live connection. */
  open(id: string, info?: { sourceIp?: string; userAgent?: string }): void;
  /** Forgets `id` without a DELETE, as when a client vanished (later sends get 410). */
  drop(id: string): void;
  /** Makes every request for `id` fail with `status` (500 unless given). */
  fail(id: string, status?: number): void;
  /** Frames posted to `id`, parsed as JSON, in order. */
  received(id: string): unknown[];
  /** Ids closed by a DELETE. */
  closed(): string[];
  /** Requests answered, for asserting how many calls were made. */
  requests(): Array<{ method: string; id: string; status: number }>;
  stop(): Promise<void>;
}

interface Live {
  connectedAt: Date;
  sourceIp: string;
  userAgent: string;
}

export async function startConnectionsServer(stage = "test"): Promise<ConnectionsServer> {
  const live = new Map<string, Live>();
  const inbox = new Map<string, unknown[]>();
  const failing = new Map<string, number>();
  const closedIds: string[] = [];
  const log: Array<{ method: string; id: string; status: number }> = [];
  const prefix = `/${stage}/@connections/`;

  const answer = (res: ServerResponse, method: string, id: string, status: number, body?: unknown) => {
    log.push({ method, id, status });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (status === 410) headers["x-amzn-ErrorType"] = "GoneException";
    if (status === 403) headers["x-amzn-ErrorType"] = "ForbiddenException";
    res.writeHead(status, headers);
    res.end(
      body === undefined
        ? status >= 400
          ? JSON.stringify({ message: `status ${status}` })
          : ""
        : JSON.stringify(body),
    );
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const method = req.method ?? "GET";
      const path = (req.url ?? "").split("?")[0] ?? "";
      if (!path.startsWith(prefix)) return answer(res, method, "", 404);
      const id = decodeURIComponent(path.slice(prefix.length));
      if (!req.headers.authorization) return answer(res, method, id, 403);
      const failure = failing.get(id);
      if (failure !== undefined) return answer(res, method, id, failure);
      const connection = live.get(id);
      if (!connection) return answer(res, method, id, 410);
      if (method === "POST") {
        const text = Buffer.concat(chunks).toString("utf8");
        inbox.get(id)?.push(JSON.parse(text));
        return answer(res, method, id, 200);
      }
      if (method === "GET") {
        return answer(res, method, id, 200, {
          ConnectedAt: connection.connectedAt.toISOString(),
          Identity: { SourceIp: connection.sourceIp, UserAgent: connection.userAgent },
          LastActiveAt: connection.connectedAt.toISOString(),
        });
      }
      if (method === "DELETE") {
        live.delete(id);
        closedIds.push(id);
        return answer(res, method, id, 204);
      }
      return answer(res, method, id, 405);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}/${stage}`,
    open(id, info = {}) {
      live.set(id, {
        connectedAt: new Date(),
        sourceIp: info.sourceIp ?? "127.0.0.1",
        userAgent: info.userAgent ?? "test",
      });
      if (!inbox.has(id)) inbox.set(id, []);
    },
    drop: (id) => void live.delete(id),
    fail: (id, status = 500) => void failing.set(id, status),
    received: (id) => [...(inbox.get(id) ?? [])],
    closed: () => [...closedIds],
    requests: () => [...log],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
