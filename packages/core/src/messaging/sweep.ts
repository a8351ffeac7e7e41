import pMap from "p-map";
import type { ConnectionStore } from "../connection/index";
import { LIMITS } from "../constants/index";
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
  failed: number;
}

export interface SweepOptions {
  store: ConnectionStore;
  messenger: Messenger;
  /** Clock in epoch milliseconds. */
  now: () => number;
  log: Log;
  /** What else to clean up once a connection's row is deleted (its channel subscriptions and presence). */
  afterRemove?: (connectionId: string) => Promise<void>;
}

/**
 * The scheduled sweep: closes connections whose token expired or that outlived the lifetime cap, and
 * deletes rows past `expireAt` (DynamoDB's TTL deletes late, and dynalite never). `$disconnect` may
 * never arrive on AWS, so this, TTL and the 410 pruning of sends keep the registry honest.
 */
export async function sweepConnections({
  store,
  messenger,
  now,
  log,
  afterRemove = async () => {},
}: SweepOptions): Promise<SweepReport> {
  const report: SweepReport = { scanned: 0, expired: 0, closed: 0, gone: 0, failed: 0 };
  const nowMs = now();
  for await (const page of store.walk({ includeExpired: true })) {
    await pMap(
      page,
      async (record) => {
        report.scanned += 1;
        try {
          if (record.expireAt * 1000 <= nowMs) {
            await store.remove(record.connectionId);
            report.expired += 1;
            await afterRemove(record.connectionId);
          } else if (record.tokenExp * 1000 <= nowMs || record.connectedAt + LIMITS.connectionLifetimeMs <= nowMs) {
            const tokenExpired = record.tokenExp * 1000 <= nowMs;
            if (tokenExpired) {
              await messenger.toConnection(
                record.connectionId,
                frames.error("token_expired", "the token of this connection has expired"),
              );
            }
            const outcome = await messenger.disconnect(record.connectionId);
            report.closed += 1;
            if (outcome === "gone") report.gone += 1;
            await afterRemove(record.connectionId);
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
  }
  log.info("sweep finished", { ...report });
  return report;
}
