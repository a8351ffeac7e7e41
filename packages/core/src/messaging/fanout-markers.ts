import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Entity } from "electrodb";
import { CONNECTION_SERVICE, CONNECTIONS_TABLE, FANOUT } from "../constants/index";
import { DependencyError } from "../errors/index";

/**
 * Progress of fan-out jobs, for idempotent retries: one short-lived row per job (in the connections
 * table, its own key space) holding the ids of the connections the job has already sent to. A retried
 * job reads it once and skips them. It is written in batches while the job sends (one write carries
 * every send that completed while the previous write was in flight), never once per message.
 */
export interface FanOutMarkers {
  /** Connection ids the job has already sent to (empty for a new job). */
  done(jobId: string): Promise<ReadonlySet<string>>;
  /** Adds connection ids the job has sent to. */
  record(jobId: string, connectionIds: readonly string[]): Promise<void>;
}

const { primaryIndex, ttl } = CONNECTIONS_TABLE;

function createMarkerEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "fanoutjob", version: "1" },
      attributes: {
        jobId: { type: "string", required: true, readOnly: true },
        done: { type: "set", items: "string" },
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
    async done(jobId) {
      try {
        const { data } = await markers.get({ jobId }).go();
        return new Set(data && data.expireAt * 1000 > now() ? (data.done ?? []) : []);
      } catch (error) {
        throw new DependencyError("connections table: read fan-out job marker failed", { cause: error });
      }
    },
    async record(jobId, connectionIds) {
      if (connectionIds.length === 0) return;
      try {
        await markers
          .update({ jobId })
          .add({ done: [...connectionIds] })
          .set({ expireAt: Math.floor(now() / 1000) + FANOUT.markerTtlSeconds })
          .go({ response: "none" });
      } catch (error) {
        throw new DependencyError("connections table: write fan-out job marker failed", { cause: error });
      }
    },
  };
}
