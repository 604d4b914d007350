/**
 * A bounded, always-correct cache of CRUD read responses. An entry holds the encoded body and
 * headers of one `GET /api/{table}` answer, keyed by table and the normalized request, and tagged
 * with the database's data version (`lib/db/versions.ts`) read before the read began; it is
 * served only while that version is current, so every write the server performs (CRUD or raw
 * SQL) invalidates everything at once. Least recently used entries go first when the byte budget
 * is exceeded.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createReadCache } from "./read_cache.ts";
 * const cache = createReadCache({ maxBytes: 1024, maxEntryBytes: 256 });
 * cache.put("k", 1, { status: 200, headers: [], body: new Uint8Array(3) });
 * equal(cache.get("k", 1)?.body.length, 3);
 * equal(cache.get("k", 2), null); // a write happened since
 * ```
 * @module
 */

/** A stored response. */
export interface CachedResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array<ArrayBuffer>;
}

/** Limits of a {@link ReadCache}. */
export interface ReadCacheOptions {
  /** Total bytes of bodies kept; 0 disables the cache. */
  maxBytes: number;
  /** Largest body kept. */
  maxEntryBytes: number;
}

/** The cache. */
export interface ReadCache {
  readonly enabled: boolean;
  /** The entry for `key` stored at `version`, or null. */
  get(key: string, version: number): CachedResponse | null;
  /** Stores `response` read at `version` (dropped when too big). */
  put(key: string, version: number, response: CachedResponse): void;
  /** Entries and bytes held (for tests and metrics). */
  stats(): { entries: number; bytes: number; hits: number; misses: number };
}

interface Entry {
  version: number;
  response: CachedResponse;
}

/** Creates a read cache. */
export function createReadCache(options: ReadCacheOptions): ReadCache {
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

/**
 * Buffers a small answer, stores it under `key` (read at `version`) and sends the same bytes with
 * `X-Cache: miss`. Anything but a 200 passes through untouched.
 */
export async function keepResponse(
  cache: ReadCache,
  key: string,
  version: number,
  response: Response,
): Promise<Response> {
  if (response.status !== 200) return response;
  const body = new Uint8Array(await response.arrayBuffer());
  const headers = [...response.headers];
  cache.put(key, version, { status: response.status, headers, body });
  return new Response(body, {
    status: response.status,
    headers: [...headers, ["x-cache", "miss"]],
  });
}

/** A stored answer, sent with `X-Cache: hit`. */
export function cachedResponse(hit: CachedResponse): Response {
  return new Response(hit.body, {
    status: hit.status,
    headers: [...hit.headers, ["x-cache", "hit"]],
  });
}

/** True when the request asks to skip caches (`Cache-Control: no-cache` or `no-store`). */
export function bypassesCache(request: Request): boolean {
  return /no-cache|no-store/i.test(request.headers.get("cache-control") ?? "");
}
