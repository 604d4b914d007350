/**
 * Durations and sizes as people write them (`500ms`, `10s`, `1.5m`, `10MB`, `512KiB`), for the
 * configuration and anything else that reads such values.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { formatDuration, parseDuration, parseSize } from "./units.ts";
 * equal(parseDuration("1.5m"), 90_000);
 * equal(formatDuration(90_000), "90s");
 * equal(parseSize("512KiB"), 524_288);
 * equal(parseSize("ten"), null);
 * ```
 * @module
 */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `1.5m`, `1h` (or `0`) to milliseconds; `null` when malformed. */
export function parseDuration(value: unknown): number | null {
  if (value === 0 || value === "0") return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(value).trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]]);
}

/** Milliseconds to the shortest exact duration text (`10s`, `500ms`, `1m`). */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `10MB`, `512KiB`, `1024` to bytes; `null` when malformed. */
export function parseSize(value: unknown): number | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(String(value).trim());
  if (!m || !(m[2].toLowerCase() in SIZE_UNITS)) return null;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
}
