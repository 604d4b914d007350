/**
 * Streamed row responses in the negotiated format. Two entry points:
 *
 * - {@link respondRows} encodes a {@link ResultSource} (DuckDB result chunks) in JS: JSON, NDJSON,
 *   CSV and Arrow directly, Parquet through DuckDB's writer on a private instance. Works for
 *   every statement that returns rows.
 * - {@link respondPlan} takes the SQL of one SELECT (raw `SELECT`s, CRUD reads) and lets DuckDB
 *   write CSV, NDJSON, JSON and Parquet itself (`COPY … TO` a named pipe, values rendered in SQL by
 *   the same rules as the JS encoders), which is several times faster for large results; Arrow and
 *   capped JSON reads go through {@link respondRows}.
 *
 * Both read ahead (the row cap's look-ahead, then up to 64 KiB of output) before the status line:
 * whatever fails by then is a normal problem+json response. A failure after streaming began aborts
 * the connection (never appends text to a body) and is logged with the request ID. Bodies are
 * compressed (zstd, br, gzip) when the client accepts it and the body is not small, except Parquet.
 * @module
 */

import { type DuckDBPreparedStatement, type DuckDBResult, DuckDBTypeId } from "@duckdb/node-api";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { bindParams, type Params } from "../db/bind.ts";
import { quoteIdentifier } from "../sql/mod.ts";
import type { Lease } from "../db/pool.ts";
import { beginTransaction, type Guard, guarded, rollback } from "../db/run.ts";
import { materializedSource } from "../db/materialized.ts";
import { resultSource } from "../db/source.ts";
import { type CopyRun, parquetFromChunks, startCopy } from "../db/export.ts";
import { createArrowEncoder } from "../encode/arrow.ts";
import { createCsvEncoder, type CsvOptions } from "../encode/csv.ts";
import { formatInfo, type FormatName, type StreamEncoder } from "../encode/formats.ts";
import {
  createJsonEncoder,
  createNdjsonEncoder,
  JSON_ENVELOPE_HEAD,
  jsonEnvelopeTail,
} from "../encode/json.ts";
import {
  asSubquery,
  type CopyFormat,
  type CopyPlan,
  parquetValueSql,
  planCopy,
} from "../encode/sql_render.ts";
import { type ResultSource, type RowBatch, uniqueColumnNames } from "../encode/source.ts";
import type { JsonValueOptions } from "../encode/values.ts";
import { createCompressor, type Encoding } from "./compress.ts";
import { contentDisposition } from "./output.ts";
import { concatBytes } from "../bytes.ts";
import { cachedResponse, keepResponse, type ReadCache } from "./read_cache.ts";
import { isCacheableSelect } from "../query/cacheable.ts";
import { dataVersion } from "../db/versions.ts";

/** How to answer with rows. */
export interface RowsResponseOptions {
  format: FormatName;
  /** Most rows to send; 0 for no cap. */
  cap: number;
  requestId: string;
  log: Logger;
  json: JsonValueOptions;
  csv: CsvOptions;
  /** Extra JSON envelope members (pagination, links), written after `data`. */
  meta?: Record<string, unknown>;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Total row count when the caller knows it (saves counting a truncated result). */
  totalRows?: number;
  /** Called once the headers are decided, before streaming (e.g. to lift the deadline). */
  onStreaming?: () => void;
  /** An export request (see `OutputOptions.export`): capped JSON may then use DuckDB's writer. */
  export?: boolean;
  /** Content-Type to send (default: the format's own). */
  contentType?: string;
  /** `Content-Disposition` to send. */
  disposition?: { type: "inline" | "attachment"; fileName: string };
  /** Compress with this coding when the body is at least `compressMinSize` bytes. */
  encoding?: Encoding | null;
  compressMinSize?: number;
  /** Where DuckDB may write export pipes (the engine's scratch directory). */
  scratchDirectory?: string;
  /**
   * Cache of deterministic raw SELECT answers (capped reads only), keyed by the database's data
   * version of `owner` (the pool); `bypass` skips the lookup (`Cache-Control: no-cache`).
   */
  cache?: { store: ReadCache; owner: object; bypass: boolean };
}

/** One SELECT to answer with (raw SQL, or a CRUD read built from the catalog). */
export interface QueryPlan {
  sql: string;
  /** Request values for the placeholders (bound with `bindParams`)… */
  params?: Params;
  /** …or a binder of the caller's own, applied to every statement that embeds `sql`. */
  bind?: (statement: DuckDBPreparedStatement) => void;
  /** Run inside a READ ONLY transaction (GET query URLs). */
  readOnly?: boolean;
}

/** Output read before the status line is sent. */
const LOOKAHEAD_BYTES = 64 * 1024;

const textEncoder = new TextEncoder();
const bytes = (part: string | Uint8Array) =>
  typeof part === "string" ? textEncoder.encode(part) : part;

/** A pull-based body: `next()` gives bytes, `null` at the end; throws on failure. */
interface ByteProducer {
  next(): Promise<Uint8Array | null>;
  /** Stops early and frees everything (client gone, or a failure before the headers). */
  cancel(): Promise<void>;
}

function createEncoder(
  format: Exclude<FormatName, "parquet">,
  columns: ResultSource["columns"],
  options: RowsResponseOptions,
): StreamEncoder {
  switch (format) {
    case "json":
      return createJsonEncoder(columns, options.json);
    case "ndjson":
      return createNdjsonEncoder(columns, options.json);
    case "csv":
      return createCsvEncoder(columns, options.csv);
    case "arrow":
      return createArrowEncoder(columns);
  }
}

function truncationMessage(cap: number): string {
  return `Results limited to ${cap} rows by safety limit. ` +
    "Use pagination (?limit=X&page=Y) or a narrower query to access more data.";
}

/** Streams the rows of `source` as a response; the source is closed when done or on failure. */
export async function respondRows(
  source: ResultSource,
  options: RowsResponseOptions,
): Promise<Response> {
  const { cap } = options;
  const buffered: RowBatch[] = [];
  let sent = 0;
  let seen = 0; // rows fetched, including those past the cap
  let ended = false;
  let truncated = false;
  try {
    // Look ahead: up to cap+1 rows when capped (to know about truncation before the headers).
    while (!ended && !truncated && (cap > 0 || buffered.length === 0)) {
      const batch = await source.next();
      if (batch) seen += batch.rows;
      if (!batch) {
        ended = true;
      } else if (cap > 0 && sent + batch.rows > cap) {
        if (cap - sent > 0) buffered.push({ chunk: batch.chunk, rows: cap - sent });
        sent = cap;
        truncated = true;
      } else {
        buffered.push(batch);
        sent += batch.rows;
      }
    }
  } catch (err) {
    source.close();
    throw err;
  }

  const rest = async function* (): AsyncGenerator<RowBatch> {
    yield* buffered.splice(0);
    if (ended || truncated) return;
    for (let batch = await source.next(); batch; batch = await source.next()) yield batch;
  };

  if (options.format === "parquet") {
    const names = uniqueColumnNames(source.columns.map((c) => c.name));
    let run: CopyRun;
    try {
      run = await parquetFromChunks(
        names,
        source.columns.map((c) => c.type),
        rest(),
        options.scratchDirectory,
        (table) =>
          `SELECT ${
            names.map((n, i) =>
              `${parquetValueSql(quoteIdentifier(n), source.columns[i].type)} AS ${
                quoteIdentifier(n)
              }`
            )
              .join(", ")
          } FROM ${table}`,
      );
    } finally {
      source.close();
    }
    return await streamResponse(copyProducer(run, {}), options, truncated, "duckdb");
  }

  const encode = createEncoder(options.format, source.columns, options);
  if (ended || (truncated && options.totalRows !== undefined)) {
    // Everything is in hand (a small or materialized result): encode it now, no async steps.
    const meta = withTruncation(options.meta, truncated, cap, options.totalRows);
    const parts = [bytes(encode.head())];
    for (const batch of buffered) parts.push(bytes(encode.batch(batch)));
    parts.push(bytes(encode.tail(meta)));
    source.close();
    return await streamResponse(producerOf(parts), options, truncated, "js");
  }
  const tailMeta = async (): Promise<Record<string, unknown>> =>
    withTruncation(
      options.meta,
      truncated,
      cap,
      truncated ? options.totalRows ?? await countRest(source, seen) ?? undefined : undefined,
    );
  const batches = rest();
  let state: "head" | "rows" | "done" = "head";
  const producer: ByteProducer = {
    async next() {
      try {
        if (state === "head") {
          state = "rows";
          return bytes(encode.head());
        }
        while (state === "rows") {
          const { value: batch, done } = await batches.next();
          if (done) {
            state = "done";
            const tail = bytes(encode.tail(await tailMeta()));
            source.close();
            return tail;
          }
          const part = bytes(encode.batch(batch));
          if (part.byteLength > 0) return part;
        }
        return null;
      } catch (err) {
        state = "done";
        source.close();
        throw err;
      }
    },
    cancel() {
      state = "done";
      source.close();
      return Promise.resolve();
    },
  };
  return await streamResponse(producer, options, truncated, "js");
}

/** A producer of bytes already encoded. */
function producerOf(parts: Uint8Array[]): ByteProducer {
  let i = 0;
  return {
    next: () => Promise.resolve(i < parts.length ? parts[i++] : null),
    cancel: () => Promise.resolve(),
  };
}

/** All rows of the result (`seen` so far plus the rest, not decoded); null when counting fails. */
async function countRest(source: ResultSource, seen: number): Promise<number | null> {
  let total = seen;
  try {
    for (let batch = await source.next(); batch; batch = await source.next()) total += batch.rows;
    return total;
  } catch {
    return null;
  }
}

/** Bytes of a `COPY` run, between an optional prefix and suffix (the JSON envelope). */
function copyProducer(
  run: CopyRun,
  parts: {
    prefix?: string;
    suffix?: () => string;
    /** Turn NDJSON into array members: each line break becomes a comma (the last is dropped). */
    joinLines?: boolean;
    onEnd?: (ok: boolean) => Promise<void>;
  },
): ByteProducer {
  let prefix = parts.prefix;
  let finished = false;
  // With a suffix, the last piece is held back to drop the final line break (or comma).
  let held: Uint8Array | null = null;
  const end = async (ok: boolean) => {
    if (finished) return;
    finished = true;
    await run.cancel();
    await parts.onEnd?.(ok);
  };
  return {
    async next() {
      if (finished) return null;
      if (prefix !== undefined) {
        const text = prefix;
        prefix = undefined;
        return bytes(text);
      }
      try {
        for (let piece = await run.read(); piece; piece = await run.read()) {
          // JSON text never holds a raw line break, so every one ends a row.
          if (parts.joinLines) {
            for (let i = piece.indexOf(0x0a); i !== -1; i = piece.indexOf(0x0a, i + 1)) {
              piece[i] = 0x2c;
            }
          }
          if (!parts.suffix) return piece;
          const out = held;
          held = piece;
          if (out) return out;
        }
        await run.done;
      } catch (err) {
        await end(false);
        throw err;
      }
      let last = held ?? new Uint8Array(0);
      held = null;
      let n = last.byteLength;
      const trailing = parts.joinLines ? 0x2c : 0x0a;
      while (n > 0 && (last[n - 1] === trailing || last[n - 1] === 0x0d)) n--;
      last = last.subarray(0, n);
      const suffix = parts.suffix ? bytes(parts.suffix()) : new Uint8Array(0);
      await end(true);
      if (last.byteLength + suffix.byteLength === 0) return null;
      const out = new Uint8Array(last.byteLength + suffix.byteLength);
      out.set(last);
      out.set(suffix, last.byteLength);
      return out;
    },
    cancel: () => end(false),
  };
}

/** Reads ahead, decides the headers, and streams the rest (compressed when worthwhile). */
async function streamResponse(
  producer: ByteProducer,
  options: RowsResponseOptions,
  truncated: boolean,
  writer: "duckdb" | "js",
): Promise<Response> {
  const ahead: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  try {
    while (size < LOOKAHEAD_BYTES) {
      const piece = await producer.next();
      if (piece === null) {
        ended = true;
        break;
      }
      ahead.push(piece);
      size += piece.byteLength;
    }
  } catch (err) {
    await producer.cancel();
    throw err;
  }

  const info = formatInfo(options.format);
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? info.contentType,
    vary: "Accept, Accept-Encoding",
  };
  if (options.disposition) {
    headers["content-disposition"] = contentDisposition(
      options.disposition.type,
      options.disposition.fileName,
    );
  }
  if (truncated) headers["x-truncated"] = "true";
  Object.assign(headers, options.headers);
  options.onStreaming?.();
  options.log.debug("rows_streaming", {
    request_id: options.requestId,
    format: options.format,
    writer,
    truncated,
  });

  const encoding = options.encoding;
  const compress = encoding !== null && encoding !== undefined && info.compressible &&
    !(ended && size < (options.compressMinSize ?? 1024));
  if (ended && !compress) {
    // The whole body is already here: send it as bytes (a Content-Length, no stream machinery).
    return new Response(concatBytes(ahead), { status: 200, headers });
  }

  let cancelled = false;
  let body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of ahead) controller.enqueue(piece);
      ahead.length = 0;
      if (ended) controller.close();
    },
    async pull(controller) {
      try {
        const piece = await producer.next();
        if (cancelled) return;
        if (piece === null) controller.close();
        else controller.enqueue(piece);
      } catch (err) {
        if (cancelled) return;
        options.log.error("stream_failed", {
          request_id: options.requestId,
          format: options.format,
          code: err instanceof ApiError ? err.code : "internal_error",
          // Engine messages can quote SQL and values, which logs never carry; bugs keep theirs.
          error: err instanceof ApiError
            ? undefined
            : err instanceof Error
            ? err.message
            : String(err),
        });
        // Aborts the connection. Deno prints the reason on stderr: keep it to one line.
        const reason = new Error(
          `response aborted after an error (request ${options.requestId}, ${
            err instanceof ApiError ? err.code : "internal_error"
          })`,
        );
        reason.stack = `Error: ${reason.message}`;
        controller.error(reason);
      }
    },
    async cancel() {
      cancelled = true;
      await producer.cancel();
    },
  }, { highWaterMark: 0 });

  if (compress) {
    headers["content-encoding"] = encoding!;
    body = body.pipeThrough(createCompressor(encoding!));
  }
  return new Response(body, { status: 200, headers });
}

/** Formats DuckDB's writer produces for `options`, or null for the JS encoders. */
function copyFormatFor(options: RowsResponseOptions): CopyFormat | null {
  switch (options.format) {
    case "csv":
    case "ndjson":
    case "parquet":
      return options.format;
    case "json":
      // Capped JSON reads (not exports) keep the exact truncation envelope of the JS encoder.
      return options.cap === 0 || options.export ? "json" : null;
    case "arrow":
      return null;
  }
}

function readOnlyError(err: unknown, readOnly: boolean | undefined): unknown {
  if (readOnly && err instanceof ApiError && err.code === "read_only") {
    return new ApiError(
      "not_read_only",
      "GET requests can only execute read-only queries; this statement writes. " +
        "Use POST {prefix}/query.",
    );
  }
  return err;
}

/**
 * Answers with the rows of one SELECT (`plan.sql`, with `plan.params`) on `lease`, which this
 * function owns from now on (it is released when the response ends or fails). DuckDB writes CSV,
 * NDJSON, Parquet and uncapped or export JSON itself; other cases stream result chunks through
 * {@link respondRows}. Errors before the first byte throw {@link ApiError}s.
 *
 * ```ts ignore
 * const lease = await acquire(engine.pool, guard);
 * return respondPlan(lease, guard, { sql, params }, { ...output, requestId, log, scratchDirectory });
 * ```
 */
export async function respondPlan(
  lease: Lease,
  guard: Guard,
  plan: QueryPlan,
  options: RowsResponseOptions,
): Promise<Response> {
  let owned = true;
  const release = async (dirty: boolean) => {
    if (!owned) return;
    owned = false;
    if (plan.readOnly) await rollback(lease);
    lease.release(dirty);
  };
  const handOff = () => {
    owned = false;
  };
  try {
    if (plan.readOnly) {
      await beginTransaction(lease, guard, "read_only");
    }
    const statement = await guarded(lease, guard, () => lease.prepare(plan.sql));
    const count = statement.columnCount;
    const names = Array.from({ length: count }, (_, i) => statement.columnName(i));
    // Column types that depend on parameters are unknown until execution: run it as it is.
    const typed = Array.from({ length: count }, (_, i) => statement.columnTypeId(i))
      .every((id) => id !== DuckDBTypeId.INVALID);
    const types = typed ? Array.from({ length: count }, (_, i) => statement.columnType(i)) : [];
    const format = typed && options.scratchDirectory ? copyFormatFor(options) : null;
    const copy = format && planCopy(plan.sql, types, uniqueColumnNames(names), format, {
      json: options.json,
      csv: options.csv,
    });
    if (copy) {
      const response = await respondCopy(lease, guard, plan, copy, format, options, {
        handOff,
        release: async (dirty) => {
          owned = true;
          await release(dirty);
        },
      });
      if (response) return response;
    }
    // A capped read answered by the JS encoders needs at most cap+1 rows: fetch them in one
    // driver call (materialized), and count the rest only when the cap cuts.
    if (options.cap > 0) {
      const response = await respondLimited(lease, guard, plan, options, handOff);
      if (response) return response;
    }
    // Otherwise the JS encoders answer from the statement's own result: streamed (bounded
    // memory), or materialized when the column types depend on parameters.
    bindPlan(statement, plan);
    if (typed) {
      const result = await guarded(lease, guard, () => statement.stream());
      handOff();
      return await respondStreamed(lease, guard, result, plan, names, options);
    }
    const result = await guarded(lease, guard, () => statement.run());
    handOff();
    return await respondRows(
      resultSource(result, lease, guard, {
        beforeRelease: plan.readOnly ? () => rollback(lease) : undefined,
      }),
      options,
    );
  } catch (err) {
    await release(true);
    throw readOnlyError(err, plan.readOnly);
  }
}

/**
 * Streams `result` through {@link respondRows}. The driver cannot say why a streamed result failed;
 * when that happens before the first byte, the query runs again materialized (with `LIMIT cap+1`
 * when capped) on the same connection, held back meanwhile, so the client gets DuckDB's own error.
 */
async function respondStreamed(
  lease: Lease,
  guard: Guard,
  result: DuckDBResult,
  plan: QueryPlan,
  names: string[],
  options: RowsResponseOptions,
): Promise<Response> {
  let ahead = true; // until the headers are decided
  let held: boolean | null = null; // a release asked for during the look-ahead (its dirty flag)
  const proxy: Lease = {
    connection: lease.connection,
    prepare: (sql) => lease.prepare(sql),
    release: (dirty = false) => {
      if (ahead) held = dirty;
      else lease.release(dirty);
    },
    get closing() {
      return lease.closing;
    },
    get connectionId() {
      return lease.connectionId;
    },
    get owner() {
      return lease.owner;
    },
    set owner(value) {
      lease.owner = value;
    },
  };
  const source = resultSource(result, proxy, guard, {
    beforeRelease: plan.readOnly ? () => rollback(lease) : undefined,
  });
  try {
    const response = await respondRows(source, options);
    ahead = false;
    if (held !== null) lease.release(held);
    return response;
  } catch (err) {
    ahead = false;
    await until(() => held !== null); // the source's close (rollback first) has finished
    if (!(err instanceof ApiError) || err.code !== "result_failed") {
      lease.release(true);
      throw err;
    }
    try {
      if (plan.readOnly) {
        await beginTransaction(lease, guard, "read_only");
      }
      const limited = await guarded(
        lease,
        guard,
        () => lease.prepare(selectAs(plan.sql, names, options.cap + 1)),
      ).catch(() => null); // a statement that cannot be a subquery keeps the vague error
      if (limited) {
        bindPlan(limited, plan);
        await guarded(lease, guard, () => limited.run());
      }
    } catch (precise) {
      throw readOnlyError(precise, plan.readOnly);
    } finally {
      if (plan.readOnly) await rollback(lease);
      lease.release(true);
    }
    throw err;
  }
}

/** Resolves once `done()` holds (checked on each macrotask turn). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; !done() && i < 1000; i++) await new Promise((r) => setTimeout(r, 0));
}

/** `SELECT` of the plan's columns under their own names (duplicates allowed), with a LIMIT. */
function selectAs(sql: string, names: readonly string[], limit: number): string {
  const aliases = names.map((_, i) => `c${i + 1}`);
  const columns = aliases.map((a, i) => `q.${a} AS ${quoteIdentifier(names[i])}`).join(", ");
  return `SELECT ${columns} FROM ${asSubquery(sql)} AS q(${aliases.join(", ")})` +
    (limit > 0 ? ` LIMIT ${limit}` : "");
}

/**
 * The envelope members of an answer: `meta`, plus `truncated`, `total_available` (when known) and
 * `message` when the cap cut it.
 */
function withTruncation(
  meta: Record<string, unknown> | undefined,
  truncated: boolean,
  cap: number,
  total?: number,
): Record<string, unknown> {
  if (!truncated) return { ...meta };
  return { ...meta, truncated: true, total_available: total, message: truncationMessage(cap) };
}

/** SQL texts that cannot be wrapped as a subquery, so not tried again. */
const UNWRAPPABLE = new Set<string>();
const UNWRAPPABLE_MAX = 1000;

/**
 * Runs `SELECT * FROM (plan) LIMIT cap+1` materialized: one driver call for the rows, and the
 * connection goes back to the pool before the body is written. When the cap cuts, one more
 * statement counts all rows for `total_available`. Returns null when the SQL cannot be wrapped.
 */
async function respondLimited(
  lease: Lease,
  guard: Guard,
  plan: QueryPlan,
  options: RowsResponseOptions,
  handOff: () => void,
): Promise<Response | null> {
  if (UNWRAPPABLE.has(plan.sql)) return null;
  const cache = options.cache?.store.enabled ? options.cache : null;
  const key = cache && await isCacheableSelect(lease, guard, cache.owner, plan.sql)
    ? answerKey(plan, options)
    : null;
  const version = cache ? dataVersion(cache.owner) : 0;
  if (key && !cache!.bypass) {
    const hit = cache!.store.get(key, version);
    if (hit) {
      handOff();
      if (plan.readOnly) await rollback(lease);
      lease.release();
      return cachedResponse(hit);
    }
  }
  let limited: DuckDBPreparedStatement;
  try {
    limited = await guarded(
      lease,
      guard,
      () => lease.prepare(`SELECT * FROM ${asSubquery(plan.sql)} LIMIT ${options.cap + 1}`),
    );
  } catch {
    if (UNWRAPPABLE.size >= UNWRAPPABLE_MAX) UNWRAPPABLE.clear();
    UNWRAPPABLE.add(plan.sql);
    return null;
  }
  bindPlan(limited, plan);
  const result = await guarded(lease, guard, () => limited.run());
  let totalRows = options.totalRows;
  if (totalRows === undefined && result.rowCount > options.cap) {
    totalRows = await countAll(lease, guard, plan).catch(() => undefined);
  }
  handOff();
  if (plan.readOnly) await rollback(lease);
  lease.release();
  const response = await respondRows(materializedSource([result], result.columnCount), {
    ...options,
    totalRows,
  });
  return key ? await keepResponse(cache!.store, key, version, response) : response;
}

/** What makes two raw answers the same: the SQL, its values and every output option. */
function answerKey(plan: QueryPlan, options: RowsResponseOptions): string {
  return JSON.stringify(
    [
      "query",
      plan.sql,
      plan.params ?? null,
      options.format,
      options.contentType,
      options.json,
      options.csv,
      options.cap,
      options.disposition ?? null,
      options.encoding ?? null,
      options.meta ?? null,
    ],
    (_key, value) => typeof value === "bigint" ? `${value}n` : value,
  );
}

/** All rows of the plan, counted by DuckDB. */
async function countAll(lease: Lease, guard: Guard, plan: QueryPlan): Promise<number> {
  const counter = await guarded(
    lease,
    guard,
    () => lease.prepare(`SELECT count(*) FROM ${asSubquery(plan.sql)}`),
  );
  bindPlan(counter, plan);
  const result = await guarded(lease, guard, () => counter.run());
  return Number(result.getChunk(0).getColumnVector(0).getItem(0));
}

/** Binds the plan's values to a statement that embeds its SQL. */
function bindPlan(statement: DuckDBPreparedStatement, plan: QueryPlan): void {
  if (plan.bind) plan.bind(statement);
  else bindParams(statement, plan.params);
}

/** Counts at most cap+1 rows of the plan: true when the cap cuts the result. */
async function exceedsCap(lease: Lease, guard: Guard, plan: QueryPlan, cap: number) {
  const counter = await guarded(
    lease,
    guard,
    () =>
      lease.connection.prepare(
        `SELECT count(*) FROM (SELECT 1 FROM ${asSubquery(plan.sql)} AS q LIMIT ${cap + 1}) AS c`,
      ),
  );
  try {
    bindPlan(counter, plan);
    const reader = await guarded(lease, guard, () => counter.runAndReadAll());
    return Number(reader.getRows()[0][0]) > cap;
  } finally {
    counter.destroySync();
  }
}

/** The COPY path of {@link respondPlan}. */
async function respondCopy(
  lease: Lease,
  guard: Guard,
  plan: QueryPlan,
  copy: CopyPlan,
  format: CopyFormat,
  options: RowsResponseOptions,
  lease_: { handOff: () => void; release: (dirty: boolean) => Promise<void> },
): Promise<Response | null> {
  const { release } = lease_;
  let truncated = false;
  let run: CopyRun;
  try {
    truncated = options.cap > 0 && await exceedsCap(lease, guard, plan, options.cap);
    const select = truncated ? `${copy.select} LIMIT ${Math.trunc(options.cap)}` : copy.select;
    run = await startCopy(lease, select, copy.options, {
      directory: options.scratchDirectory!,
      params: plan.params,
      bind: plan.bind,
    });
  } catch {
    // The wrapped statement did not prepare (a statement that cannot be a subquery, or a
    // rendering this engine rejects): the JS encoders answer instead, with the real error if any.
    return null;
  }
  lease_.handOff(); // from here on, the run's end releases

  // The deadline covers everything before the first byte; a disconnect stops the export.
  const remaining = guard.deadline - performance.now();
  const timer = Number.isFinite(remaining)
    ? setTimeout(() => run.interrupt("timeout"), Math.max(remaining, 0))
    : undefined;
  const onAbort = () => void run.cancel();
  guard.signal?.addEventListener("abort", onAbort, { once: true });
  if (guard.signal?.aborted) onAbort();

  const envelope = format === "json";
  const producer = copyProducer(run, {
    prefix: envelope ? JSON_ENVELOPE_HEAD : undefined,
    joinLines: envelope,
    suffix: envelope
      ? () => jsonEnvelopeTail(withTruncation(options.meta, truncated, options.cap))
      : undefined,
    onEnd: async (ok) => {
      clearTimeout(timer);
      guard.signal?.removeEventListener("abort", onAbort);
      await release(!ok);
    },
  });
  return await streamResponse(
    producer,
    {
      ...options,
      onStreaming: () => {
        clearTimeout(timer);
        guard.deadline = Infinity;
        options.onStreaming?.();
      },
    },
    truncated,
    "duckdb",
  );
}
