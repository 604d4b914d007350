/**
 * The JSON envelope `{"data":[{...},...], ...}` and NDJSON, streamed batch by batch. Column order is
 * kept; repeated column names are suffixed (see `uniqueColumnNames`).
 * @module
 */

import type { Column, RowBatch } from "../db/rows.ts";
import { uniqueColumnNames } from "../db/rows.ts";
import { jsonFragment, jsonString, type JsonValueOptions } from "./value_text.ts";
import type { StreamEncoder } from "./stream_encoder.ts";

function rowRenderer(columns: readonly Column[], options: JsonValueOptions) {
  const keys = uniqueColumnNames(columns.map((c) => c.name)).map((n) => jsonString(n) + ":");
  return (batch: RowBatch): string[] => {
    const fragments = columns.map((column, c) => {
      const vector = batch.chunk.getColumnVector(c);
      const out: string[] = new Array(batch.rows);
      for (let r = 0; r < batch.rows; r++) {
        out[r] = jsonFragment(vector.getItem(r), column.type, options);
      }
      return out;
    });
    const rows: string[] = new Array(batch.rows);
    for (let r = 0; r < batch.rows; r++) {
      let row = "{";
      for (let c = 0; c < columns.length; c++) {
        row += (c ? "," : "") + keys[c] + fragments[c][r];
      }
      rows[r] = row + "}";
    }
    return rows;
  };
}

/** The start of the JSON envelope, before the first row. */
export const JSON_ENVELOPE_HEAD = '{"data":[';

/** The end of the JSON envelope after the last row: `]`, the members of `meta`, `}`. */
export function jsonEnvelopeTail(meta: Record<string, unknown>): string {
  let text = "]";
  for (const [key, value] of Object.entries(meta)) {
    if (value !== undefined) text += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return text + "}";
}

/** The `message` of an answer a row cap cut. */
export function truncationMessage(cap: number): string {
  return `Results limited to ${cap} rows by safety limit. ` +
    "Use pagination (?limit=X&page=Y) or a narrower query to access more data.";
}

/**
 * The envelope members of an answer: `meta`, plus `truncated`, `total_available` (when known) and
 * `message` when the cap cut it.
 */
export function truncationMeta(
  meta: Record<string, unknown> | undefined,
  truncated: boolean,
  cap: number,
  total?: number,
): Record<string, unknown> {
  if (!truncated) return { ...meta };
  return { ...meta, truncated: true, total_available: total, message: truncationMessage(cap) };
}

/** `{"data":[...]` + members of `tail` + `}`. */
export function createJsonEncoder(
  columns: readonly Column[],
  options: JsonValueOptions,
): StreamEncoder {
  const render = rowRenderer(columns, options);
  let first = true;
  return {
    head: () => JSON_ENVELOPE_HEAD,
    batch(batch) {
      const rows = render(batch);
      if (rows.length === 0) return "";
      const text = (first ? "" : ",") + rows.join(",");
      first = false;
      return text;
    },
    tail: jsonEnvelopeTail,
  };
}

/** One JSON object per line. */
export function createNdjsonEncoder(
  columns: readonly Column[],
  options: JsonValueOptions,
): StreamEncoder {
  const render = rowRenderer(columns, options);
  return {
    head: () => "",
    batch: (batch) => render(batch).map((row) => row + "\n").join(""),
    tail: () => "",
  };
}
