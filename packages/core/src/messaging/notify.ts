import { z } from "zod";
import type { ConnectionStore } from "../connection/index";
import { InputError } from "../errors/index";
import type { Log } from "../logging/index";
import {
  assertDataSize,
  describeIssue,
  frames,
  type JsonValue,
  SYSTEM_SENDER,
  TARGET_MAX_LENGTH,
} from "../protocol/index";
import type { DeliveryReport, Messenger } from "./messenger";

/** Input of `notify` (backend services pushing to a user). */
export const notifyInputSchema = z
  .strictObject({
    userId: z.string().trim().min(1).max(TARGET_MAX_LENGTH).optional(),
    username: z.string().trim().min(1).max(TARGET_MAX_LENGTH).optional(),
    data: z.json(),
  })
  .refine((input) => (input.userId === undefined) !== (input.username === undefined), {
    message: "give exactly one of userId or username",
  });
export type NotifyInput = z.infer<typeof notifyInputSchema>;

export interface NotifyOptions {
  store: ConnectionStore;
  messenger: Messenger;
  /** Clock in epoch milliseconds. */
  now: () => number;
  log: Log;
}

/**
 * `notify`: a backend service pushes `data` to every live connection of one user, as a `message` from
 * `system`. Input is validated here (it arrives from an IAM-invoked Lambda, not from a socket).
 */
export async function notifyUser(
  input: unknown,
  { store, messenger, now, log }: NotifyOptions,
): Promise<DeliveryReport> {
  const parsed = notifyInputSchema.safeParse(input);
  if (!parsed.success) throw new InputError("validation_failed", describeIssue(parsed.error, "input"));
  const { userId, username, data } = parsed.data;
  assertDataSize(data);
  // An explicit `userId` names a user id only, never someone signing in with that string.
  const targets = userId !== undefined ? await store.listByUser(userId) : await store.listForTarget(username ?? "");
  const report = await messenger.toConnections(targets, frames.message(SYSTEM_SENDER, data as JsonValue, now()));
  log.info("notified", { by: userId === undefined ? "username" : "userId", ...report });
  return report;
}
