/**
 * Counts failed authentications per client address in a fixed window. Once an address reaches
 * the limit, every request from it (with or without a valid key, so the answer reveals nothing)
 * is refused until the window ends. Memory is bounded: expired entries are swept as the map grows.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { createFailureLimiter } from "./limiter.ts";
 * let now = 0;
 * const limiter = createFailureLimiter({ limit: 2, windowMs: 60_000, now: () => now });
 * limiter.fail("10.0.0.1");
 * ok(limiter.retryAfter("10.0.0.1") === null);
 * limiter.fail("10.0.0.1");
 * ok(limiter.retryAfter("10.0.0.1") === 60);
 * now = 60_000;
 * ok(limiter.retryAfter("10.0.0.1") === null);
 * ```
 * @module
 */

/** Options of {@link createFailureLimiter}. */
export interface FailureLimiterOptions {
  /** Failures allowed per window; 0 disables the limiter. */
  limit: number;
  windowMs: number;
  /** Clock (tests). */
  now?: () => number;
  /** Most addresses tracked before old entries are swept (default 10,000). */
  maxEntries?: number;
}

/** The failed-authentication counter. */
export interface FailureLimiter {
  /** Seconds until `address` may try again, or null when it may try now. */
  retryAfter(address: string): number | null;
  /** Records a failed authentication from `address`. */
  fail(address: string): void;
}

/** Creates a limiter (see the module documentation). */
export function createFailureLimiter(options: FailureLimiterOptions): FailureLimiter {
  const now = options.now ?? (() => performance.now());
  const maxEntries = options.maxEntries ?? 10_000;
  const windows = new Map<string, { start: number; failures: number }>();

  const current = (address: string) => {
    const entry = windows.get(address);
    if (entry && now() - entry.start >= options.windowMs) {
      windows.delete(address);
      return undefined;
    }
    return entry;
  };

  return {
    retryAfter(address) {
      if (options.limit <= 0) return null;
      const entry = current(address);
      if (!entry || entry.failures < options.limit) return null;
      return Math.max(1, Math.ceil((entry.start + options.windowMs - now()) / 1000));
    },
    fail(address) {
      if (options.limit <= 0) return;
      const entry = current(address);
      if (entry) {
        entry.failures++;
        return;
      }
      if (windows.size >= maxEntries) {
        const t = now();
        for (const [key, value] of windows) {
          if (t - value.start >= options.windowMs) windows.delete(key);
        }
        if (windows.size >= maxEntries) windows.delete(windows.keys().next().value!);
      }
      windows.set(address, { start: now(), failures: 1 });
    },
  };
}
