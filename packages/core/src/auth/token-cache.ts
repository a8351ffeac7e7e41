/**
 * A bounded cache of verified tokens, keyed by the exact token string (signature included), so a
 * reconnect storm with one token costs one signature check. An entry is never served at or after
 * the token's own `exp`. Hand-written rather than a general LRU library because it is a dozen lines
 * and the authorizer bundle has a tight size budget; eviction is oldest-inserted first, which is
 * enough for a cache whose entries all expire within the token lifetime anyway.
 */
export class VerifiedTokenCache<Value> {
  readonly #entries = new Map<string, { value: Value; expiresAtSeconds: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0)
      throw new RangeError("maxEntries must be a non-negative integer");
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value if present and `nowSeconds` is before its expiry; drops expired entries. */
  get(key: string, nowSeconds: number): Value | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (nowSeconds >= entry.expiresAtSeconds) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores a value until `expiresAtSeconds` (the token's `exp`), evicting the oldest entry when full. */
  set(key: string, value: Value, expiresAtSeconds: number): void {
    if (this.#maxEntries === 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAtSeconds });
  }

  clear(): void {
    this.#entries.clear();
  }
}
