import { STATUS_CODES } from "node:http";

/** Lambda proxy responses of route integrations, as the gateway reads them. */

/** Headers of the 101 response that belong to the WebSocket handshake itself. */
export const HANDSHAKE_HEADERS = new Set([
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

export interface ProxyResponse {
  statusCode: number;
  headers: Record<string, string>;
  body?: string;
  contentType?: string;
}

/**
 * Reads a Lambda proxy response. No value or no statusCode counts as 200 (the invocation succeeded);
 * a statusCode that is not an HTTP status is malformed.
 */
export function readProxyResponse(value: unknown): ProxyResponse | undefined {
  if (value === undefined || value === null) return { statusCode: 200, headers: {} };
  if (typeof value !== "object") return { statusCode: 200, headers: {}, body: String(value) };
  const record = value as Record<string, unknown>;
  const statusCode = record.statusCode === undefined ? 200 : Number(record.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599 || !STATUS_CODES[statusCode]) {
    return undefined;
  }
  const headers: Record<string, string> = {};
  let contentType: string | undefined;
  if (record.headers && typeof record.headers === "object") {
    for (const [name, headerValue] of Object.entries(record.headers as Record<string, unknown>)) {
      if (headerValue === undefined || headerValue === null) continue;
      const text = String(headerValue);
      if (/[\r\n]/.test(name) || /[\r\n]/.test(text)) continue; // never let a handler split the response
      if (name.toLowerCase() === "content-type") contentType = text;
      else headers[name] = text;
    }
  }
  const body =
    typeof record.body === "string" ? record.body : record.body === undefined ? undefined : JSON.stringify(record.body);
  return { statusCode, headers, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) };
}

/** Headers of a refused `$connect` response that may go on the error response. */
export function handshakeSafe(headers: Record<string, string>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HANDSHAKE_HEADERS.has(name.toLowerCase()) && name.toLowerCase() !== "content-type") safe[name] = value;
  }
  return safe;
}

/** The error frame API Gateway sends a client (`{"message","connectionId","requestId"}`). */
export function errorFrame(message: string, connectionId: string, requestId: string): string {
  return JSON.stringify({ message, connectionId, requestId });
}
