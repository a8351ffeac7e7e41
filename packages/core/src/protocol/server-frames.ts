import { z } from "zod";
import { ERROR_CODES, type ErrorCode } from "../errors/index";

/**
 * Frames the server sends (the README's "Wire protocol" section). Builders are used by the handlers; the schema
 * lets clients (web app, CLI, tests) parse what they receive.
 */

/** Who sent a `message`/`broadcast`: always taken from the registry, never from the client's frame. */
export interface Sender {
  userId: string;
  /** The human sign-in name (e-mail), never an opaque id. */
  username: string;
}

/** Sender of messages pushed by backend services (`notify`, `pnpm ws send`). */
export const SYSTEM_SENDER: Sender = { userId: "system", username: "system" };

/** Any JSON value (what `data` and echoed messages may be). */
export type JsonValue = z.infer<ReturnType<typeof z.json>>;

const senderSchema = z.object({ userId: z.string(), username: z.string() });
const seqSchema = z.number().int().min(0);

export const serverFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("echo"), message: z.json() }),
  z.object({ type: z.literal("message"), from: senderSchema, data: z.json(), sentAt: z.iso.datetime() }),
  z.object({ type: z.literal("broadcast"), from: senderSchema, data: z.json(), sentAt: z.iso.datetime() }),
  z.object({
    type: z.literal("identity"),
    userId: z.string(),
    username: z.string(),
    email: z.string().optional(),
    groups: z.array(z.string()),
    connectionId: z.string(),
    connectedAt: z.iso.datetime(),
    tokenExp: z.number(),
    expiresAt: z.iso.datetime(),
    transport: z.string(),
    connections: z.number().int(),
  }),
  z.object({
    type: z.literal("sent"),
    to: z.string(),
    delivered: z.number().int(),
    gone: z.number().int(),
    failed: z.number().int(),
  }),
  z.object({
    type: z.literal("broadcasted"),
    recipients: z.number().int(),
    jobs: z.number().int(),
    delivered: z.number().int(),
    gone: z.number().int(),
    failed: z.number().int(),
  }),
  z.object({ type: z.literal("pong") }),
  z.object({ type: z.literal("reauthenticated"), expiresAt: z.iso.datetime() }),
  /** The user's sessions were revoked (Sign out everywhere, an admin): the connection closes next. */
  z.object({ type: z.literal("revoked"), notBefore: z.iso.datetime() }),
  z.object({ type: z.literal("error"), code: z.enum(ERROR_CODES), message: z.string() }),
  z.object({
    type: z.literal("subscribed"),
    channel: z.string(),
    seq: seqSchema,
    /** Presence channels only: the users present, the subscriber included. */
    members: z.array(senderSchema).optional(),
  }),
  z.object({ type: z.literal("unsubscribed"), channel: z.string() }),
  z.object({ type: z.literal("published"), channel: z.string(), seq: seqSchema, jobs: z.number().int().optional() }),
  z.object({
    type: z.literal("event"),
    channel: z.string(),
    seq: seqSchema,
    from: senderSchema,
    data: z.json(),
    sentAt: z.iso.datetime(),
  }),
  z.object({
    type: z.literal("presence"),
    channel: z.string(),
    event: z.enum(["join", "leave"]),
    member: senderSchema,
  }),
  /** Events after `since` and before `oldest` are no longer retained. */
  z.object({ type: z.literal("gap"), channel: z.string(), since: seqSchema, oldest: seqSchema }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type IdentityFrame = Extract<ServerFrame, { type: "identity" }>;
export type ChannelEventFrame = Extract<ServerFrame, { type: "event" }>;
export type PresenceFrame = Extract<ServerFrame, { type: "presence" }>;
export type GapFrame = Extract<ServerFrame, { type: "gap" }>;
export type SubscribedFrame = Extract<ServerFrame, { type: "subscribed" }>;
/** The sender's receipt of a `sendmessage`. */
export type SentFrame = Extract<ServerFrame, { type: "sent" }>;

/** Parses a frame received from the server; `undefined` when it is not one. */
export function parseServerFrame(text: string): ServerFrame | undefined {
  try {
    const parsed = serverFrameSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

export const frames = {
  echo: (message: JsonValue): ServerFrame => ({ type: "echo", message }),
  message: (from: Sender, data: JsonValue, sentAtMs: number): ServerFrame => ({
    type: "message",
    from: { userId: from.userId, username: from.username },
    data,
    sentAt: iso(sentAtMs),
  }),
  broadcast: (from: Sender, data: JsonValue, sentAtMs: number): ServerFrame => ({
    type: "broadcast",
    from: { userId: from.userId, username: from.username },
    data,
    sentAt: iso(sentAtMs),
  }),
  identity: (fields: Omit<IdentityFrame, "type">): ServerFrame => ({ type: "identity", ...fields }),
  /** The sender's receipt for a `sendmessage`: how many of the target's live connections got it. */
  sent: (to: string, report: { delivered: number; gone: number; failed: number }): ServerFrame => ({
    type: "sent",
    to,
    delivered: report.delivered,
    gone: report.gone,
    failed: report.failed,
  }),
  /**
   * The receipt of a `broadcast`: how many connections it is for and how many fan-out jobs were
   * queued for it; when it was sent inline (`jobs: 0`), what became of each send.
   */
  broadcasted: (receipt: {
    recipients: number;
    jobs: number;
    delivered: number;
    gone: number;
    failed: number;
  }): ServerFrame => ({
    type: "broadcasted",
    recipients: receipt.recipients,
    jobs: receipt.jobs,
    delivered: receipt.delivered,
    gone: receipt.gone,
    failed: receipt.failed,
  }),
  pong: (): ServerFrame => ({ type: "pong" }),
  reauthenticated: (tokenExp: number): ServerFrame => ({ type: "reauthenticated", expiresAt: iso(tokenExp * 1000) }),
  revoked: (notBefore: number): ServerFrame => ({ type: "revoked", notBefore: iso(notBefore * 1000) }),
  error: (code: ErrorCode, message: string): ServerFrame => ({ type: "error", code, message }),
  subscribed: (channel: string, seq: number, members?: readonly Sender[]): ServerFrame => ({
    type: "subscribed",
    channel,
    seq,
    ...(members ? { members: members.map(({ userId, username }) => ({ userId, username })) } : {}),
  }),
  unsubscribed: (channel: string): ServerFrame => ({ type: "unsubscribed", channel }),
  /** `jobs`: fan-out jobs queued for the event (0 when it was sent inline). */
  published: (channel: string, seq: number, jobs = 0): ServerFrame => ({ type: "published", channel, seq, jobs }),
  event: (channel: string, seq: number, from: Sender, data: JsonValue, sentAtMs: number): ServerFrame => ({
    type: "event",
    channel,
    seq,
    from: { userId: from.userId, username: from.username },
    data,
    sentAt: iso(sentAtMs),
  }),
  presence: (channel: string, event: "join" | "leave", member: Sender): ServerFrame => ({
    type: "presence",
    channel,
    event,
    member: { userId: member.userId, username: member.username },
  }),
  gap: (channel: string, since: number, oldest: number): ServerFrame => ({ type: "gap", channel, since, oldest }),
} as const;

export { iso as toIsoTime };
