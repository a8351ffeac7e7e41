/**
 * Reconnect delays: exponential growth with "full jitter" (a uniformly random delay between 0 and the
 * exponential ceiling), so that many tabs that lost the same gateway do not all come back at once.
 */
export interface BackoffPolicy {
  /** Ceiling of the first retry. */
  baseMs: number;
  /** The ceiling never grows beyond this. */
  maxMs: number;
  /** Lower bound of every delay, so a tight loop is impossible even when `random()` returns 0. */
  minMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, minMs: 250 };

/** Delay before retry number `attempt` (1 for the first retry). `random` returns a number in [0, 1). */
export function backoffDelay(attempt: number, random: () => number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.max(policy.minMs, Math.round(random() * ceiling));
}
