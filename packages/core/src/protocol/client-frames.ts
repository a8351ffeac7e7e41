import { z } from "zod";
import { channelNameSchema } from "../channel/index";
import { LIMITS, ROUTE } from "../constants/index";
import { InputError } from "../errors/index";
import type { JsonValue } from "./server-frames";

/**
 * Frames a client sends (the README's "Wire protocol" section). Every named route has a strict schema: an
 * unknown field is an error rather than silently ignored, so a client cannot smuggle e.g. a `from`
 * into a message and believe it took effect.
 */

/**
 * Largest `data` of `sendmessage`/`broadcast` (and `message` of an echo), as UTF-8 JSON. It leaves
 * room for the envelope (`from`, `sentAt`) inside API Gateway's 128 KB payload limit, and matches
 * the 32 KB a client can put in one frame, so one accepted frame always fits in one reply.
 */
export const MESSAGE_DATA_MAX_BYTES = LIMITS.frameBytes;
/**
 * Deepest nesting of arrays/objects a client frame may have. JSON.parse copes with far deeper input,
 * but validation and serialisation recurse, and a 10 KB frame of brackets would overflow the stack.
 */
export const MESSAGE_MAX_DEPTH = 64;
/** Longest `to`: Cognito usernames are at most 128 characters, e-mail addresses at most 254. */
export const TARGET_MAX_LENGTH = 256;

const target = z.string().trim().min(1).max(TARGET_MAX_LENGTH);

export const clientFrameSchemas = {
  sendmessage: z.strictObject({ action: z.literal(ROUTE.sendmessage), to: target, data: z.json() }),
  whoami: z.strictObject({ action: z.literal(ROUTE.whoami) }),
  ping: z.strictObject({ action: z.literal(ROUTE.ping) }),
  reauth: z.strictObject({ action: z.literal(ROUTE.reauth), token: z.string().min(1).max(LIMITS.maxTokenBytes) }),
  broadcast: z.strictObject({ action: z.literal(ROUTE.broadcast), data: z.json() }),
  /** Revokes the caller's own sessions; `token` is the caller's current token (as for `reauth`). */
  revoke: z.strictObject({ action: z.literal(ROUTE.revoke), token: z.string().min(1).max(LIMITS.maxTokenBytes) }),
  subscribe: z.strictObject({
    action: z.literal(ROUTE.subscribe),
    channel: channelNameSchema,
    /** Replay retained events after this seq (the last one the client saw). */
    since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  }),
  unsubscribe: z.strictObject({ action: z.literal(ROUTE.unsubscribe), channel: channelNameSchema }),
  publish: z.strictObject({ action: z.literal(ROUTE.publish), channel: channelNameSchema, data: z.json() }),
} as const;

export type MessageRoute = keyof typeof clientFrameSchemas;
export type ClientFrame<R extends MessageRoute> = z.infer<(typeof clientFrameSchemas)[R]>;
export type SendMessageFrame = ClientFrame<"sendmessage">;
export type ReauthFrame = ClientFrame<"reauth">;
export type BroadcastFrame = ClientFrame<"broadcast">;
export type RevokeFrame = ClientFrame<"revoke">;
export type SubscribeFrame = ClientFrame<"subscribe">;
export type UnsubscribeFrame = ClientFrame<"unsubscribe">;
export type PublishFrame = ClientFrame<"publish">;

export function isMessageRoute(route: string): route is MessageRoute {
  return Object.hasOwn(clientFrameSchemas, route);
}

/** UTF-8 size of a JSON value as it will be sent. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

/** Parses a frame's body as JSON: too large -> `payload_too_large`, not JSON -> `invalid_json`. */
export function parseJsonBody(body: string | undefined | null): unknown {
  const text = body ?? "";
  if (Buffer.byteLength(text, "utf8") > LIMITS.messagePayloadBytes) {
    throw new InputError("payload_too_large", `message is larger than ${LIMITS.messagePayloadBytes} bytes`);
  }
  if (nestsDeeperThan(text, MESSAGE_MAX_DEPTH)) {
    throw new InputError("validation_failed", `message nests deeper than ${MESSAGE_MAX_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InputError("invalid_json", "message is not valid JSON");
  }
}

/** Whether the JSON text opens more than `limit` arrays/objects at once (brackets in strings do not count). */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > limit) return true;
    } else if (char === 0x5d || char === 0x7d) depth--;
  }
  return false;
}

/** Describes the first problem of a validated `subject` without echoing the value (it may be a token). */
export function describeIssue(error: z.ZodError, subject = "message"): string {
  const issue = error.issues[0];
  if (!issue) return `${subject} is not valid`;
  const where = issue.path.length > 0 ? issue.path.join(".") : subject;
  return `${where}: ${issue.message}`;
}

export function assertDataSize(data: unknown, field = "data"): void {
  if (jsonByteLength(data) > MESSAGE_DATA_MAX_BYTES) {
    throw new InputError("payload_too_large", `${field} is larger than ${MESSAGE_DATA_MAX_BYTES} bytes`);
  }
}

/**
 * Parses and validates the body of a frame for a named route. Throws `InputError` with a stable code
 * (`payload_too_large`, `invalid_json`, `validation_failed`).
 */
export function parseClientFrame<R extends MessageRoute>(route: R, body: string | undefined | null): ClientFrame<R> {
  const json = parseJsonBody(body);
  const parsed = clientFrameSchemas[route].safeParse(json);
  if (!parsed.success) throw new InputError("validation_failed", describeIssue(parsed.error));
  const frame = parsed.data as ClientFrame<R>;
  if ("data" in frame) assertDataSize(frame.data);
  return frame;
}

/**
 * The body of a `$default` frame, echoed back as sent: a JSON value as that value, and any other text
 * as the text itself (`hello` comes back as `"hello"`, as the original sample's echo does).
 */
export function parseEchoBody(body: string | undefined | null): JsonValue {
  let echoed: JsonValue;
  try {
    echoed = parseJsonBody(body) as JsonValue;
  } catch (error) {
    if (!(error instanceof InputError) || error.code !== "invalid_json") throw error;
    echoed = body ?? "";
  }
  assertDataSize(echoed, "message");
  return echoed;
}
