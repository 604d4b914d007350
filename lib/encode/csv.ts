/**
 * RFC 4180 CSV with a header row, streamed batch by batch: CRLF line ends, fields quoted when
 * they hold the delimiter, a quote, CR or LF, or equal the NULL marker (so an empty string is
 * `""` when NULL is the empty field). The same rules as DuckDB's CSV writer, which the
 * COPY-based export path uses. Repeated column names are suffixed as in JSON.
 * Dates and timestamps in ISO 8601; floats in shortest round-trip form.
 * @module
 */

import { type Column, uniqueColumnNames } from "../db/rows.ts";
import type { StreamEncoder } from "./stream_encoder.ts";
import { csvText } from "./value_text.ts";

/** CSV options (query parameters `delimiter` and `null`). */
export interface CsvOptions {
  /** One character; default `,`. */
  delimiter: string;
  /** Text written for SQL NULL; default empty. An empty string value is then written `""`. */
  nullMarker: string;
  /** Write the header row (default true). */
  header?: boolean;
}

/** Quotes a field when RFC 4180 needs it. */
function csvField(text: string, delimiter: string, nullMarker: string): string {
  if (
    text.includes(delimiter) || text.includes('"') || text.includes("\n") || text.includes("\r") ||
    text === nullMarker
  ) {
    return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
}

/** A CSV encoder for `columns`. */
export function createCsvEncoder(columns: readonly Column[], options: CsvOptions): StreamEncoder {
  const { delimiter, nullMarker } = options;
  return {
    head: () =>
      options.header === false ? "" : uniqueColumnNames(columns.map((c) => c.name))
        .map((name) => csvField(name, delimiter, nullMarker)).join(delimiter) + "\r\n",
    batch(batch) {
      const fields = columns.map((column, c) => {
        const vector = batch.chunk.getColumnVector(c);
        const out: string[] = new Array(batch.rows);
        for (let r = 0; r < batch.rows; r++) {
          const text = csvText(vector.getItem(r), column.type);
          out[r] = text === null ? nullMarker : csvField(text, delimiter, nullMarker);
        }
        return out;
      });
      let text = "";
      for (let r = 0; r < batch.rows; r++) {
        for (let c = 0; c < columns.length; c++) text += (c ? delimiter : "") + fields[c][r];
        text += "\r\n";
      }
      return text;
    },
    tail: () => "",
  };
}
