/**
 * A bounded latency histogram: 96 logarithmic buckets (four per doubling, from 0.05 ms to about
 * 14 minutes; slower requests count in the last one) in one `Uint32Array`, so memory is the same
 * whatever the load. Percentiles are read as the bucket's geometric middle: within 10 % of the
 * true value.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { createHistogram } from "./histogram.ts";
 * const h = createHistogram();
 * for (let ms = 1; ms <= 100; ms++) h.record(ms);
 * const p50 = h.percentile(0.5)!;
 * ok(p50 > 45 && p50 < 55, String(p50));
 * ```
 * @module
 */

/** Buckets per doubling of the latency. */
const PER_DOUBLING = 4;
/** Lower bound of the first bucket, in milliseconds. */
const BASE_MS = 0.05;
/** Buckets in all. */
export const BUCKETS = 96;

/** A histogram of latencies in milliseconds. */
export interface Histogram {
  /** Counts one latency. */
  record(ms: number): void;
  /** Adds every count of `other`. */
  add(other: Histogram): void;
  /** Forgets every count. */
  clear(): void;
  /** The latency at quantile `q` (`0..1`), in milliseconds; null when empty. */
  percentile(q: number): number | null;
  /** Latencies counted. */
  readonly count: number;
  /** The raw counts (for {@link Histogram.add}). */
  readonly counts: Uint32Array;
}

/** The bucket of `ms`. */
function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log2(ms / BASE_MS) * PER_DOUBLING));
}

/** The middle of bucket `i`, in milliseconds. */
function middleOf(i: number): number {
  return BASE_MS * 2 ** ((i + 0.5) / PER_DOUBLING);
}

/** Creates an empty histogram. */
export function createHistogram(): Histogram {
  const counts = new Uint32Array(BUCKETS);
  let count = 0;
  return {
    counts,
    get count() {
      return count;
    },
    record(ms) {
      counts[bucketOf(ms)]++;
      count++;
    },
    add(other) {
      for (let i = 0; i < BUCKETS; i++) counts[i] += other.counts[i];
      count += other.count;
    },
    clear() {
      counts.fill(0);
      count = 0;
    },
    percentile(q) {
      if (count === 0) return null;
      const rank = Math.max(1, Math.ceil(q * count));
      let seen = 0;
      for (let i = 0; i < BUCKETS; i++) {
        seen += counts[i];
        if (seen >= rank) return Math.round(middleOf(i) * 1000) / 1000;
      }
      return Math.round(middleOf(BUCKETS - 1) * 1000) / 1000;
    },
  };
}
