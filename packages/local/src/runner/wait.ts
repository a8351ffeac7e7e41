import { setTimeout as sleep } from "node:timers/promises";
import { LocalStackError } from "./errors";

const POLL_INTERVAL_MS = 200;

/**
 * Polls `url` until it answers HTTP at all (any status counts: the server is up), `isDead()` says the
 * server is gone, or `timeoutMs` passes.
 */
export async function waitForHttp(
  url: string,
  options: { name: string; timeoutMs: number; isDead?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    const death = options.isDead?.();
    if (death)
      throw new LocalStackError(`${options.name} stopped before it answered: ${death}`, "see its output above");
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
      await response.body?.cancel();
      return;
    } catch (error) {
      lastError = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : "";
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new LocalStackError(
    `${options.name} did not answer at ${url} within ${Math.round(options.timeoutMs / 1000)} s (${lastError})`,
    "check its output above; on a busy machine retry once the first build has finished",
  );
}
