import { SUBPROTOCOL, TOKEN_QUERY_PARAM } from "../constants/index";
import type { Transport } from "./identity";
import type { RejectionReason } from "./reasons";

/**
 * The parts of a WebSocket `$connect` request (API Gateway's REQUEST authorizer event, or the
 * `$connect` route event) that carry a token. Structural, so the local gateway can pass its own events.
 */
export interface ConnectRequest {
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
}

export type ExtractedToken =
  | {
      ok: true;
      token: string;
      transport: Transport;
      /** What `$connect` must answer in `Sec-WebSocket-Protocol` (never the token); undefined: no header. */
      subprotocol: typeof SUBPROTOCOL | undefined;
    }
  | { ok: false; reason: RejectionReason; subprotocol: typeof SUBPROTOCOL | undefined };

const PROTOCOL_HEADER = "sec-websocket-protocol";

/**
 * The string values of a multi-value entry. API Gateway always sends arrays of strings; anything else
 * (a bare string, numbers, null) comes from a hand-made event and is read as far as it is text, so odd
 * input is refused as a missing or malformed token (401), never a crash (500).
 */
function stringsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === "string");
}

/**
 * Every value of the `Sec-WebSocket-Protocol` header, case-insensitively, from `multiValueHeaders`
 * when present there, else `headers`; undefined when absent. Allocation-free unless the header is
 * present: this runs on every `$connect`, including floods.
 */
function protocolHeaderValues(request: ConnectRequest): readonly string[] | undefined {
  let found: string[] | undefined;
  const multi = request.multiValueHeaders;
  if (multi) {
    for (const name in multi) {
      if (name.length !== PROTOCOL_HEADER.length || name.toLowerCase() !== PROTOCOL_HEADER) continue;
      const list = stringsOf(multi[name]);
      if (list.length > 0) found = found ? found.concat(list) : list;
    }
    if (found) return found;
  }
  const single = request.headers;
  if (single) {
    for (const name in single) {
      if (name.length !== PROTOCOL_HEADER.length || name.toLowerCase() !== PROTOCOL_HEADER) continue;
      const value = single[name];
      if (typeof value !== "string") continue;
      if (found) found.push(value);
      else found = [value];
    }
  }
  return found;
}

/** The subprotocols the client offered, in order (a header may be repeated or comma-joined). */
function offeredProtocols(request: ConnectRequest): readonly string[] {
  const values = protocolHeaderValues(request);
  return values ? values.flatMap((value) => value.split(",").map((item) => item.trim())) : NOTHING_OFFERED;
}

function answerFor(offered: readonly string[]): typeof SUBPROTOCOL | undefined {
  return offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined;
}

/** `SUBPROTOCOL` when the client offered it (then `$connect` must answer with it), else undefined. */
export function offeredSubprotocol(request: ConnectRequest): typeof SUBPROTOCOL | undefined {
  return answerFor(offeredProtocols(request));
}

type Candidate = { kind: "absent" } | { kind: "value"; value: string } | { kind: "invalid"; reason: RejectionReason };

const ABSENT: Candidate = { kind: "absent" };
const NOTHING_OFFERED: readonly string[] = [];

function fromQuery(request: ConnectRequest): Candidate {
  const rawMulti = request.multiValueQueryStringParameters?.[TOKEN_QUERY_PARAM];
  const multi = rawMulti === undefined ? undefined : stringsOf(rawMulti);
  // API Gateway keeps only the last value in `queryStringParameters`; a repeated parameter is a
  // request we cannot interpret unambiguously, so it is refused rather than guessed.
  if (multi && multi.length > 1) return { kind: "invalid", reason: "query_param_repeated" };
  const single: unknown = request.queryStringParameters?.[TOKEN_QUERY_PARAM];
  const value = multi?.[0] ?? (typeof single === "string" ? single : undefined);
  if (value === undefined) return ABSENT;
  if (value.trim() === "") return { kind: "invalid", reason: "token_empty" };
  return { kind: "value", value };
}

function fromSubprotocol(offered: readonly string[]): Candidate {
  // Most requests (query-string transport) offer nothing: answered without allocating.
  if (offered.length === 0) return ABSENT;
  const ours = offered.filter((item) => item === SUBPROTOCOL).length;
  if (ours === 0) return { kind: "absent" };
  const others = offered.filter((item) => item !== SUBPROTOCOL);
  // Offering only the subprotocol is fine (the token may then come in the query string).
  if (others.length === 0) return { kind: "absent" };
  if (ours > 1 || others.length > 1) return { kind: "invalid", reason: "subprotocol_malformed" };
  const [value = ""] = others;
  if (value === "") return { kind: "invalid", reason: "token_empty" };
  return { kind: "value", value };
}

/**
 * Finds the token of a `$connect` request: the `idToken` query parameter (compatible with the
 * original sample) or the second entry of `Sec-WebSocket-Protocol: wsauth.v1, <JWT>`. When both are
 * present they must carry the same token. Nothing here checks the token itself.
 */
export function extractConnectToken(request: ConnectRequest): ExtractedToken {
  const offered = offeredProtocols(request);
  const subprotocol = answerFor(offered);
  const query = fromQuery(request);
  const header = fromSubprotocol(offered);
  if (query.kind === "invalid") return { ok: false, reason: query.reason, subprotocol };
  if (header.kind === "invalid") return { ok: false, reason: header.reason, subprotocol };
  if (query.kind === "value" && header.kind === "value") {
    if (query.value !== header.value) return { ok: false, reason: "token_ambiguous", subprotocol };
    return { ok: true, token: header.value, transport: "subprotocol", subprotocol };
  }
  if (header.kind === "value") return { ok: true, token: header.value, transport: "subprotocol", subprotocol };
  if (query.kind === "value") return { ok: true, token: query.value, transport: "query", subprotocol };
  return { ok: false, reason: "token_missing", subprotocol };
}
