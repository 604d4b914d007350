/**
 * Durations and sizes as people write them (`500ms`, `10s`, `1.5m`, `1m30s` as in Go and Caddy,
 * `10MB`, `512KiB`), for the configuration and anything else that reads such values.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { formatDuration, parseDuration, parseRate, parseSize } from "./units.ts";
 * equal(parseDuration("1.5m"), 90_000);
 * equal(parseDuration("1h2m3.5s"), 3_723_500);
 * equal(formatDuration(90_000), "90s");
 * equal(parseSize("512KiB"), 524_288);
 * equal(parseSize("ten"), null);
 * equal(parseRate("600/m"), 10);
 * ```
 * @module
 */

/** Milliseconds per unit of Go's `time.ParseDuration` (plus Caddy's `d` for days). */
const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3, // µs (micro sign)
  "\u03bcs": 1e-3, // μs (Greek mu)
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** One `<number><unit>` part: `1`, `1.5`, `.5` or `5.`, then a unit. */
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)/y;

/**
 * A duration as Go's `time.ParseDuration` (and so Caddy) writes it, to milliseconds (rounded):
 * one or more parts of a decimal number and a unit, `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`, and
 * Caddy's `d` (24 h): `500ms`, `10s`, `1.5m`, `1m30s`, `1h2m3.5s`. A bare `0` (or `+`-signed
 * value) is accepted as in Go; negative durations and a number without a unit are not (`null`).
 */
export function parseDuration(value: unknown): number | null {
  if (value === 0) return 0;
  let text = String(value).trim();
  if (text.startsWith("+")) text = text.slice(1);
  if (text === "0") return 0;
  if (text === "") return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const at = DURATION_PART.lastIndex;
    const m = DURATION_PART.exec(text);
    if (!m || m.index !== at) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
  }
  return Number.isFinite(total) ? Math.round(total) : null;
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

/** Seconds per unit of a rate (`50/s`, `600/m`, `3600/h`). */
const RATE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * A rate as people write it, `<count>/<unit>` with unit `s`, `m` or `h` (`50/s`, `600/m`,
 * `0.5/s`), to events per second; `null` when malformed or not positive.
 */
export function parseRate(value: unknown): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)$/i.exec(String(value).trim());
  if (!m) return null;
  const perSecond = Number(m[1]) / RATE_UNITS[m[2].toLowerCase()];
  return perSecond > 0 && Number.isFinite(perSecond) ? perSecond : null;
}
