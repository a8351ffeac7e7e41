import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff";

describe("backoffDelay", () => {
  it("grows exponentially up to the cap when jitter is at its top", () => {
    const top = () => 0.999_999;
    const delays = [1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => backoffDelay(attempt, top));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it("spreads retries with full jitter but never below the floor", () => {
    expect(backoffDelay(5, () => 0)).toBe(DEFAULT_BACKOFF.minMs);
    expect(backoffDelay(5, () => 0.5)).toBe(8_000);
  });

  it("survives absurd attempt numbers", () => {
    expect(backoffDelay(10_000, () => 0.999_999)).toBe(DEFAULT_BACKOFF.maxMs);
    expect(backoffDelay(0, () => 0.999_999)).toBe(1_000);
  });

  it("keeps every jittered delay within [floor, exponential ceiling]", () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const ceiling = Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.baseMs * 2 ** (attempt - 1));
      const delays = new Set<number>();
      for (let step = 0; step < 1_000; step += 1) {
        const delay = backoffDelay(attempt, () => step / 1_000);
        expect(delay).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.minMs);
        expect(delay).toBeLessThanOrEqual(ceiling);
        delays.add(delay);
      }
      // Jitter spreads the retries over the whole window instead of one instant.
      expect(Math.min(...delays)).toBe(DEFAULT_BACKOFF.minMs);
      expect(Math.max(...delays)).toBeGreaterThan(ceiling * 0.99);
      expect(delays.size).toBeGreaterThan(Math.min(100, (ceiling - DEFAULT_BACKOFF.minMs) / 10));
    }
  });
});
