/**
 * Grants on stream pseudo-tables: a grant whose table is `stream:<glob>` covers the streams whose
 * path matches the glob (`*` within one path segment, `**` across segments, `?` one character).
 * Stream paths are case-sensitive and may contain dots, so a `stream:` grant is never parsed as
 * a `schema.table` name nor case-folded. Pure functions only.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { matchesStreamGrant } from "./stream_grants.ts";
 * ok(matchesStreamGrant("stream:orders/*", "orders/eu"));
 * ok(!matchesStreamGrant("stream:orders/*", "orders/eu/2024"));
 * ok(matchesStreamGrant("stream:**", "logs/app.v2"));
 * ok(!matchesStreamGrant("orders", "orders"));
 * ```
 * @module
 */

import { isStreamTable, type Operation, STREAM_GRANT_PREFIX } from "../permissions.ts";
import { compileGlob } from "../glob.ts";

/** The operations a stream grant may hold: read, create (and append), delete. */
export const STREAM_OPERATIONS: readonly Operation[] = ["c", "r", "d"];

/**
 * Validates the table of a stream grant (`stream:orders`, `stream:orders/*`, `stream:**`) and
 * returns it unchanged; throws a `TypeError` with a one-line reason otherwise.
 */
export function parseStreamGrant(table: string): string {
  const glob = table.slice(STREAM_GRANT_PREFIX.length);
  if (!isStreamTable(table) || glob === "") {
    throw new TypeError(`invalid stream grant "${table}": expected stream:<name or glob>`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(glob) || glob.split("/").some((s) => s === "")) {
    throw new TypeError(`invalid stream grant "${table}": empty segment or control character`);
  }
  return table;
}

const compiled = new Map<string, (path: string) => boolean>();

/**
 * True when the grant table `grant` (`stream:<glob>`) covers the stream at `path` (the path
 * relative to `streams_prefix`, e.g. `orders/eu`). Grants that are not `stream:` grants (table
 * names, `*`) never match here: whether `*` covers streams is the policy's decision.
 */
export function matchesStreamGrant(grant: string, path: string): boolean {
  if (!isStreamTable(grant)) return false;
  let match = compiled.get(grant);
  if (!match) {
    match = compileGlob(grant.slice(STREAM_GRANT_PREFIX.length));
    if (compiled.size > 1024) compiled.clear();
    compiled.set(grant, match);
  }
  return match(path);
}
