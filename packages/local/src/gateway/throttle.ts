import type { RouteKey } from "@wsauth/core/constants";

/** A stage's throttling as API Gateway takes it: default route settings and per-route overrides. */
export interface StageThrottle {
  default: ThrottleSettings;
  routes?: Readonly<Partial<Record<RouteKey | string, ThrottleSettings>>>;
}

export interface ThrottleSettings {
  /** Requests per second the bucket refills with. */
  rateLimit: number;
  /** Bucket size: requests that may arrive at once. */
  burstLimit: number;
}

/** A token bucket: `burstLimit` tokens, refilled at `rateLimit` per second; a request takes one. */
class TokenBucket {
  #tokens: number;
  #updatedAt: number;
  constructor(
    private readonly settings: ThrottleSettings,
    now: number,
  ) {
    this.#tokens = settings.burstLimit;
    this.#updatedAt = now;
  }

  take(now: number): boolean {
    const { rateLimit, burstLimit } = this.settings;
    this.#tokens = Math.min(burstLimit, this.#tokens + ((now - this.#updatedAt) / 1000) * rateLimit);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * The stage throttle of the local gateway: one token bucket per route, with the route's own settings
 * or the stage's defaults, as `defaultRouteSettings` / `routeSettings` configure it on AWS.
 */
export class StageThrottler {
  readonly #buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly throttle: StageThrottle | undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes a token for one request on `routeKey`; false when the route is over its limit. */
  admit(routeKey: string): boolean {
    if (!this.throttle) return true;
    let bucket = this.#buckets.get(routeKey);
    if (!bucket) {
      const routes = this.throttle.routes ?? {};
      const settings = (Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined) ?? this.throttle.default;
      bucket = new TokenBucket(settings, this.clock());
      this.#buckets.set(routeKey, bucket);
    }
    return bucket.take(this.clock());
  }
}

/** What API Gateway answers a throttled request with (the status of an upgrade; the message of a frame). */
export const THROTTLED = { status: 429, message: "Too Many Requests", errorType: "TooManyRequestsException" } as const;
