/**
 * Encodes result rows in the requested format: the row cap's look-ahead (up to cap+1 rows, so a
 * truncation is known before the headers), the format's encoder from the registry
 * (`formats.ts`), and for Parquet DuckDB's own writer fed with the chunks (on a private
 * instance). Returns the body with its first bytes read ahead (`byte_producer.ts`): whatever
 * fails by then throws; the source is closed when done or on failure.
 * @module
 */

import { quoteIdentifier } from "../sql/mod.ts";
import { type CopyRun, parquetFromChunks } from "../db/export.ts";
import { type ResultSource, type RowBatch, uniqueColumnNames } from "../db/rows.ts";
import {
  type ByteProducer,
  bytesOf,
  type EncodedBody,
  producerOf,
  readAhead,
} from "./byte_producer.ts";
import { copyBody } from "./copy_body.ts";
import { type EncoderOptions, formatInfo, type FormatName } from "./formats.ts";
import { truncationMeta } from "./json.ts";
import { parquetValueSql } from "./sql_render.ts";
import type { StreamEncoder } from "./stream_encoder.ts";

/** How to encode rows. */
export interface EncodeOptions extends EncoderOptions {
  format: FormatName;
  /** Most rows to send; 0 for no cap. */
  cap: number;
  /** An export (a format other than JSON, or `download=1`): capped JSON may use DuckDB's writer. */
  export?: boolean;
  /** Extra JSON envelope members (pagination, links), written after `data`. */
  meta?: Record<string, unknown>;
  /** Total row count when the caller knows it (saves counting a truncated result). */
  totalRows?: number;
  /** Where DuckDB may write export pipes (the engine's scratch directory). */
  scratchDirectory?: string;
}

/** The rows read before the headers: the cap's look-ahead. */
interface Ahead {
  buffered: RowBatch[];
  /** Rows fetched, including those past the cap. */
  seen: number;
  ended: boolean;
  truncated: boolean;
}

/** Encodes the rows of `source` per `options`; see the module documentation. */
export async function encodeRows(
  source: ResultSource,
  options: EncodeOptions,
): Promise<EncodedBody> {
  const ahead = await lookAhead(source, options.cap);
  const rows = { count: 0 };
  if (options.format === "parquet") {
    return { ...await encodeParquet(source, ahead, options, rows), rows };
  }
  const encoder = formatInfo(options.format).encoder!(source.columns, options);
  if (ahead.ended || (ahead.truncated && options.totalRows !== undefined)) {
    // Everything is in hand (a small or materialized result): encode it now, no async steps.
    const meta = truncationMeta(options.meta, ahead.truncated, options.cap, options.totalRows);
    const parts = [encoder.head()];
    for (const batch of ahead.buffered) {
      parts.push(encoder.batch(batch));
      rows.count += batch.rows;
    }
    parts.push(encoder.tail(meta));
    source.close();
    // Text pieces (JSON, CSV) are joined and encoded once: a small answer is one allocation.
    const bytes = parts.every((p) => typeof p === "string")
      ? [bytesOf(parts.join(""))]
      : parts.map(bytesOf);
    return { ...await readAhead(producerOf(bytes), ahead.truncated, "js"), rows };
  }
  return {
    ...await readAhead(streamedBody(source, encoder, ahead, options, rows), ahead.truncated, "js"),
    rows,
  };
}

/** Reads up to cap+1 rows when capped (else the first batch); the source is closed on failure. */
async function lookAhead(source: ResultSource, cap: number): Promise<Ahead> {
  const ahead: Ahead = { buffered: [], seen: 0, ended: false, truncated: false };
  let sent = 0;
  try {
    while (!ahead.ended && !ahead.truncated && (cap > 0 || ahead.buffered.length === 0)) {
      const batch = await source.next();
      if (batch) ahead.seen += batch.rows;
      if (!batch) {
        ahead.ended = true;
      } else if (cap > 0 && sent + batch.rows > cap) {
        if (cap - sent > 0) ahead.buffered.push({ chunk: batch.chunk, rows: cap - sent });
        sent = cap;
        ahead.truncated = true;
      } else {
        ahead.buffered.push(batch);
        sent += batch.rows;
      }
    }
  } catch (err) {
    source.close();
    throw err;
  }
  return ahead;
}

/**
 * The look-ahead's batches, then (unless they were all) the rest of the source; `rows` counts
 * what was handed out.
 */
async function* batchesOf(
  source: ResultSource,
  ahead: Ahead,
  rows: { count: number },
): AsyncGenerator<RowBatch> {
  for (const batch of ahead.buffered.splice(0)) {
    rows.count += batch.rows;
    yield batch;
  }
  if (ahead.ended || ahead.truncated) return;
  for (let batch = await source.next(); batch; batch = await source.next()) {
    rows.count += batch.rows;
    yield batch;
  }
}

/** Parquet through DuckDB's writer on a private instance, fed with the chunks. */
async function encodeParquet(
  source: ResultSource,
  ahead: Ahead,
  options: EncodeOptions,
  rows: { count: number },
): Promise<EncodedBody> {
  const names = uniqueColumnNames(source.columns.map((c) => c.name));
  let run: CopyRun;
  try {
    run = await parquetFromChunks(
      names,
      source.columns.map((c) => c.type),
      batchesOf(source, ahead, rows),
      options.scratchDirectory,
      (table) =>
        `SELECT ${
          names.map((n, i) =>
            `${parquetValueSql(quoteIdentifier(n), source.columns[i].type)} AS ${
              quoteIdentifier(n)
            }`
          ).join(", ")
        } FROM ${table}`,
    );
  } finally {
    source.close();
  }
  return await readAhead(copyBody(run, {}), ahead.truncated, "duckdb");
}

/** The body of a result still being read: head, the batches as they come, tail. */
function streamedBody(
  source: ResultSource,
  encoder: StreamEncoder,
  ahead: Ahead,
  options: EncodeOptions,
  rows: { count: number },
): ByteProducer {
  const { cap, totalRows } = options;
  const tailMeta = async (): Promise<Record<string, unknown>> =>
    truncationMeta(
      options.meta,
      ahead.truncated,
      cap,
      ahead.truncated ? totalRows ?? await countRest(source, ahead.seen) ?? undefined : undefined,
    );
  const batches = batchesOf(source, ahead, rows);
  let state: "head" | "rows" | "done" = "head";
  return {
    async next() {
      try {
        if (state === "head") {
          state = "rows";
          return bytesOf(encoder.head());
        }
        while (state === "rows") {
          const { value: batch, done } = await batches.next();
          if (done) {
            state = "done";
            const tail = bytesOf(encoder.tail(await tailMeta()));
            source.close();
            return tail;
          }
          const part = bytesOf(encoder.batch(batch));
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
