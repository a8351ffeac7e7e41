import { type ConnectionIdentity, decodeAuthorizerContext, type Identity, isRevoked, reasonOf } from "../auth/index";
import type { ChannelStore } from "../channel/index";
import { type ConnectionRecord, type ConnectionStore, expireAtFor, type NewConnection } from "../connection/index";
import { ADMIN_GROUP, FANOUT, RATE_LIMITED_ROUTES, ROUTE } from "../constants/index";
import { DependencyError, type ErrorCode, IdentityError, LimitError, WsAuthError } from "../errors/index";
import { createLog, type Log } from "../logging/index";
import { frames, parseClientFrame, parseEchoBody, type ServerFrame, toIsoTime } from "../protocol/index";
import {
  isEventBridgeEvent,
  parseCognitoAdminEvent,
  parseRevokeInput,
  type RevocationStore,
  type RevokeReport,
  type RevokeTarget,
  revokeUser,
} from "../revocation/index";
import { type ChannelCaller, createChannels, type PublishReport } from "./channels";
import type { FanOut, FanOutJobReport } from "./fanout";
import { type AbuseLimits, abuseLimitsFromEnv, frameWindowOf, recountConnections } from "./limits";
import type { DeliveryReport, Messenger } from "./messenger";
import { notifyUser } from "./notify";
import { type SweepOptions, type SweepReport, sweepConnections } from "./sweep";

/**
 * Verifies a fresh token for `reauth`. The auth core's verifier (`sharedTokenVerifier` in
 * `@wsauth/core/auth`) satisfies it; it rejects with `WsAuthError`s carrying stable codes.
 */
export interface ReauthVerifier {
  verify(token: string): Promise<Pick<Identity, "userId" | "tokenExp" | "groups" | "authTime">>;
}

/** A frame as a message route receives it. */
export interface IncomingMessage {
  connectionId: string;
  /** `requestContext.authorizer` as API Gateway passes it: the fallback identity of the connection. */
  authorizer: unknown;
  /** `requestContext.connectedAt`, epoch milliseconds. */
  connectedAt?: number;
  body: string | undefined | null;
}

/** Routes that carry client frames (all but `$connect`/`$disconnect`). */
export const MESSAGE_ROUTES = [
  ROUTE.default,
  ROUTE.sendmessage,
  ROUTE.whoami,
  ROUTE.ping,
  ROUTE.reauth,
  ROUTE.broadcast,
  ROUTE.subscribe,
  ROUTE.unsubscribe,
  ROUTE.publish,
  ROUTE.revoke,
] as const;
export type MessageRouteKey = (typeof MESSAGE_ROUTES)[number];

export interface RealtimeOptions {
  store: ConnectionStore;
  /** Subscription, presence, sequence and history rows (the same table). */
  channelStore: ChannelStore;
  messenger: Messenger;
  /**
   * Parallel fan-out for `broadcast` and channel events (without it, both are sent inline by this
   * invocation).
   */
  fanOut?: FanOut;
  /** Revocation records: written by `revoke`, read by `reauth` and `broadcast`. */
  revocations: RevocationStore;
  /** Needed by `reauth` and `revoke` only; a factory so that handlers build it lazily. */
  verifier?: ReauthVerifier | (() => ReauthVerifier | Promise<ReauthVerifier>);
  /** Connections per user and frames per connection (default: ABUSE_LIMITS with the environment's overrides). */
  limits?: AbuseLimits;
  /** Clock in epoch milliseconds (tests pin it). */
  now?: () => number;
  log?: Log;
}

export interface Realtime {
  /**
   * `$connect`: stores the connection; identity from the authorizer context only. A user at the
   * connection cap is refused with `too_many_connections` (after a repair of their count).
   */
  connect(input: NewConnection): Promise<ConnectionRecord>;
  /** `$disconnect`. */
  disconnect(connectionId: string): Promise<void>;
  /**
   * A client frame on a message route. Replies go to the caller over `@connections`. Throws
   * `WsAuthError` for anything the caller should hear about as an `error` frame.
   */
  receive(route: MessageRouteKey, message: IncomingMessage): Promise<void>;
  /** Sends a frame to one connection (replies, error frames); never throws for a failed send. */
  reply(connectionId: string, frame: ServerFrame): Promise<DeliveryReport>;
  /** Closes a connection at the gateway and deletes its row. */
  close(connectionId: string): Promise<"closed" | "gone">;
  /** Closes connections whose token expired or that outlived the lifetime cap; deletes dead rows. */
  sweep(options?: Pick<SweepOptions, "remainingTimeMs">): Promise<SweepReport>;
  /**
   * Pushes `data` to every live connection of a user, as a `message` from `system`, or publishes it to
   * a channel (`{channel, data}`), as an `event` from `system`.
   */
  notify(input: unknown): Promise<DeliveryReport | PublishReport>;
  /** Runs one fan-out job (the `FanOut` function). */
  fanOutJob(input: unknown): Promise<FanOutJobReport>;
  /**
   * Revokes a user (the `Revoke` function): `{userId}` or `{username}`, or the EventBridge event of a
   * Cognito admin action; `undefined` when that event names no usable user (logged).
   */
  revoke(input: unknown, options?: RevokeOptions): Promise<RevokeReport | undefined>;
}

export interface RevokeOptions {
  /** Who asked, kept on the record (default `api`, or the CloudTrail event name). */
  source?: string;
  /** Resolves a sign-in name the registry does not know (the CLI asks Cognito). */
  resolveUsername?: (username: string) => Promise<string | undefined>;
}

/**
 * The one message of each code a refused `reauth` answers with: which check the token failed (its
 * signature, its key, whose it is) goes to the log only, so the answer is no guide for forging one.
 */
export const REAUTH_REFUSALS: Readonly<Partial<Record<ErrorCode, string>>> = {
  unauthorized: "the token was not accepted",
  token_expired: "the token has expired",
  forbidden: "the token is not valid for this connection",
};

/** What a `sendmessage` that reached nobody answers, whoever `to` named: an unknown user or an offline one. */
const NOTHING_DELIVERED = { delivered: 0, gone: 0, failed: 0 } as const;

export function createRealtime(options: RealtimeOptions): Realtime {
  const { store, messenger } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? createLog("realtime");
  const channels = createChannels({
    store: options.channelStore,
    messenger,
    ...(options.fanOut ? { fanOut: options.fanOut } : {}),
    now,
    log,
  });
  const limits = options.limits ?? abuseLimitsFromEnv();
  const frameWindow = frameWindowOf(limits);
  // A connection found gone by a send leaves its channels too (presence `leave` for its user).
  messenger.onGone((connectionId) => channels.removeConnection(connectionId));
  /** Built on first use (the factory caches it per container); a failed build is retried next time. */
  async function getVerifier(): Promise<ReauthVerifier> {
    const source = options.verifier;
    if (!source) throw new WsAuthError("internal", "no token verifier is configured");
    return typeof source === "function" ? source() : source;
  }

  const { revocations } = options;

  /** Routes whose frames count against the connection's rate limit (each one costs a fan-out). */
  const RATE_LIMITED: ReadonlySet<MessageRouteKey> = new Set(RATE_LIMITED_ROUTES as readonly MessageRouteKey[]);

  /** Routes that need nothing from the registry while the connection's original token is valid. */
  const CONTEXT_ONLY_ROUTES: ReadonlySet<MessageRouteKey> = new Set([ROUTE.default, ROUTE.ping]);

  /**
   * The caller's connection. The registry row is the full record (a `reauth` extends its `tokenExp`
   * and refreshes its groups; `sendmessage` takes the sender from it). Echo and ping need only who is
   * calling and whether the token is still valid, which the authorizer context (API Gateway's record
   * of the `$connect` decision) answers without a read, so they read the row only once the context's
   * token has expired, to see whether a `reauth` extended it.
   */
  async function callerOf(
    route: MessageRouteKey,
    message: IncomingMessage,
  ): Promise<{ caller: ConnectionRecord; throttled: boolean }> {
    const identity = decodeAuthorizerContext(message.authorizer);
    const fromContext = (context: ConnectionIdentity): ConnectionRecord => ({
      connectionId: message.connectionId,
      ...context,
      connectedAt: message.connectedAt ?? now(),
      expireAt: Number.POSITIVE_INFINITY,
    });
    if (identity && CONTEXT_ONLY_ROUTES.has(route) && identity.tokenExp * 1000 > now()) {
      return { caller: fromContext(identity), throttled: false };
    }
    // On a rate-limited route the frame is counted on the row by the update that also reads it back.
    const counted = RATE_LIMITED.has(route)
      ? await store.countFrame(message.connectionId, frameWindow)
      : { outcome: "counted" as const, record: await store.get(message.connectionId) };
    if (counted.record) return { caller: counted.record, throttled: counted.outcome === "throttled" };
    if (!identity) throw new IdentityError("unauthorized", "the connection has no identity");
    return { caller: fromContext(identity), throttled: false };
  }

  const reply = async (connectionId: string, frame: ServerFrame): Promise<DeliveryReport> => {
    const report = await messenger.toConnection(connectionId, frame);
    if (report.delivered === 0) log.warn("reply not delivered", { connectionId, ...report });
    return report;
  };

  const sender = (caller: ConnectionRecord) => ({ userId: caller.userId, username: caller.username });

  async function sendmessage(caller: ConnectionRecord, body: IncomingMessage["body"]): Promise<void> {
    const frame = parseClientFrame(ROUTE.sendmessage, body);
    const targets = await store.listForTarget(frame.to);
    const report = await messenger.toConnections(targets, frames.message(sender(caller), frame.data, now()));
    log.info("message sent", { connectionId: caller.connectionId, userId: caller.userId, ...report });
    // A failing management API is reported. Otherwise a message that reached nobody gets the same
    // receipt whether `to` names nobody or someone offline (their stale rows are not counted): the
    // receipt is no directory of who has an account.
    if (report.delivered === 0 && report.failed > 0) throw new DependencyError("message could not be delivered");
    await reply(caller.connectionId, frames.sent(frame.to, report.delivered === 0 ? NOTHING_DELIVERED : report));
  }

  /** A refused `reauth`: the reason is logged, the caller hears only the code's fixed message. */
  function reauthRefused(caller: ConnectionRecord, error: WsAuthError, reason: string): WsAuthError {
    log.info("reauth refused", { connectionId: caller.connectionId, code: error.code, reason });
    const message = REAUTH_REFUSALS[error.code];
    return message ? new IdentityError(error.code, message, { cause: error }) : error;
  }

  async function whoami(caller: ConnectionRecord, body: IncomingMessage["body"]): Promise<void> {
    parseClientFrame(ROUTE.whoami, body);
    const connections = await store.listByUser(caller.userId);
    await reply(
      caller.connectionId,
      frames.identity({
        userId: caller.userId,
        username: caller.username,
        ...(caller.email ? { email: caller.email } : {}),
        groups: caller.groups,
        connectionId: caller.connectionId,
        connectedAt: toIsoTime(caller.connectedAt),
        tokenExp: caller.tokenExp,
        expiresAt: toIsoTime(caller.tokenExp * 1000),
        transport: caller.transport,
        connections: Math.max(connections.length, 1),
      }),
    );
  }

  /**
   * A token a connection presents for itself (`reauth`, `revoke`): verified, and the caller's own. A
   * refusal is logged with its reason and answered with the code's fixed message.
   */
  async function verifyCallerToken(caller: ConnectionRecord, token: string) {
    const verified = await (await getVerifier()).verify(token).catch((error: unknown) => {
      const refusal =
        error instanceof WsAuthError ? error : new IdentityError("unauthorized", "token rejected", { cause: error });
      throw reauthRefused(caller, refusal, reasonOf(error) ?? "internal_error");
    });
    if (verified.userId !== caller.userId) {
      throw reauthRefused(caller, new IdentityError("forbidden", "forbidden"), "token_of_another_user");
    }
    return verified;
  }

  async function reauth(caller: ConnectionRecord, body: IncomingMessage["body"]): Promise<void> {
    const frame = parseClientFrame(ROUTE.reauth, body);
    const verified = await verifyCallerToken(caller, frame.token);
    if (isRevoked(verified.authTime, await revocations.notBefore(caller.userId))) {
      throw reauthRefused(caller, new IdentityError("unauthorized", "unauthorized"), "token_revoked");
    }
    // The fresh token's groups replace the ones from `$connect`: someone removed from `admins` loses
    // `broadcast` at their next reauth, not at the 2 h cap.
    const updated = await store.extendToken(caller.connectionId, verified.tokenExp, verified.groups, verified.authTime);
    if (!updated) {
      throw reauthRefused(caller, new IdentityError("unauthorized", "unauthorized"), "connection_not_registered");
    }
    log.info("connection reauthenticated", { connectionId: caller.connectionId, userId: caller.userId });
    await reply(caller.connectionId, frames.reauthenticated(Math.max(updated.tokenExp, verified.tokenExp)));
  }

  async function broadcast(caller: ConnectionRecord, body: IncomingMessage["body"]): Promise<void> {
    if (!caller.groups.includes(ADMIN_GROUP)) {
      throw new IdentityError("forbidden", `only members of ${ADMIN_GROUP} may broadcast`);
    }
    // The groups on the row are those of the token's sign-in: a revocation since (a group change in
    // Cognito revokes) makes them stale, so they count only for a sign-in after it.
    if (isRevoked(caller.authTime, await revocations.notBefore(caller.userId))) {
      throw new IdentityError("forbidden", "this sign-in was revoked: sign in again");
    }
    const frame = parseClientFrame(ROUTE.broadcast, body);
    const outgoing = frames.broadcast(sender(caller), frame.data, now());
    const { fanOut } = options;
    const receipt = fanOut
      ? await fanOut.send(store.walkRecipients({ pageSize: FANOUT.jobSize }), outgoing)
      : await messenger.broadcast(outgoing).then((report) => ({
          recipients: report.delivered + report.gone + report.failed,
          jobs: 0,
          ...report,
        }));
    log.info("broadcast sent", { connectionId: caller.connectionId, userId: caller.userId, ...receipt });
    await reply(caller.connectionId, frames.broadcasted(receipt));
  }

  /** The revocation's collaborators; `afterRemove` cleans a closed connection's channel rows. */
  const revokeWith = (target: RevokeTarget, source: string, revokeOptions: RevokeOptions = {}) =>
    revokeUser(target, {
      store,
      revocations,
      messenger,
      afterRemove: channels.removeConnection,
      log,
      source,
      ...(revokeOptions.resolveUsername ? { resolveUsername: revokeOptions.resolveUsername } : {}),
    });

  /** `revoke`: the caller signs out everywhere, proving it with its current token (checked as for `reauth`). */
  async function revokeSelf(caller: ConnectionRecord, body: IncomingMessage["body"]): Promise<void> {
    const frame = parseClientFrame(ROUTE.revoke, body);
    await verifyCallerToken(caller, frame.token);
    // Every connection of the caller's, this one included, gets `revoked` and is closed.
    await revokeWith({ userId: caller.userId }, "self");
  }

  const channelCaller = (caller: ConnectionRecord): ChannelCaller => ({
    connectionId: caller.connectionId,
    userId: caller.userId,
    username: caller.username,
    groups: caller.groups,
    expireAt: Number.isFinite(caller.expireAt) ? caller.expireAt : expireAtFor(caller.connectedAt),
  });

  async function publish(caller: ConnectionRecord, body: IncomingMessage["body"]): Promise<void> {
    const frame = parseClientFrame(ROUTE.publish, body);
    const { seq, jobs } = await channels.publish(caller, sender(caller), frame.channel, frame.data);
    await reply(caller.connectionId, frames.published(frame.channel, seq, jobs));
  }

  return {
    async connect(input) {
      const cap = { maxConnections: limits.maxConnectionsPerUser };
      const { userId } = input.identity;
      let record = await store.register(input, cap);
      // At the cap: the count may hold connections whose `$disconnect` never came; repair, try once more.
      if (!record && (await recountConnections(userId, { store, messenger, now, log })) > 0) {
        record = await store.register(input, cap);
      }
      if (!record) {
        throw new LimitError(
          "too_many_connections",
          `at most ${limits.maxConnectionsPerUser} connections per user are open at once`,
        );
      }
      log.info("connected", {
        connectionId: record.connectionId,
        userId: record.userId,
        transport: record.transport,
        tokenExp: record.tokenExp,
      });
      return record;
    },

    async disconnect(connectionId) {
      await store.remove(connectionId);
      await channels.removeConnection(connectionId);
      log.info("disconnected", { connectionId });
    },

    async receive(route, message) {
      const { caller, throttled } = await callerOf(route, message);
      // `reauth` is how a client renews an expiring token, so it is let through; everything else on
      // a connection whose token has passed its `exp` is refused (and the caller closes it).
      if (route !== ROUTE.reauth && caller.tokenExp * 1000 <= now()) {
        throw new IdentityError("token_expired", "the token of this connection has expired");
      }
      if (throttled) {
        // A refused publish names its channel, as its other refusals do (clients match them to the call).
        const about =
          route === ROUTE.publish ? `publish ${parseClientFrame(ROUTE.publish, message.body).channel}: ` : "";
        throw new LimitError(
          "throttled",
          `${about}too many frames: at most ${frameWindow.max} per ${frameWindow.windowMs / 1000} s on ${RATE_LIMITED_ROUTES.join(", ")}; try again shortly`,
        );
      }
      switch (route) {
        case ROUTE.default:
          await reply(caller.connectionId, frames.echo(parseEchoBody(message.body)));
          return;
        case ROUTE.ping:
          parseClientFrame(ROUTE.ping, message.body);
          await reply(caller.connectionId, frames.pong());
          return;
        case ROUTE.whoami:
          return whoami(caller, message.body);
        case ROUTE.sendmessage:
          return sendmessage(caller, message.body);
        case ROUTE.reauth:
          return reauth(caller, message.body);
        case ROUTE.broadcast:
          return broadcast(caller, message.body);
        case ROUTE.subscribe: {
          const frame = parseClientFrame(ROUTE.subscribe, message.body);
          return channels.subscribe(channelCaller(caller), frame.channel, frame.since);
        }
        case ROUTE.unsubscribe:
          return channels.unsubscribe(channelCaller(caller), parseClientFrame(ROUTE.unsubscribe, message.body).channel);
        case ROUTE.publish:
          return publish(caller, message.body);
        case ROUTE.revoke:
          return revokeSelf(caller, message.body);
      }
    },

    reply,
    close: (connectionId) => messenger.disconnect(connectionId),

    sweep: (sweepOptions = {}) =>
      sweepConnections({ store, messenger, now, log, afterRemove: channels.removeConnection, ...sweepOptions }),
    notify: (input) => notifyUser(input, { store, channels, messenger, now, log }),
    async fanOutJob(input) {
      if (!options.fanOut) throw new WsAuthError("internal", "no fan-out is configured");
      return options.fanOut.runJob(input);
    },
    async revoke(input, revokeOptions = {}) {
      if (isEventBridgeEvent(input)) {
        const { eventName, target } = parseCognitoAdminEvent(input);
        if (!target) {
          log.warn("Cognito admin event names no user; nothing revoked", { eventName });
          return undefined;
        }
        return revokeWith(target, revokeOptions.source ?? eventName, revokeOptions);
      }
      return revokeWith(parseRevokeInput(input), revokeOptions.source ?? "api", revokeOptions);
    },
  };
}
