import type { ServerFrame } from "@wsauth/core/protocol";

/**
 * Reads what the server sends. The frames are core's (`@wsauth/core/protocol`, imported for their
 * types only: the schema library stays out of the browser bundle); this reader never throws, and
 * anything it does not recognise comes back as an `unknown` frame, so a newer server cannot break an
 * older page.
 */

/** A frame this client does not know (a newer server's, or garbage): shown in the log, never fatal. */
export interface UnknownFrame {
  type: "unknown";
  raw: string;
}

export type ReceivedFrame = ServerFrame | UnknownFrame;

/** Every server frame type, checked against core's union by the compiler. */
const SERVER_FRAME_TYPES: Record<ServerFrame["type"], true> = {
  echo: true,
  message: true,
  broadcast: true,
  identity: true,
  sent: true,
  broadcasted: true,
  pong: true,
  reauthenticated: true,
  revoked: true,
  error: true,
  subscribed: true,
  unsubscribed: true,
  published: true,
  event: true,
  presence: true,
  gap: true,
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The fields the page reads before it trusts a frame of that type. */
function wellFormed(frame: Record<string, unknown>): boolean {
  switch (frame.type) {
    case "message":
    case "broadcast":
      return isRecord(frame.from) && typeof frame.from.username === "string" && typeof frame.from.userId === "string";
    case "identity":
      return typeof frame.userId === "string" && typeof frame.username === "string";
    case "sent":
      return typeof frame.delivered === "number" && typeof frame.gone === "number" && typeof frame.failed === "number";
    case "broadcasted":
      return typeof frame.recipients === "number" && typeof frame.jobs === "number";
    case "error":
      return typeof frame.code === "string" && typeof frame.message === "string";
    case "event":
      return typeof frame.channel === "string" && Number.isInteger(frame.seq) && isRecord(frame.from);
    case "subscribed":
    case "published":
      return typeof frame.channel === "string" && Number.isInteger(frame.seq);
    case "presence":
      return typeof frame.channel === "string" && isRecord(frame.member) && typeof frame.member.userId === "string";
    case "gap":
      return typeof frame.channel === "string" && Number.isInteger(frame.since) && Number.isInteger(frame.oldest);
    default:
      return true;
  }
}

export function readServerFrame(raw: string): ReceivedFrame {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { type: "unknown", raw };
  }
  if (!isRecord(value) || typeof value.type !== "string" || !Object.hasOwn(SERVER_FRAME_TYPES, value.type)) {
    return { type: "unknown", raw };
  }
  // The server builds these frames with core's schema-checked builders; the client checks what it reads.
  return wellFormed(value) ? (value as ServerFrame) : { type: "unknown", raw };
}
