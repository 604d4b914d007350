/**
 * The answer cache: a bounded, always-correct cache of finished read answers, used alike by CRUD
 * reads (`GET /api/{table}`) and raw SELECTs whose answer depends only on base tables
 * (`cacheable.ts`). An entry holds the status, headers and exact body bytes of one answer, keyed
 * by the request and its representation, and tagged with the database's data version
 * (`lib/db/versions.ts`) read before the read began; it is served only while that version is
 * current, so every write the server performs (CRUD or raw SQL) invalidates everything at once.
 * Least recently used entries go first when the byte budget is exceeded.
 *
 * {@link throughCache} is the one wrapper both read paths use: look up, else produce the answer
 * and mark it to be kept.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createAnswerCache } from "./answer_cache.ts";
 * const cache = createAnswerCache({ maxBytes: 1024, maxEntryBytes: 256 });
 * cache.put("k", 1, { status: 200, headers: [], body: new Uint8Array(3) });
 * equal(cache.get("k", 1)?.body.length, 3);
 * equal(cache.get("k", 2), null); // a write happened since
 * ```
 * @module
 */

import { dataVersion } from "../db/versions.ts";
import type { Answer, CachedAnswer, StoredAnswer } from "./answer.ts";

/** Limits of an {@link AnswerCache}. */
export interface AnswerCacheOptions {
  /** Total bytes of bodies kept; 0 disables the cache. */
  maxBytes: number;
  /** Largest body kept. */
  maxEntryBytes: number;
}

/** The cache. */
export interface AnswerCache {
  readonly enabled: boolean;
  /** The entry for `key` stored at `version`, or null. */
  get(key: string, version: number): StoredAnswer | null;
  /** Stores `response` read at `version` (dropped when too big). */
  put(key: string, version: number, response: StoredAnswer): void;
  /** Entries and bytes held (for tests and metrics). */
  stats(): { entries: number; bytes: number; hits: number; misses: number };
}

interface Entry {
  version: number;
  response: StoredAnswer;
}

/** Creates an answer cache. */
export function createAnswerCache(options: AnswerCacheOptions): AnswerCache {
  const entries = new Map<string, Entry>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  const drop = (key: string, entry: Entry) => {
    entries.delete(key);
    bytes -= entry.response.body.byteLength;
  };
  return {
    enabled: options.maxBytes > 0,
    get(key, version) {
      const entry = entries.get(key);
      if (!entry || entry.version !== version) {
        if (entry) drop(key, entry);
        misses++;
        return null;
      }
      entries.delete(key);
      entries.set(key, entry); // most recently used last
      hits++;
      return entry.response;
    },
    put(key, version, response) {
      const size = response.body.byteLength;
      if (options.maxBytes <= 0 || size > options.maxEntryBytes || size > options.maxBytes) return;
      const old = entries.get(key);
      if (old) drop(key, old);
      entries.set(key, { version, response });
      bytes += size;
      for (const [oldest, entry] of entries) {
        if (bytes <= options.maxBytes) break;
        drop(oldest, entry);
      }
    },
    stats: () => ({ entries: entries.size, bytes, hits, misses }),
  };
}

/** Where a read's answer may be cached. */
export interface CacheSlot {
  cache: AnswerCache;
  /** The pool whose data version tags the entries (`lib/db/versions.ts`). */
  owner: object;
  /** Skip the lookup (`Cache-Control: no-cache`); a fresh answer is still kept. */
  bypass: boolean;
  /** What tells representations apart (format, value options, content coding...). */
  variant: string;
}

/**
 * The answer of `key` from the cache (unless bypassed), else `produce()`'s, marked to be kept
 * (`keep`) when it may be: `key` null (not cacheable), a disabled cache or no slot only produce.
 * The data version is read before producing, so a write that ends meanwhile makes the entry stale.
 */
export async function throughCache<T extends Answer | null>(
  slot: CacheSlot | undefined,
  key: string | null,
  produce: () => Promise<T>,
): Promise<T | CachedAnswer> {
  if (!slot || key === null || !slot.cache.enabled) return await produce();
  const { cache } = slot;
  const full = `${key}\n${slot.variant}`;
  const version = dataVersion(slot.owner);
  if (!slot.bypass) {
    const stored = cache.get(full, version);
    if (stored) return { kind: "stored", stored };
  }
  const answer = await produce();
  if (answer?.kind !== "body" || answer.cacheable === false) return answer;
  answer.keep = (finished) => cache.put(full, version, finished);
  return answer;
}
