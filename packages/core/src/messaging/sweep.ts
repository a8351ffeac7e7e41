import pMap from "p-map";
import { CONNECTION_SHARDS, type ConnectionRecord, type ConnectionStore } from "../connection/index";
import { LIMITS, SWEEP } from "../constants/index";
import { WsAuthError } from "../errors/index";
import type { Log } from "../logging/index";
import { frames } from "../protocol/index";
import type { Messenger } from "./messenger";

export interface SweepReport {
  /** Rows looked at. */
  scanned: number;
  /** Rows past `expireAt` deleted. */
  expired: number;
  /** Connections past their token's `exp` or the lifetime cap, closed and deleted. */
  closed: number;
  /** Of those, already gone at the gateway. */
  gone: number;
  /** Rows read with an expired token that a `reauth` renewed before the sweep acted: left open. */
  renewed: number;
  failed: number;
  /** True when the run stopped before the last shard to stay inside its invocation's time. */
  stoppedEarly: boolean;
}

export interface SweepOptions {
  store: ConnectionStore;
  messenger: Messenger;
  /** Clock in epoch milliseconds. */
  now: () => number;
  log: Log;
  /** What else to clean up once a connection's row is deleted (its channel subscriptions and presence). */
  afterRemove?: (connectionId: string) => Promise<void>;
  /** Time left in this invocation (Lambda's `context.getRemainingTimeInMillis`); unbounded if absent. */
  remainingTimeMs?: () => number;
}

/**
 * The scheduled sweep: closes connections whose token expired or that outlived the lifetime cap, and
 * deletes rows past `expireAt` (DynamoDB's TTL deletes late, and dynalite never). `$disconnect` may
 * never arrive on AWS, so this, TTL and the 410 pruning of sends keep the registry honest.
 *
 * It never closes a connection that has just re-authenticated: a row with an expired token is deleted
 * only through a conditional delete (`tokenExp <= now`), and the gateway is asked to close the
 * connection only when that delete succeeded. It stops taking pages when its invocation is nearly out
 * of time (SWEEP.reserveMs), and each run starts at the next shard in turn, so a backlog after an
 * outage cannot starve the later shards.
 */
export async function sweepConnections({
  store,
  messenger,
  now,
  log,
  afterRemove = async () => {},
  remainingTimeMs,
}: SweepOptions): Promise<SweepReport> {
  const report: SweepReport = {
    scanned: 0,
    expired: 0,
    closed: 0,
    gone: 0,
    renewed: 0,
    failed: 0,
    stoppedEarly: false,
  };
  const nowMs = now();
  const nowSeconds = Math.floor(nowMs / 1000);
  const remaining = remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const startShard = Math.floor(nowMs / SWEEP.intervalMs) % CONNECTION_SHARDS;

  /** A connection whose token had expired when its page was read: closed only if it still has. */
  async function closeExpiredToken(record: ConnectionRecord): Promise<void> {
    if (!(await store.removeIfTokenExpired(record.connectionId, nowSeconds))) {
      report.renewed += 1;
      return;
    }
    await messenger.toConnection(
      record.connectionId,
      frames.error("token_expired", "the token of this connection has expired"),
    );
    const outcome = await messenger.disconnect(record.connectionId, { rowRemoved: true });
    report.closed += 1;
    if (outcome === "gone") report.gone += 1;
    await afterRemove(record.connectionId);
  }

  for await (const page of store.walk({ includeExpired: true, startShard })) {
    await pMap(
      page,
      async (record) => {
        report.scanned += 1;
        try {
          if (record.expireAt * 1000 <= nowMs) {
            await store.remove(record.connectionId);
            report.expired += 1;
            await afterRemove(record.connectionId);
          } else if (record.connectedAt + LIMITS.connectionLifetimeMs <= nowMs) {
            // Past the lifetime cap: no `reauth` extends that, so no condition is needed.
            const outcome = await messenger.disconnect(record.connectionId);
            report.closed += 1;
            if (outcome === "gone") report.gone += 1;
            await afterRemove(record.connectionId);
          } else if (record.tokenExp <= nowSeconds) {
            await closeExpiredToken(record);
          }
        } catch (error) {
          report.failed += 1;
          log.error("sweep could not close a connection", {
            code: error instanceof WsAuthError ? error.code : "internal",
            connectionId: record.connectionId,
            error,
          });
        }
      },
      { concurrency: 8 },
    );
    if (remaining() < SWEEP.reserveMs) {
      report.stoppedEarly = true;
      break;
    }
  }
  log.info("sweep finished", { ...report, startShard });
  return report;
}
