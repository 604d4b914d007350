/**
 * Token buckets: each key (an API key's id, or a client address) has a bucket of `burst` tokens
 * refilled at `rate` per second; a request takes one token or is refused with the seconds until
 * one is back. The decision carries what the IETF `RateLimit-Policy` and `RateLimit` headers say
 * (draft-ietf-httpapi-ratelimit-headers): the policy as a quota `q` per window `w` (the burst,
 * refilled in `burst / rate` seconds), and what is left `r` with the seconds `t` until the bucket
 * is full again. Memory is bounded: when the table is full, buckets that have refilled (as good
 * as new) are dropped first.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createRateLimiter } from "./rate_limit.ts";
 * let now = 0;
 * const limiter = createRateLimiter({ now: () => now });
 * const limit = { rate: 1, burst: 2 };
 * equal(limiter.take("key:a", limit).allowed, true);
 * equal(limiter.take("key:a", limit).remaining, 0);
 * const refused = limiter.take("key:a", limit);
 * equal(refused.allowed, false);
 * equal(refused.retryAfter, 1);
 * equal(limiter.take("key:b", limit).allowed, true); // another key has its own bucket
 * now = 1000;
 * equal(limiter.take("key:a", limit).allowed, true);
 * ```
 * @module
 */

/** A bucket's size and refill rate. */
export interface RateLimit {
  /** Tokens per second. */
  rate: number;
  /** Bucket size: requests allowed at once. */
  burst: number;
}

/** One decision. */
export interface RateDecision {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until a refused request may be retried (at least 1; 0 when allowed). */
  retryAfter: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  limit: RateLimit;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Clock in ms (tests). */
  now?: () => number;
  /** Most buckets kept (default 100,000). */
  maxEntries?: number;
}

/** The bucket table. */
export interface RateLimiter {
  /** Takes one token from `id`'s bucket under `limit`. */
  take(id: string, limit: RateLimit): RateDecision;
  /** Buckets held. */
  readonly size: number;
}

/** The bucket size of a rate when none is given: one second's worth, at least 1. */
export function defaultBurst(rate: number): number {
  return Math.max(1, Math.ceil(rate));
}

/** Creates a limiter (see the module documentation). */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const maxEntries = options.maxEntries ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const sweep = (t: number, limitOf: number) => {
    for (const [id, bucket] of buckets) {
      // A bucket idle long enough to be full again is the same as no bucket.
      if (t - bucket.at > limitOf) buckets.delete(id);
    }
    while (buckets.size >= maxEntries) buckets.delete(buckets.keys().next().value!);
  };
  return {
    take(id, limit) {
      const t = now();
      let bucket = buckets.get(id);
      if (!bucket) {
        if (buckets.size >= maxEntries) sweep(t, 3_600_000);
        bucket = { tokens: limit.burst, at: t };
        buckets.set(id, bucket);
      } else {
        const refill = ((t - bucket.at) / 1000) * limit.rate;
        bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
        bucket.at = t;
      }
      const allowed = bucket.tokens >= 1;
      if (allowed) bucket.tokens -= 1;
      const missing = limit.burst - bucket.tokens;
      return {
        allowed,
        remaining: Math.floor(bucket.tokens),
        retryAfter: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / limit.rate)),
        resetSeconds: Math.ceil(missing / limit.rate),
        limit,
      };
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * The IETF headers of `decision` for the policy named `name` (`key` or `address`):
 * `RateLimit-Policy: "key";q=100;w=2` and `RateLimit: "key";r=57;t=1`.
 */
export function rateLimitHeaders(name: string, decision: RateDecision): Record<string, string> {
  const { rate, burst } = decision.limit;
  const window = Math.max(1, Math.ceil(burst / rate));
  return {
    "ratelimit-policy": `"${name}";q=${burst};w=${window}`,
    ratelimit: `"${name}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}
