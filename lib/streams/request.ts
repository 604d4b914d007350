/**
 * Request parsing: protocol headers and query parameters into typed requests. Pure functions
 * that throw an `ApiError` (400) on malformed input.
 * @module
 */

import { normalizeContentType } from "./content_type.ts";
import { ApiError } from "../errors.ts";
import { H } from "./http_headers.ts";
import { type OffsetParam, parseOffset, parseOffsetParam } from "./offsets.ts";
import { parseRfc3339 } from "../time.ts";
import type { ProducerTuple } from "./producer.ts";

const MAX_PATH_LENGTH = 1024;
const STRICT_UINT = /^(0|[1-9]\d*)$/;
const DIGITS = /^\d+$/;

/** Fork parameters of a PUT. */
export interface ForkRequest {
  /** Source stream path (relative to the prefix). */
  from: string;
  /** Stream-Fork-Offset position, or null for "the source tail". */
  offset: number | null;
  /** Stream-Fork-Sub-Offset (0 when absent). */
  sub: number;
}

/** A parsed PUT (create). */
export interface PutRequest {
  contentType: string | null;
  ttlSeconds: number | null;
  expiresAtMs: number | null;
  closed: boolean;
  fork: ForkRequest | null;
}

/** A parsed POST (append and/or close). */
export interface PostRequest {
  contentType: string | null;
  closed: boolean;
  streamSeq: string | null;
  producer: ProducerTuple | null;
}

/** Live mode of a GET. */
export type LiveMode = "none" | "long-poll" | "sse";

/** A parsed GET. */
export interface ReadRequest {
  /** null when the `offset` parameter is absent. */
  offset: OffsetParam | null;
  live: LiveMode;
  cursor: string | null;
  ifNoneMatch: string[];
}

/**
 * Validates a stream path: non-empty segments, no `.`/`..`, no control characters, bounded length.
 *
 * @example
 * ```ts
 * import { validateStreamPath } from "./request.ts";
 * validateStreamPath("orders/2024"); // ok
 * // validateStreamPath("a/../b") throws ApiError bad_path (400)
 * ```
 */
export function validateStreamPath(path: string): void {
  const bad = (why: string) => new ApiError("bad_path", `Invalid stream path: ${why}`);
  if (path.length === 0) throw bad("empty");
  if (path.length > MAX_PATH_LENGTH) throw bad("too long");
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw bad("control characters");
  for (const segment of path.split("/")) {
    if (segment === "") throw bad("empty segment");
    if (segment === "." || segment === "..") throw bad("dot segment");
  }
}

/** True when the header is `Stream-Closed: true` (case-insensitive). */
export function parseClosedHeader(headers: Headers): boolean {
  return headers.get(H.closed)?.trim().toLowerCase() === "true";
}

function parseTtl(raw: string): number {
  const v = raw.trim();
  if (!STRICT_UINT.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new ApiError("bad_ttl", "Stream-TTL must be a non-negative integer of seconds");
  }
  return Number(v);
}

function parseExpiresAt(raw: string): number {
  const ms = parseRfc3339(raw);
  if (Number.isNaN(ms)) {
    throw new ApiError("bad_expires_at", "Stream-Expires-At must be an RFC 3339 timestamp");
  }
  return ms;
}

/**
 * Resolves a `Stream-Forked-From` value (an absolute path or URL on this server) to a stream path
 * relative to `prefix`.
 */
export function resolveForkSource(value: string, prefix: string): string {
  let pathname = value.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathname)) {
    try {
      pathname = new URL(pathname).pathname;
    } catch {
      throw new ApiError("bad_fork_headers", "Stream-Forked-From is not a valid URL");
    }
  }
  const base = prefix.endsWith("/") ? prefix : `${prefix}/`;
  if (!pathname.startsWith(base)) {
    throw new ApiError("bad_fork_headers", `Stream-Forked-From must start with ${base}`);
  }
  let path: string;
  try {
    path = pathname.slice(base.length).split("/").map(decodeURIComponent).join("/");
  } catch {
    throw new ApiError("bad_fork_headers", "Stream-Forked-From is not valid UTF-8");
  }
  validateStreamPath(path);
  return path;
}

/** Parses the headers of a PUT. */
export function parsePutHeaders(headers: Headers, prefix: string): PutRequest {
  const ttlRaw = headers.get(H.ttl);
  const expRaw = headers.get(H.expiresAt);
  if (ttlRaw !== null && expRaw !== null) {
    throw new ApiError(
      "ttl_and_expires_at",
      "Stream-TTL and Stream-Expires-At are mutually exclusive",
    );
  }
  const fromRaw = headers.get(H.forkedFrom);
  const offsetRaw = headers.get(H.forkOffset);
  const subRaw = headers.get(H.forkSubOffset);
  let fork: ForkRequest | null = null;
  if (fromRaw === null) {
    if (offsetRaw !== null || subRaw !== null) {
      throw new ApiError(
        "bad_fork_headers",
        "Stream-Fork-Offset and Stream-Fork-Sub-Offset require Stream-Forked-From",
      );
    }
  } else {
    let offset: number | null = null;
    if (offsetRaw !== null) {
      offset = parseOffset(offsetRaw.trim());
      if (offset === null) {
        throw new ApiError("fork_offset_invalid", "Stream-Fork-Offset is malformed");
      }
    }
    let sub = 0;
    if (subRaw !== null) {
      const v = subRaw.trim();
      if (!STRICT_UINT.test(v) || !Number.isSafeInteger(Number(v))) {
        throw new ApiError(
          "fork_sub_offset_invalid",
          "Stream-Fork-Sub-Offset must be a non-negative integer",
        );
      }
      sub = Number(v);
      if (sub > 0 && offset === null) {
        throw new ApiError(
          "fork_sub_offset_invalid",
          "Stream-Fork-Sub-Offset > 0 requires Stream-Fork-Offset",
        );
      }
    }
    fork = { from: resolveForkSource(fromRaw, prefix), offset, sub };
  }
  return {
    contentType: normalizeContentType(headers.get("content-type")),
    ttlSeconds: ttlRaw === null ? null : parseTtl(ttlRaw),
    expiresAtMs: expRaw === null ? null : parseExpiresAt(expRaw),
    closed: parseClosedHeader(headers),
    fork,
  };
}

function parseProducer(headers: Headers): ProducerTuple | null {
  const id = headers.get(H.producerId);
  const epoch = headers.get(H.producerEpoch);
  const seq = headers.get(H.producerSeq);
  if (id === null && epoch === null && seq === null) return null;
  const bad = (why: string) => new ApiError("bad_producer_headers", why);
  if (id === null || epoch === null || seq === null) {
    throw bad("Producer-Id, Producer-Epoch and Producer-Seq must be sent together");
  }
  if (id.trim() === "") throw bad("Producer-Id must not be empty");
  const num = (raw: string, name: string) => {
    const v = raw.trim();
    if (!DIGITS.test(v) || !Number.isSafeInteger(Number(v))) {
      throw bad(`${name} must be a decimal integer <= 2^53-1`);
    }
    return Number(v);
  };
  return { id, epoch: num(epoch, "Producer-Epoch"), seq: num(seq, "Producer-Seq") };
}

/** Parses the headers of a POST. */
export function parsePostHeaders(headers: Headers): PostRequest {
  const rawType = headers.get("content-type");
  const seq = headers.get(H.seq);
  return {
    contentType: rawType === null || rawType.trim() === "" ? null : rawType,
    closed: parseClosedHeader(headers),
    streamSeq: seq === null || seq === "" ? null : seq,
    producer: parseProducer(headers),
  };
}

/** Parses the query and conditional headers of a GET. */
export function parseReadRequest(url: URL, headers: Headers): ReadRequest {
  const offsets = url.searchParams.getAll("offset");
  if (offsets.length > 1) {
    throw new ApiError("bad_offset", "The offset parameter must not be repeated");
  }
  let offset: OffsetParam | null = null;
  if (offsets.length === 1) {
    offset = parseOffsetParam(offsets[0]);
    if (offset === null) throw new ApiError("bad_offset", "Malformed offset");
  }
  const lives = url.searchParams.getAll("live");
  if (lives.length > 1) throw new ApiError("bad_query", "live must not be repeated");
  let live: LiveMode = "none";
  if (lives.length === 1) {
    if (lives[0] === "long-poll" || lives[0] === "sse") live = lives[0];
    else throw new ApiError("bad_query", "live must be long-poll or sse");
    if (offset === null) {
      throw new ApiError("bad_offset", "Live reads require an offset parameter");
    }
  }
  const inm = headers.get("if-none-match");
  return {
    offset,
    live,
    cursor: url.searchParams.get("cursor"),
    ifNoneMatch: inm === null ? [] : inm.split(",").map((t) => t.trim()).filter(Boolean),
  };
}
