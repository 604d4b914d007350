/**
 * The Durable Streams service: the HTTP protocol (create, append, close, read with catch-up,
 * long-poll and SSE, JSON mode, TTL, idempotent producers, forks) over memory or durable,
 * crash-safe storage. Mount `handle` under a prefix such as `/v1/stream`.
 *
 * @example
 * ```ts
 * import { createStreams } from "./service.ts";
 * const streams = await createStreams({
 *   storage: { kind: "memory" },
 *   longPollTimeoutMs: 30_000,
 *   sseReconnectIntervalMs: 60_000,
 * });
 * await streams.appendJson("_changes/orders", { op: "insert", id: 1 });
 * for await (const m of streams.readJson("_changes/orders")) console.log(m.offset, m.value);
 * await streams.close();
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { compileGlob } from "../glob.ts";
import { createHandler, type HandleContext } from "./handler.ts";
import { encodeJsonMessage } from "./json_mode.ts";
import type { StreamsEvent } from "./model.ts";
import { formatOffset, parseOffset } from "./offsets.ts";
import { validateStreamPath } from "./request.ts";
import { openStreamStore, type StreamStore } from "./store.ts";
import { appendSystemJson, ensureJsonStream, requireJsonStream } from "./system_json.ts";

/** Options of the streams module. */
export interface StreamsOptions {
  /** Where stream data lives: in memory, or durably (crash-safe) under a directory. */
  storage: { kind: "memory" } | { kind: "dir"; dir: string };
  /** How long a long-poll read waits at the tail before answering 204 (config long_poll_timeout). */
  longPollTimeoutMs: number;
  /** How long an SSE response stays open before the server ends it (sse_reconnect_interval). */
  sseReconnectIntervalMs: number;
  /** Largest accepted append/create body; larger gets 413. Default 32 MiB. */
  maxAppendBytes?: number;
  /** Largest catch-up response chunk (bytes of data); readers page with the next offset. Default 1 MiB. */
  maxReadBytes?: number;
  /** Interval of SSE keep-alive control events while idle. Default 15 s. */
  sseKeepAliveMs?: number;
  /** How often expired streams are swept. Default 1 s. */
  sweepIntervalMs?: number;
  /** Maximum open log-file handles (durable storage), LRU-evicted. Default 256. */
  maxOpenFiles?: number;
  /** Path prefixes writable only through `appendJson` (HTTP writes get 403). Default `["_changes/"]`. */
  readOnlyPrefixes?: string[];
  /** Receives module events (recovery, expiry, storage errors). */
  onEvent?: (event: StreamsEvent) => void;
}

/** The streams service the main server mounts. */
export interface StreamsService {
  /**
   * Handles one protocol request. `path` is the (percent-decoded) stream path relative to the
   * mount prefix, e.g. "orders/2024" for URL /v1/stream/orders/2024; `prefix` is the mount
   * prefix ("/v1/stream"), used for Location headers and Stream-Forked-From resolution.
   * `context.authorize` is the optional auth hook (see `HandleContext`).
   */
  handle(req: Request, path: string, prefix: string, context?: HandleContext): Promise<Response>;
  /**
   * System append used by table change feeds: appends one JSON message to a JSON stream, creating
   * it (application/json, no TTL) if missing. Resolves with the new tail offset once durable.
   */
  appendJson(path: string, message: unknown): Promise<string>;
  /** Reads the messages of a JSON stream in order, with the offset after each message. */
  readJson(path: string, fromOffset?: string): AsyncIterable<{ offset: string; value: unknown }>;
  /**
   * Creates an empty JSON stream (application/json, no TTL) at `path` unless one exists; used so
   * a table's change feed can be followed before its first event.
   */
  ensureJsonStream(path: string): Promise<void>;
  /**
   * A synchronous cursor over the messages of a stream, from the start or from offset `after`
   * up to the tail as it is now (a snapshot). For SQL table functions, which run inside a DuckDB
   * callback and cannot await. Throws an `ApiError` (`stream_not_found`, `stream_gone`, `bad_offset`).
   */
  scan(path: string, after?: string): StreamScan;
  /** Names of existing (not deleted/expired) streams, optionally filtered by a glob. */
  list(glob?: string): string[];
  /** Streams, the bytes they hold, and live readers (long-poll and SSE) now. */
  stats(): { streams: number; bytes: number; readers: number };
  /**
   * Ends live reads at once (long-polls answer 204, SSE responses end, new live reads return
   * immediately) while writes keep working: for a server that starts draining.
   */
  endLive(): void;
  /** Stops the service: ends live readers, flushes storage, closes files. */
  close(): Promise<void>;
}

/** One message read by a {@link StreamScan}. */
export interface ScannedMessage {
  /** The offset right after the message (read from it to continue after this message). */
  nextOffset: string;
  /** The message (one JSON value of a JSON stream; one append of any other stream). */
  bytes: Uint8Array;
  /** When the message was appended (ms since the epoch). */
  appendedAtMs: number;
}

/** A synchronous snapshot cursor over a stream (see `StreamsService.scan`). */
export interface StreamScan {
  readonly contentType: string;
  /** True for `application/json` streams (one message per JSON value). */
  readonly json: boolean;
  /** The next messages (about 1 MiB at most, at least one); empty at the end of the snapshot. */
  next(): ScannedMessage[];
}

const MIB = 1024 * 1024;

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new TypeError(`streams: ${name} must be > 0`);
  return v;
}

/** Creates the streams service (recovering durable storage first). */
export async function createStreams(options: StreamsOptions): Promise<StreamsService> {
  const onEvent = options.onEvent ?? (() => {});
  const longPollTimeoutMs = positive("longPollTimeoutMs", options.longPollTimeoutMs, 30_000);
  const sseReconnectIntervalMs = positive(
    "sseReconnectIntervalMs",
    options.sseReconnectIntervalMs,
    60_000,
  );
  const maxAppendBytes = positive("maxAppendBytes", options.maxAppendBytes, 32 * MIB);
  const maxReadBytes = positive("maxReadBytes", options.maxReadBytes, MIB);
  const sseKeepAliveMs = positive("sseKeepAliveMs", options.sseKeepAliveMs, 15_000);
  const sweepIntervalMs = positive("sweepIntervalMs", options.sweepIntervalMs, 1000);
  const maxOpenFiles = positive("maxOpenFiles", options.maxOpenFiles, 256);

  const store = await openStreamStore({ storage: options.storage, maxOpenFiles, onEvent });
  const sweeper = setInterval(() => store.sweep(), sweepIntervalMs);
  Deno.unrefTimer(sweeper);

  const live = { readers: 0 };
  const handle = createHandler({
    live,
    store,
    longPollTimeoutMs,
    sseReconnectIntervalMs,
    sseKeepAliveMs,
    maxAppendBytes,
    maxReadBytes,
    readOnlyPrefixes: options.readOnlyPrefixes ?? ["_changes/"],
    random: Math.random,
    onEvent,
  });

  let closing: Promise<void> | null = null;
  return {
    handle,
    appendJson(path, message) {
      validateStreamPath(path);
      return appendSystemJson(store, path, encodeJsonMessage(message));
    },
    readJson: (path, fromOffset) => readJson(store, maxReadBytes, path, fromOffset),
    ensureJsonStream(path) {
      validateStreamPath(path);
      return ensureJsonStream(store, path);
    },
    scan: (path, after) => scan(store, maxReadBytes, path, after),
    list(glob) {
      const all = store.paths();
      return glob === undefined ? all : all.filter(compileGlob(glob));
    },
    stats() {
      const paths = store.paths();
      let bytes = 0;
      for (const path of paths) bytes += store.lookup(path)?.tail ?? 0;
      return { streams: paths.length, bytes, readers: live.readers };
    },
    endLive() {
      store.endLive();
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await store.close();
      })();
      return closing;
    },
  };
}

/** `StreamsService.readJson`: the messages of a JSON stream, page by page. */
async function* readJson(
  store: StreamStore,
  maxReadBytes: number,
  path: string,
  fromOffset?: string,
): AsyncIterable<{ offset: string; value: unknown }> {
  validateStreamPath(path);
  const inst = store.requireReadable(path);
  requireJsonStream(inst, path);
  let pos = startPosition(fromOffset);
  const decoder = new TextDecoder();
  for (;;) {
    const plan = store.planRead(inst, pos, maxReadBytes, "message");
    if (plan.segments.length === 0) return;
    const messages = await store.fetchPlan(plan, true);
    for (const m of messages) {
      pos += m.length;
      yield { offset: formatOffset(pos), value: JSON.parse(decoder.decode(m)) };
    }
    pos = plan.next;
  }
}

/** `StreamsService.scan`: a synchronous snapshot cursor up to the tail as it is now. */
function scan(store: StreamStore, maxReadBytes: number, path: string, after?: string): StreamScan {
  validateStreamPath(path);
  const inst = store.requireReadable(path);
  let pos = startPosition(after);
  store.validateReadOffset(inst, pos);
  const limit = inst.tail;
  return {
    contentType: inst.contentType,
    json: inst.json,
    next() {
      const messages = store.readMessagesSync(inst, pos, maxReadBytes, limit);
      if (messages.length > 0) pos = messages[messages.length - 1].end;
      return messages.map((m) => ({
        nextOffset: formatOffset(m.end),
        bytes: m.bytes,
        appendedAtMs: m.ts,
      }));
    },
  };
}

/** The position a read `after` an offset starts at (`-1` or none: the start). */
function startPosition(offset: string | undefined): number {
  if (offset === undefined || offset === "-1") return 0;
  const parsed = parseOffset(offset);
  if (parsed === null) throw new ApiError("bad_offset", "Malformed offset");
  return parsed;
}
