/**
 * The server -> client frames of the wire protocol (see DESIGN.md), as the browser sees them. The
 * parser never throws: anything it does not recognise comes back as `unknown`, so a newer server
 * cannot break an older page.
 */

export interface Sender {
  userId: string;
  username: string;
}

export type ServerFrame =
  | { type: "echo"; message: unknown }
  | { type: "message" | "broadcast"; from: Sender; data: unknown; sentAt: string }
  | { type: "identity"; identity: Record<string, unknown> }
  | { type: "pong" }
  | { type: "reauthenticated"; expiresAt: string | undefined }
  | { type: "sent"; report: DeliveryReport }
  | { type: "error"; code: string; message: string }
  | { type: "unknown"; raw: string };

/** The receipt for a `sendmessage`: how many of the target's live connections got it. */
export interface DeliveryReport {
  to: string;
  delivered: number;
  gone: number;
  failed: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function parseSender(value: unknown): Sender | undefined {
  if (!isRecord(value)) return undefined;
  const userId = text(value.userId);
  const username = text(value.username);
  return userId !== undefined && username !== undefined ? { userId, username } : undefined;
}

export function parseServerFrame(raw: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { type: "unknown", raw };
  }
  if (!isRecord(value)) return { type: "unknown", raw };
  switch (value.type) {
    case "echo":
      return { type: "echo", message: value.message };
    case "message":
    case "broadcast": {
      const from = parseSender(value.from);
      if (!from) break;
      return { type: value.type, from, data: value.data, sentAt: text(value.sentAt) ?? "" };
    }
    case "identity": {
      const { type: _type, ...identity } = value;
      return { type: "identity", identity };
    }
    case "pong":
      return { type: "pong" };
    case "reauthenticated":
      return { type: "reauthenticated", expiresAt: text(value.expiresAt) };
    case "sent":
      return {
        type: "sent",
        report: {
          to: text(value.to) ?? "",
          delivered: count(value.delivered),
          gone: count(value.gone),
          failed: count(value.failed),
        },
      };
    case "error":
      return {
        type: "error",
        code: text(value.code) ?? "unknown",
        message: text(value.message) ?? "The server reported an error without a message.",
      };
  }
  return { type: "unknown", raw };
}
