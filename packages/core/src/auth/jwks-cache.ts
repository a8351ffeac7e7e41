import {
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
} from "aws-jwt-verify/error";
import type { Fetcher } from "aws-jwt-verify/https";
import { findJwkInJwks, type Jwks, type JwksCache, type JwkWithKid, type PenaltyBox } from "aws-jwt-verify/jwk";
import type { DecomposedJwt } from "aws-jwt-verify/jwt";
import { parseJwksSnapshot } from "./jwks";

/**
 * How long a key set is trusted. After `refreshAfterMs` the next verification starts a refetch in
 * the background and keeps using the current set until the new one arrives; a set older than
 * `maxAgeMs` (the refreshes kept failing) is no longer used at all, and verification fetches it inline
 * (failing closed while the endpoint is down). A key removed from the pool's JWKS is therefore refused
 * within `refreshAfterMs` plus one fetch.
 */
export interface JwksLifetime {
  refreshAfterMs: number;
  maxAgeMs: number;
  /** After a failed background refresh, the next one starts no sooner than this. */
  retryAfterMs: number;
}

export interface RefreshingJwksCacheOptions {
  fetcher: Fetcher;
  penaltyBox: PenaltyBox;
  lifetime: JwksLifetime;
  /** Called when a fetched set differs from the one it replaces (keys may have been removed). */
  onKeysChanged?: (jwksUri: string) => void;
  /** Called when a background refresh fails (the current set stays in use). */
  onRefreshFailed?: (jwksUri: string, error: unknown, ageMs: number) => void;
}

interface Entry {
  jwks: Jwks;
  text: string;
  loadedAt: number;
}

/**
 * aws-jwt-verify's JWKS cache keeps a key set forever (it refetches only for an unknown `kid`), so a
 * key the pool retired stayed trusted until the next deploy. This one implements the library's
 * `JwksCache` contract, with the same penalty box for unknown `kid`s, and lets a key set age out.
 */
export class RefreshingJwksCache implements JwksCache {
  readonly #options: RefreshingJwksCacheOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #fetching = new Map<string, Promise<Jwks>>();
  readonly #lastBackgroundAttempt = new Map<string, number>();

  constructor(options: RefreshingJwksCacheOptions) {
    this.#options = options;
  }

  addJwks(jwksUri: string, jwks: Jwks): void {
    this.#store(jwksUri, jwks, Date.now());
  }

  /**
   * Treats every cached set as due for a refresh (still usable until `maxAgeMs`): for a snapshot
   * taken at deploy time, whose age is unknown. The first verification then refetches in the background.
   */
  markStale(): void {
    const due = Date.now() - this.#options.lifetime.refreshAfterMs;
    for (const entry of this.#entries.values()) entry.loadedAt = Math.min(entry.loadedAt, due);
  }

  /**
   * Starts the background refresh of every set that is due, for callers that answer without looking a
   * key up (the verified-token cache). False when a set is past `maxAgeMs`: nothing verified with it
   * may be trusted any longer.
   */
  refreshIfDue(): boolean {
    const now = Date.now();
    const { lifetime } = this.#options;
    let usable = true;
    for (const [jwksUri, entry] of this.#entries) {
      const age = now - entry.loadedAt;
      if (age >= lifetime.maxAgeMs) usable = false;
      else if (age >= lifetime.refreshAfterMs) this.#refreshInBackground(jwksUri, age);
    }
    return usable;
  }

  getJwks(jwksUri: string): Promise<Jwks> {
    const running = this.#fetching.get(jwksUri);
    if (running) return running;
    const fetching = this.#options.fetcher
      .fetch(jwksUri)
      .then((body) => {
        const jwks = parseJwksBody(body);
        this.#store(jwksUri, jwks, Date.now());
        return jwks;
      })
      .finally(() => this.#fetching.delete(jwksUri));
    this.#fetching.set(jwksUri, fetching);
    return fetching;
  }

  getCachedJwk(jwksUri: string, decomposedJwt: DecomposedJwt): JwkWithKid {
    const kid = kidOf(decomposedJwt);
    const entry = this.#usable(jwksUri);
    if (!entry) throw new JwksNotAvailableInCacheError(`JWKS for uri ${jwksUri} not yet available in cache`);
    const jwk = findJwkInJwks(entry.jwks, kid);
    if (!jwk) throw new KidNotFoundInJwksError(`JWK for kid ${kid} not found in the JWKS`);
    return jwk;
  }

  async getJwk(jwksUri: string, decomposedJwt: DecomposedJwt): Promise<JwkWithKid> {
    const kid = kidOf(decomposedJwt);
    const entry = this.#usable(jwksUri);
    const cached = entry ? findJwkInJwks(entry.jwks, kid) : undefined;
    if (cached) return cached;
    // An unknown kid: refetch, at most once per penalty period per kid (no flooding the endpoint).
    const { penaltyBox } = this.#options;
    await penaltyBox.wait(jwksUri, kid);
    const jwk = findJwkInJwks(await this.getJwks(jwksUri), kid);
    if (!jwk) {
      penaltyBox.registerFailedAttempt(jwksUri, kid);
      throw new KidNotFoundInJwksError(`JWK for kid "${kid}" not found in the JWKS`);
    }
    penaltyBox.registerSuccessfulAttempt(jwksUri, kid);
    return jwk;
  }

  /** The set for `jwksUri` if it may still be used; starts a background refresh when it is due. */
  #usable(jwksUri: string): Entry | undefined {
    const entry = this.#entries.get(jwksUri);
    if (!entry) return undefined;
    const { lifetime } = this.#options;
    const age = Date.now() - entry.loadedAt;
    if (age >= lifetime.maxAgeMs) return undefined;
    if (age >= lifetime.refreshAfterMs) this.#refreshInBackground(jwksUri, age);
    return entry;
  }

  #refreshInBackground(jwksUri: string, age: number): void {
    if (this.#fetching.has(jwksUri)) return;
    const now = Date.now();
    const last = this.#lastBackgroundAttempt.get(jwksUri);
    if (last !== undefined && now - last < this.#options.lifetime.retryAfterMs) return;
    this.#lastBackgroundAttempt.set(jwksUri, now);
    this.getJwks(jwksUri).catch((error: unknown) => this.#options.onRefreshFailed?.(jwksUri, error, age));
  }

  #store(jwksUri: string, jwks: Jwks, loadedAt: number): void {
    const text = JSON.stringify(jwks);
    const previous = this.#entries.get(jwksUri);
    this.#entries.set(jwksUri, { jwks, text, loadedAt });
    this.#lastBackgroundAttempt.delete(jwksUri);
    if (previous && previous.text !== text) this.#options.onKeysChanged?.(jwksUri);
  }
}

/** A fetched body as a JWKS; anything else is a JwksValidationError (reported as `jwks_invalid`). */
function parseJwksBody(body: ArrayBuffer): Jwks {
  try {
    return parseJwksSnapshot(new TextDecoder().decode(body));
  } catch (error) {
    if (error instanceof JwksValidationError) throw error;
    throw new JwksValidationError(`JWKS is not valid JSON: ${error instanceof Error ? error.message : "unparseable"}`);
  }
}

function kidOf(decomposedJwt: DecomposedJwt): string {
  const { kid } = decomposedJwt.header;
  if (typeof kid !== "string") throw new JwtWithoutValidKidError("JWT header does not have valid kid claim");
  return kid;
}
