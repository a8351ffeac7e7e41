import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { notBeforeOfItem } from "../auth/index";
import type { NotBeforeSource } from "../auth/revocation-check";
import { REVOCATION } from "../constants/index";
import { DependencyError } from "../errors/index";
import { createRevocationEntity } from "./schema";

export interface RevocationRecord {
  userId: string;
  /** Epoch seconds: tokens signed in before it are refused. */
  notBefore: number;
  /** Epoch milliseconds. */
  revokedAt: number;
  source?: string;
}

/** The revocation records, through ElectroDB (route handlers, `Revoke`, the CLI). */
export interface RevocationStore extends NotBeforeSource {
  /** The user's `notBefore`, or `undefined` without a live record (one strongly consistent GetItem). */
  notBefore(userId: string): Promise<number | undefined>;
  /**
   * Writes the user's record: every token signed in up to this second is refused from now on (a
   * sign-in in the same second as the revocation is refused too; the next second's is not).
   */
  revoke(userId: string, source?: string): Promise<RevocationRecord>;
}

export interface RevocationStoreOptions {
  tableName: string;
  client?: DynamoDBClient;
  /** Clock in epoch milliseconds. */
  now?: () => number;
}

export function createRevocationStore(options: RevocationStoreOptions): RevocationStore {
  const client = options.client ?? new DynamoDBClient({});
  const now = options.now ?? Date.now;
  const records = createRevocationEntity(client, options.tableName);
  return {
    async notBefore(userId) {
      let data: { notBefore?: number; expireAt?: number } | null;
      try {
        ({ data } = await records.get({ userId, scope: "user" }).go({ consistent: true }));
      } catch (error) {
        throw new DependencyError("connections table: read revocation failed", { cause: error });
      }
      if (!data) return undefined;
      return notBeforeOfItem(
        { notBefore: { N: String(data.notBefore) }, expireAt: { N: String(data.expireAt) } },
        Math.floor(now() / 1000),
      );
    },

    async revoke(userId, source) {
      const revokedAt = now();
      const notBefore = Math.floor(revokedAt / 1000) + 1;
      const record: RevocationRecord = { userId, notBefore, revokedAt, ...(source ? { source } : {}) };
      try {
        await records.put({ ...record, scope: "user", expireAt: notBefore + REVOCATION.recordTtlSeconds }).go();
      } catch (error) {
        throw new DependencyError("connections table: write revocation failed", { cause: error });
      }
      return record;
    },
  };
}
