import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { isAllowedOrigin, isLoopbackHost, MISDIRECTED } from "../loopback/index.js";
import { rejectRaw } from "./net.js";

/**
 * The gateway's checks before a handshake reaches the authorizer: a loopback `Host` (no DNS
 * rebinding) and, from a browser, the site's own `Origin` (no other page may open a socket with a
 * token it got hold of, or ride on the developer's). Returns true when it refused the upgrade.
 */
export function refuseUpgrade(req: IncomingMessage, socket: Duplex, allowedOrigins: ReadonlySet<string>): boolean {
  if (!isLoopbackHost(req.headers.host)) {
    rejectRaw(socket, MISDIRECTED.status, MISDIRECTED.message);
    return true;
  }
  if (!isAllowedOrigin(req.headers.origin, allowedOrigins)) {
    rejectRaw(socket, 403, "Forbidden");
    return true;
  }
  return false;
}

/**
 * Answers a request the HTTP parser refused with a status instead of a dropped socket: headers over
 * the limit get 431 (as any HTTP server), anything else unparseable 400.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  rejectRaw(socket, status, status === 431 ? "Request Header Fields Too Large" : "Bad Request");
}
