import type { Fetcher } from "aws-jwt-verify/https";
import { assertIsJwks, type Jwks } from "aws-jwt-verify/jwk";
import { DependencyError } from "../errors/index";

/** The JWKS endpoint could not be reached, timed out, or answered with something other than 200. */
export class JwksFetchError extends DependencyError {}

export interface JwksFetcherOptions {
  /** Whole-request budget; past it the request is aborted and verification denies. */
  timeoutMs: number;
  /** After a failed fetch, further fetches of the same URI fail at once for this long. */
  failureCooldownMs: number;
  /** Largest JWKS body accepted (a JWKS is a few KB). */
  maxBytes: number;
}

/**
 * Fetches a JWKS over http or https with a hard timeout. aws-jwt-verify's default fetcher only
 * speaks https; the local Cognito emulator serves http on loopback (the config guard keeps that path
 * off deployed stages). After a failure it fails fast for a short cooldown, so an endpoint outage
 * cannot turn every request into a slow timeout.
 */
export class JwksFetcher implements Fetcher {
  readonly #options: JwksFetcherOptions;
  readonly #failedUntil = new Map<string, number>();

  constructor(options: JwksFetcherOptions) {
    this.#options = options;
  }

  async fetch(uri: string): Promise<ArrayBuffer> {
    const failedUntil = this.#failedUntil.get(uri);
    if (failedUntil !== undefined && Date.now() < failedUntil) {
      throw new JwksFetchError("JWKS endpoint failed recently; not retrying yet");
    }
    try {
      const body = await this.#fetchOnce(uri);
      this.#failedUntil.delete(uri);
      return body;
    } catch (error) {
      this.#failedUntil.set(uri, Date.now() + this.#options.failureCooldownMs);
      if (error instanceof JwksFetchError) throw error;
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw new JwksFetchError(
        timedOut ? `JWKS request timed out after ${this.#options.timeoutMs} ms` : "JWKS request failed",
        { cause: error },
      );
    }
  }

  async #fetchOnce(uri: string): Promise<ArrayBuffer> {
    const response = await fetch(uri, {
      signal: AbortSignal.timeout(this.#options.timeoutMs),
      headers: { accept: "application/json" },
      redirect: "error",
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new JwksFetchError(`JWKS endpoint answered ${response.status}`);
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > this.#options.maxBytes) {
      await response.body?.cancel();
      throw new JwksFetchError(`JWKS body too large (${declared} bytes)`);
    }
    const body = await response.arrayBuffer();
    if (body.byteLength > this.#options.maxBytes) throw new JwksFetchError("JWKS body too large");
    return body;
  }
}

/** Parses a JWKS snapshot (JSON text). Throws with a message naming the problem when it is not a JWKS. */
export function parseJwksSnapshot(text: string): Jwks {
  // JSON.parse yields JSON by definition; the library's `Json` type just says so.
  const value = JSON.parse(text) as Parameters<typeof assertIsJwks>[0];
  assertIsJwks(value);
  return value;
}
