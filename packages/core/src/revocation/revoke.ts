import pMap from "p-map";
import { z } from "zod";
import { isRevoked } from "../auth/revocation-check";
import type { ConnectionRecord, ConnectionStore } from "../connection/index";
import { REVOCATION } from "../constants/index";
import { InputError, WsAuthError } from "../errors/index";
import type { Log } from "../logging/index";
import type { Messenger } from "../messaging/index";
import { describeIssue, frames, TARGET_MAX_LENGTH } from "../protocol/index";
import type { RevocationStore } from "./store";

const name = z.string().trim().min(1).max(TARGET_MAX_LENGTH);

/** Input of `Revoke` (and of `pnpm ws revoke`): exactly one of the user id (`sub`) or the sign-in name. */
export const revokeInputSchema = z
  .strictObject({ userId: name.optional(), username: name.optional() })
  .refine((input) => (input.userId === undefined) !== (input.username === undefined), {
    message: "give exactly one of userId or username",
  });
export type RevokeTarget = { userId: string } | { username: string };

export interface RevokeReport {
  userId: string;
  /** ISO time before which every sign-in of the user is refused. */
  notBefore: string;
  /** Connections closed at once, and by the second look (accepted while the revocation spread). */
  closed: number;
  closedLater: number;
  /** Connections already gone at the gateway (their rows were deleted all the same). */
  gone: number;
  failed: number;
}

export interface RevokeDependencies {
  store: ConnectionStore;
  revocations: RevocationStore;
  messenger: Messenger;
  /** Removes a closed connection's channel rows (subscriptions, presence), as `$disconnect` does. */
  afterRemove: (connectionId: string) => Promise<void>;
  log: Log;
  /** Who asked (`cli`, `self`, `api`, a CloudTrail event name); kept on the record and logged. */
  source?: string;
  /** Resolves a sign-in name the registry does not know (the CLI asks Cognito); default: none. */
  resolveUsername?: (username: string) => Promise<string | undefined>;
  /** Delay of the second look; default REVOCATION.secondPassMs (0 skips it). */
  secondPassMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function userIdOf(target: RevokeTarget, deps: RevokeDependencies): Promise<string> {
  if ("userId" in target) return target.userId;
  const resolved =
    (await deps.store.resolveUsername(target.username)) ?? (await deps.resolveUsername?.(target.username));
  if (resolved === undefined) {
    throw new InputError(
      "validation_failed",
      "no user the registry knows signs in with that name (no connection in the last hours): give the user id (sub)",
    );
  }
  return resolved;
}

/**
 * Revokes a user: writes their record (every token signed in before now is refused by the authorizer,
 * `reauth` and `broadcast`), then closes every live connection of theirs at once, each told why with a
 * `revoked` frame, its row and channel rows deleted as on `$disconnect`. A connection accepted while
 * the record spread (a warm authorizer's cached lookup, the by-user index catching up) is closed by a
 * second look REVOCATION.secondPassMs later; connections of a sign-in after the revocation are kept.
 */
export async function revokeUser(target: RevokeTarget, deps: RevokeDependencies): Promise<RevokeReport> {
  const userId = await userIdOf(target, deps);
  const record = await deps.revocations.revoke(userId, deps.source);
  const report: RevokeReport = {
    userId,
    notBefore: new Date(record.notBefore * 1000).toISOString(),
    closed: 0,
    closedLater: 0,
    gone: 0,
    failed: 0,
  };
  const frame = frames.revoked(record.notBefore);

  async function close(connections: ConnectionRecord[], counter: "closed" | "closedLater"): Promise<void> {
    await pMap(
      connections,
      async (connection) => {
        try {
          await deps.messenger.toConnection(connection.connectionId, frame);
          const outcome = await deps.messenger.disconnect(connection.connectionId);
          report[counter] += 1;
          if (outcome === "gone") report.gone += 1;
          await deps.afterRemove(connection.connectionId);
        } catch (error) {
          report.failed += 1;
          deps.log.error("revocation could not close a connection", {
            code: error instanceof WsAuthError ? error.code : "internal",
            connectionId: connection.connectionId,
            error,
          });
        }
      },
      { concurrency: 8 },
    );
  }

  await close(await deps.store.listByUser(userId), "closed");
  const secondPassMs = deps.secondPassMs ?? REVOCATION.secondPassMs;
  if (secondPassMs > 0) {
    await (deps.sleep ?? defaultSleep)(secondPassMs);
    const late = (await deps.store.listByUser(userId)).filter((connection) =>
      isRevoked(connection.authTime, record.notBefore),
    );
    await close(late, "closedLater");
  }
  deps.log.info("user revoked", { source: deps.source, ...report });
  return report;
}

/** Parses `Revoke`'s plain input (`{userId}` or `{username}`). */
export function parseRevokeInput(input: unknown): RevokeTarget {
  const parsed = revokeInputSchema.safeParse(input);
  if (!parsed.success) throw new InputError("validation_failed", describeIssue(parsed.error, "input"));
  const { userId, username } = parsed.data;
  return userId !== undefined ? { userId } : { username: username ?? "" };
}
