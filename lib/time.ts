/**
 * RFC 3339 timestamps, as API key expiries (`auth key add -e`) and `Stream-Expires-At` take them.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { parseRfc3339 } from "./time.ts";
 * equal(parseRfc3339("2030-12-31T23:59:59Z"), Date.UTC(2030, 11, 31, 23, 59, 59));
 * equal(parseRfc3339("2030-12-31 23:59:59+01:00"), Date.UTC(2030, 11, 31, 22, 59, 59));
 * ok(Number.isNaN(parseRfc3339("2030-13-01T00:00:00Z")));
 * ok(Number.isNaN(parseRfc3339("tomorrow")));
 * ```
 * @module
 */

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of an RFC 3339 timestamp (a space may stand for `T`); NaN when invalid. */
export function parseRfc3339(text: string): number {
  const v = text.trim();
  return RFC3339.test(v) ? Date.parse(v.replace(" ", "T")) : NaN;
}
