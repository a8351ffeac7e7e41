import { describe, expect, it } from "vitest";
import { VerifiedTokenCache } from "./token-cache";

describe("VerifiedTokenCache", () => {
  it("serves an entry only before the token's exp", () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set("t", "identity", 1000);
    expect(cache.get("t", 999.5)).toBe("identity");
    expect(cache.get("t", 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("stays within its bound, evicting the oldest entry", () => {
    const cache = new VerifiedTokenCache<number>(3);
    for (let index = 0; index < 5; index += 1) cache.set(`t${index}`, index, 2000);
    expect(cache.size).toBe(3);
    expect(cache.get("t0", 1)).toBeUndefined();
    expect(cache.get("t1", 1)).toBeUndefined();
    expect(cache.get("t4", 1)).toBe(4);
  });

  it("caches nothing when disabled", () => {
    const cache = new VerifiedTokenCache<number>(0);
    cache.set("t", 1, 2000);
    expect(cache.get("t", 1)).toBeUndefined();
  });
});
