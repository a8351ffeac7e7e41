import type { IncomingMessage, ServerResponse } from "node:http";
import type { Log } from "@wsauth/core/logging";
import { refuseForeignHost } from "../loopback/index.js";
import { hasSigV4Authorization, type SignatureCheck, type SignedRequest } from "./sigv4.js";

/**
 * The `@connections` management API (`POST`/`GET`/`DELETE /{stage}/@connections/{id}`), served on the
 * gateway's port under the stage path like AWS serves it under the API's stage. Errors carry
 * `x-amzn-ErrorType` so the AWS SDK raises its typed exceptions (GoneException, ...). IAM is stood in
 * for by a SigV4 signature made with the local credential pair (see sigv4.ts); anything else is 403.
 */

export interface ConnectionDescription {
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent?: string;
}

/** What the management API needs from the gateway's connection registry (open connections only). */
export interface ConnectionDirectory {
  describe(connectionId: string): ConnectionDescription | undefined;
  /** Sends one message; false when the connection is not open. */
  post(connectionId: string, data: Buffer): Promise<boolean>;
  /** Closes the connection (it then gets `$disconnect`); false when it is not open. */
  delete(connectionId: string): boolean;
}

export interface ManagementOptions {
  stage: string;
  directory: ConnectionDirectory;
  maxPayloadBytes: number;
  /** Checks a request's SigV4 signature (against the local credentials). */
  verifySignature: (request: SignedRequest) => Promise<SignatureCheck>;
  log: Log;
}

export function createManagementHandler(
  options: ManagementOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { stage, directory, maxPayloadBytes, verifySignature, log } = options;
  return (req, res) => {
    if (refuseForeignHost(req, res)) return;
    const connectionId = connectionIdOf(req.url ?? "/", stage);
    if (connectionId === undefined) {
      if (isStageRoot(req.url ?? "/", stage)) {
        return reply(res, 426, { message: "Upgrade Required: connect with a WebSocket client" }, undefined);
      }
      return reply(res, 404, { message: "Not Found" }, "NotFoundException");
    }
    // Unsigned requests are refused before their body is read; signed ones once it is (it is signed too).
    if (!hasSigV4Authorization(req.headers)) {
      req.resume();
      return reply(res, 403, { message: "Missing Authentication Token" }, "MissingAuthenticationTokenException");
    }
    void authorized(req, res).then((body) => {
      if (body !== undefined) route(req, res, connectionId, body);
    });
  };

  /** The request's body once its signature checks out; undefined when it has been answered. */
  async function authorized(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    const data = await readBody(req, maxPayloadBytes);
    if (data === "too-large") {
      reply(res, 413, { message: "Message too long" }, "PayloadTooLargeException", true);
      return undefined;
    }
    if (data === "aborted") return undefined;
    const check = await verifySignature({
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: req.headers,
      body: data.length > 0 ? data : undefined,
    }).catch((error: unknown): SignatureCheck => {
      log.error("@connections signature check failed", { error });
      return { ok: false, errorType: "InternalServerErrorException", message: "Internal server error" };
    });
    if (!check.ok) {
      const status = check.errorType === "InternalServerErrorException" ? 500 : 403;
      reply(res, status, { message: check.message }, check.errorType);
      return undefined;
    }
    return data;
  }

  function route(req: IncomingMessage, res: ServerResponse, connectionId: string, data: Buffer) {
    switch (req.method) {
      case "POST":
        return void handlePost(res, connectionId, data);
      case "GET": {
        const description = directory.describe(connectionId);
        if (!description) return gone(res);
        return reply(res, 200, {
          connectedAt: new Date(description.connectedAt).toISOString(),
          identity: {
            sourceIp: description.sourceIp,
            ...(description.userAgent ? { userAgent: description.userAgent } : {}),
          },
          lastActiveAt: new Date(description.lastActiveAt).toISOString(),
        });
      }
      case "DELETE":
        if (!directory.delete(connectionId)) return gone(res);
        res.writeHead(204).end();
        return;
      default:
        return reply(res, 405, { message: `Method ${req.method} not allowed` }, "MethodNotAllowedException");
    }
  }

  async function handlePost(res: ServerResponse, connectionId: string, data: Buffer) {
    try {
      if (!(await directory.post(connectionId, data))) return gone(res);
      res.writeHead(200, { "content-length": "0" }).end();
    } catch (error) {
      // The socket failed while sending: the connection is going away.
      log.warn("@connections POST failed", { connectionId, error });
      gone(res);
    }
  }
}

function gone(res: ServerResponse) {
  reply(res, 410, { message: "Gone" }, "GoneException");
}

function reply(res: ServerResponse, status: number, body: unknown, errorType?: string, close = false) {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(payload)),
  };
  if (errorType) headers["x-amzn-ErrorType"] = errorType;
  if (close) headers.connection = "close";
  res.writeHead(status, headers).end(payload);
}

/** `/{stage}/@connections/{id}` -> the decoded id (the SDK URL-encodes "+", "/" and "="). */
function connectionIdOf(url: string, stage: string): string | undefined {
  const path = url.split("?", 1)[0] ?? "";
  const segments = path.split("/");
  if (segments.length !== 4 || segments[0] !== "") return undefined;
  try {
    if (decodeURIComponent(segments[1] ?? "") !== stage) return undefined;
    if (decodeURIComponent(segments[2] ?? "") !== "@connections") return undefined;
    const id = decodeURIComponent(segments[3] ?? "");
    return id === "" ? undefined : id;
  } catch {
    return undefined; // malformed percent-encoding
  }
}

function isStageRoot(url: string, stage: string): boolean {
  const path = url.split("?", 1)[0] ?? "";
  return path === `/${stage}` || path === `/${stage}/`;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large" | "aborted"> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      req.resume();
      return resolve("too-large");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve("too-large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on("error", () => {
      if (done) return;
      done = true;
      resolve("aborted");
    });
    req.on("aborted", () => {
      if (done) return;
      done = true;
      resolve("aborted");
    });
  });
}
