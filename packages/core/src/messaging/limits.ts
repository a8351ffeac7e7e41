import pMap from "p-map";
import type { ConnectionStore } from "../connection/index";
import { ABUSE_LIMITS, ABUSE_LIMITS_ENV } from "../constants/index";
import { WsAuthError } from "../errors/index";
import type { Log } from "../logging/index";
import type { Messenger } from "./messenger";

/** The abuse limits a deployment runs with (ABUSE_LIMITS, overridden by ABUSE_LIMITS_ENV). */
export interface AbuseLimits {
  maxConnectionsPerUser: number;
  message: { ratePerSecond: number; burst: number };
}

/** A positive integer setting, or the default; anything else is a configuration fault. */
function positiveInteger(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new WsAuthError("internal", `${name} must be a positive integer (got "${raw}")`);
  }
  return value;
}

/** ABUSE_LIMITS with the overrides set in `env` (the handlers' environment, forwarded by infra). */
export function abuseLimitsFromEnv(env: Record<string, string | undefined> = process.env): AbuseLimits {
  return {
    maxConnectionsPerUser: positiveInteger(
      env,
      ABUSE_LIMITS_ENV.maxConnectionsPerUser,
      ABUSE_LIMITS.maxConnectionsPerUser,
    ),
    message: {
      ratePerSecond: positiveInteger(env, ABUSE_LIMITS_ENV.messageRatePerSecond, ABUSE_LIMITS.message.ratePerSecond),
      burst: positiveInteger(env, ABUSE_LIMITS_ENV.messageBurst, ABUSE_LIMITS.message.burst),
    },
  };
}

/** The fixed window that admits `burst` frames and averages `ratePerSecond`. */
export function frameWindowOf(limits: AbuseLimits): { windowMs: number; max: number } {
  const { ratePerSecond, burst } = limits.message;
  return { windowMs: Math.round((burst / ratePerSecond) * 1000), max: burst };
}

export interface RecountOptions {
  store: ConnectionStore;
  messenger: Messenger;
  now: () => number;
  log: Log;
}

/**
 * Drift repair of a user's connection count, run when a `$connect` finds the user at the cap.
 * `$disconnect` may never arrive on AWS, and a connect may fail between counting and writing its row,
 * so the count can hold connections that are gone. Each counted connection older than
 * ABUSE_LIMITS.pendingConnectMs (younger ones may still be inside their `$connect`) is checked: no
 * live row means it is no longer counted; a row is checked with the gateway (`GetConnection`), and
 * one the gateway no longer knows is pruned with its row and channel rows, as a 410 on a send would.
 * Resolves how many were dropped.
 */
export async function recountConnections(userId: string, options: RecountOptions): Promise<number> {
  const { store, messenger, log } = options;
  const nowMs = options.now();
  const counted = await store.countedConnections(userId);
  let dropped = 0;
  await pMap(
    counted,
    async (slot) => {
      if (slot.connectedAt + ABUSE_LIMITS.pendingConnectMs > nowMs) return;
      const row = await store.get(slot.connectionId);
      if (row && row.userId === userId && (await messenger.isConnected(slot.connectionId))) return;
      // A gone connection was pruned by `isConnected` (row, count and channel rows); the rest had no row.
      await store.uncount(userId, slot);
      dropped += 1;
    },
    { concurrency: 4 },
  );
  log.info("connection count repaired", { userId, counted: counted.length, dropped });
  return dropped;
}
