import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Entity } from "electrodb";
import { CONNECTION_SERVICE, CONNECTIONS_TABLE, FANOUT } from "../constants/index";
import { DependencyError } from "../errors/index";

/**
 * Progress of fan-out jobs, for idempotent retries: one short-lived row per job (in the connections
 * table, its own key space) holding which of the job's connections it has already sent to, as one
 * bit per position in the job's `connectionIds` (a retry gets the same job, so positions are stable).
 * 500 positions are 63 bytes, so every write of the row stays one write unit, where a set of ids grew
 * to about 8 KB (8 units per write). A retried job reads it once and skips what is set. It is written
 * while the job sends, at most one write in flight, each carrying the whole progress so far (so a
 * later write never loses an earlier one's bits), never once per message.
 */
export type JobProgress = Uint8Array;

/** No position sent to yet, for a job of `size` connections. */
export function emptyProgress(size: number): JobProgress {
  return new Uint8Array(Math.ceil(size / 8));
}

export function hasSent(progress: JobProgress, position: number): boolean {
  return ((progress[position >> 3] ?? 0) & (1 << (position & 7))) !== 0;
}

export function markSent(progress: JobProgress, position: number): void {
  const byte = position >> 3;
  if (byte >= 0 && byte < progress.length) progress[byte] = (progress[byte] ?? 0) | (1 << (position & 7));
}

export interface FanOutMarkers {
  /** What a previous run of the job recorded (empty for a new job). */
  done(jobId: string, size: number): Promise<JobProgress>;
  /** Writes the job's progress so far (it replaces the previous record, of which it is a superset). */
  record(jobId: string, progress: JobProgress): Promise<void>;
}

const { primaryIndex, ttl } = CONNECTIONS_TABLE;

function createMarkerEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "fanoutjob", version: "2" },
      attributes: {
        jobId: { type: "string", required: true, readOnly: true },
        /** The progress bitmap, base64. */
        sent: { type: "string" },
        /** TTL attribute, epoch seconds. */
        expireAt: { type: "number", required: true, field: ttl },
      },
      indexes: {
        primary: {
          pk: { field: primaryIndex.hashKey, composite: ["jobId"], casing: "none" },
          sk: { field: primaryIndex.rangeKey, composite: [], casing: "none" },
        },
      },
    },
    { client, table },
  );
}

export function createFanOutMarkers(options: {
  client: DynamoDBClient;
  tableName: string;
  now?: () => number;
}): FanOutMarkers {
  const markers = createMarkerEntity(options.client, options.tableName);
  const now = options.now ?? Date.now;
  return {
    async done(jobId, size) {
      let stored: { sent?: string | undefined; expireAt: number } | null;
      try {
        ({ data: stored } = await markers.get({ jobId }).go());
      } catch (error) {
        throw new DependencyError("connections table: read fan-out job marker failed", { cause: error });
      }
      const progress = emptyProgress(size);
      if (stored?.sent && stored.expireAt * 1000 > now()) {
        const bits = Buffer.from(stored.sent, "base64");
        // A marker of another shape cannot be this job's: start from nothing sent.
        if (bits.length === progress.length) progress.set(bits);
      }
      return progress;
    },
    async record(jobId, progress) {
      const sent = Buffer.from(progress).toString("base64");
      try {
        await markers
          .update({ jobId })
          .set({ sent, expireAt: Math.floor(now() / 1000) + FANOUT.markerTtlSeconds })
          .go({ response: "none" });
      } catch (error) {
        throw new DependencyError("connections table: write fan-out job marker failed", { cause: error });
      }
    },
  };
}
