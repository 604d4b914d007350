/**
 * Validators of read answers (HTTP `ETag` and `If-None-Match`): a strong tag derived from the
 * data versions of the base tables a read reads (`lib/db/versions.ts`), the catalog generation
 * and the request with its representation. The versions are read before the read runs, so a tag
 * is never newer than its answer; a write to a read table (or a write whose tables are unknown,
 * or DDL) moves it, a write to another table does not. Only deterministic reads get one (the
 * answer cache's rule: base tables, consistent functions).
 *
 * @example
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { bumpTableVersions } from "../db/versions.ts";
 * import { matchesTag, readTag } from "./validators.ts";
 * const pool = {};
 * const tag = readTag(pool, 0, [["main", "t"]], ["api", "t", "limit=5"], "json");
 * equal(matchesTag(`W/"x", ${tag}`, tag), true);
 * bumpTableVersions(pool, ["other"]);
 * equal(readTag(pool, 0, [["main", "t"]], ["api", "t", "limit=5"], "json"), tag);
 * bumpTableVersions(pool, ["t"]);
 * notEqual(readTag(pool, 0, [["main", "t"]], ["api", "t", "limit=5"], "json"), tag);
 * ```
 * @module
 */

import { catalogCache } from "../db/catalog.ts";
import type { Lease } from "../db/pool.ts";
import type { Guard } from "../db/run.ts";
import { tableVersion } from "../db/versions.ts";
import { cacheableSelect } from "./cacheable.ts";

/** What a read request brings for revalidation. */
export interface Revalidation {
  /** The request's `If-None-Match` header, or null. */
  ifNoneMatch: string | null;
  /** What tells representations of the same rows apart (format, codings, options...). */
  variant: string;
}

/** Two 53-bit string hashes (cyrb53 with two seeds), as hex: 106 bits. */
function hash(text: string): string {
  const one = (seed: number) => {
    let h1 = 0xdeadbeef ^ seed;
    let h2 = 0x41c6ce57 ^ seed;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
  };
  return one(0) + one(0x9e3779b9);
}

/**
 * The strong tag (with its quotes) of a read of `tables` (`[schema, name]`) at their current data
 * versions in the database behind `owner`, under catalog `generation`, for the request `request`
 * (any JSON-able description) in the representation `variant`.
 */
export function readTag(
  owner: object,
  generation: number,
  tables: readonly (readonly string[])[],
  request: unknown,
  variant: string,
): string {
  // The request's part is hashed once per distinct request (it is most of the text); the data
  // versions follow it in the clear.
  const key = `${generation}\n${JSON.stringify(tables)}\n${JSON.stringify(request)}\n${variant}`;
  let prefix = PREFIXES.get(key);
  if (prefix === undefined) {
    prefix = hash(key);
    if (PREFIXES.size >= MAX_PREFIXES) PREFIXES.delete(PREFIXES.keys().next().value!);
    PREFIXES.set(key, prefix);
  }
  const versions = tables.map((t) => tableVersion(owner, t)).join("-");
  return `"${prefix}-${versions}"`;
}

/** Request hashes by request (bounded; oldest first out). */
const PREFIXES = new Map<string, string>();
const MAX_PREFIXES = 4096;

/** The strong tag of a body's bytes (answers computed without a query, such as `/tables`). */
export function contentTag(text: string, variant: string): string {
  return `"${hash(text + "\n" + variant)}"`;
}

/**
 * True when `ifNoneMatch` (the header's value) matches `tag`: `*`, or one of its tags by the
 * weak comparison RFC 9110 asks of `If-None-Match` (a `W/` prefix is ignored).
 */
export function matchesTag(ifNoneMatch: string | null, tag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === "*") return true;
  for (const candidate of ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []) {
    if ((candidate.startsWith("W/") ? candidate.slice(2) : candidate) === tag) return true;
  }
  return false;
}

/**
 * The validator of the single SELECT `sql` (a GET query URL) when it is deterministic
 * (`cacheable.ts`), from the data versions of the tables it reads, taken now, before it runs;
 * null otherwise. The lease is released (dirty) when this fails.
 */
export async function selectTag(
  pool: object,
  lease: Lease,
  guard: Guard,
  sql: string,
  variant: string,
): Promise<string | null> {
  const generation = catalogCache(pool).generation;
  try {
    const facts = await cacheableSelect(lease, guard, pool, sql);
    return facts && readTag(pool, generation, facts.tables, ["query", sql], variant);
  } catch (err) {
    lease.release(true);
    throw err;
  }
}
