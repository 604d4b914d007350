/**
 * Turns a {@link ResultSource} into a streamed response in the negotiated format, applying the row
 * cap. Everything that can fail before the first byte (the statement itself, the first rows, the
 * cap's look-ahead) fails as a normal problem+json response; a failure after streaming began
 * aborts the connection, so a client never mistakes a cut-short body for a complete one.
 * @module
 */

import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { createCsvEncoder, type CsvOptions } from "../encode/csv.ts";
import { formatInfo, type FormatName, type StreamEncoder } from "../encode/formats.ts";
import { createJsonEncoder, createNdjsonEncoder } from "../encode/json.ts";
import type { ResultSource, RowBatch } from "../encode/source.ts";
import type { JsonValueOptions } from "../encode/values.ts";

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
}

function createEncoder(
  format: FormatName,
  source: ResultSource,
  options: RowsResponseOptions,
): StreamEncoder {
  switch (format) {
    case "json":
      return createJsonEncoder(source.columns, options.json);
    case "ndjson":
      return createNdjsonEncoder(source.columns, options.json);
    case "csv":
      return createCsvEncoder(source.columns, options.csv);
  }
}

const encoder = new TextEncoder();
const bytes = (part: string | Uint8Array) => typeof part === "string" ? encoder.encode(part) : part;

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
    // Look ahead: up to cap+1 rows when capped (to know about truncation before the headers),
    // else the first batch (so an early failure is still a clean error response).
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

  const info = formatInfo(options.format);
  const headers: Record<string, string> = {
    "content-type": info.contentType,
    ...options.headers,
  };
  if (truncated) headers["x-truncated"] = "true";
  const encode = createEncoder(options.format, source, options);
  options.onStreaming?.();

  const tailMeta = async (): Promise<Record<string, unknown>> => {
    const meta: Record<string, unknown> = { ...options.meta };
    if (truncated) {
      const total = options.totalRows ?? await countRest(source, seen);
      meta.truncated = true;
      if (total !== null) meta.total_available = total;
      meta.message = `Results limited to ${cap} rows by safety limit. ` +
        "Use pagination (?limit=X&page=Y) or a narrower query to access more data.";
    }
    return meta;
  };

  let finished = false;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes(encode.head()));
      for (const batch of buffered) controller.enqueue(bytes(encode.batch(batch)));
      buffered.length = 0;
    },
    async pull(controller) {
      try {
        if (!ended && !truncated) {
          const batch = await source.next();
          if (batch) {
            if (cap > 0 && sent + batch.rows > cap) {
              // cannot happen: the look-ahead already read past the cap when capped
              throw new ApiError("internal_error", "row cap overrun");
            }
            sent += batch.rows;
            if (cancelled) return;
            controller.enqueue(bytes(encode.batch(batch)));
            return;
          }
          ended = true;
        }
        const tail = bytes(encode.tail(await tailMeta()));
        if (cancelled) return;
        controller.enqueue(tail);
        finished = true;
        source.close();
        controller.close();
      } catch (err) {
        source.close();
        if (cancelled) return;
        options.log.error("stream_failed", {
          request_id: options.requestId,
          rows_sent: sent,
          code: err instanceof ApiError ? err.code : "internal_error",
          error: err instanceof Error ? err.message : String(err),
        });
        controller.error(err);
      }
    },
    cancel() {
      cancelled = true;
      if (!finished) source.close();
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: 200, headers });
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
