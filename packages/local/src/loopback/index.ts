import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * What keeps the local stack's servers to the developer's own machine. They listen on loopback, but a
 * web page the developer visits can still reach loopback ports: with DNS rebinding (a name of the
 * attacker's that resolves to 127.0.0.1) it even becomes same-origin. So every server answers only
 * requests whose `Host` is a loopback name, and only the site's own origin may use them from a browser.
 */

/** Host names that can only mean this machine; anything else (a rebinding name) is refused. */
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The host name of a `Host` header without its port; undefined when malformed. */
function hostName(host: string): string | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(host.trim());
  return match?.[1]?.toLowerCase();
}

/** Whether a `Host` header names this machine (`localhost`, `127.0.0.1`, `[::1]`, any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = hostName(host);
  return name !== undefined && LOOPBACK_NAMES.has(name);
}

/** The origins a site at `siteUrl` is reached under: its URL's origin under every loopback name. */
export function siteOrigins(siteUrl: string): string[] {
  if (!siteUrl) return [];
  const url = new URL(siteUrl);
  return [...LOOPBACK_NAMES].map((name) => `${url.protocol}//${name}${url.port ? `:${url.port}` : ""}`);
}

/**
 * Whether a request may proceed given its `Origin`: requests without one (Node, CLIs, the SDK) may;
 * a browser's only when it comes from one of `allowed`.
 */
export function isAllowedOrigin(origin: string | undefined, allowed: ReadonlySet<string>): boolean {
  return origin === undefined || allowed.has(origin.toLowerCase());
}

/** The answer to a request for a name that is not this machine (421: this server is not for that host). */
export const MISDIRECTED = {
  status: 421,
  message: "Misdirected Request: only loopback host names are served",
} as const;

/**
 * Answers a plain HTTP request whose `Host` is not loopback with 421 and returns true; false when the
 * request may go on.
 */
export function refuseForeignHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (isLoopbackHost(req.headers.host)) return false;
  const body = JSON.stringify({ message: MISDIRECTED.message });
  res.writeHead(MISDIRECTED.status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
  });
  res.end(body);
  return true;
}
