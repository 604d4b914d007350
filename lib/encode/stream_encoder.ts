/**
 * The one signature every JS encoder has (JSON, NDJSON, CSV, Arrow): text or bytes for the start,
 * each batch of rows, and the end.
 * @module
 */

import type { RowBatch } from "../db/rows.ts";

/** A streaming encoder: text (or bytes) for the start, each batch, and the end. */
export interface StreamEncoder {
  head(): string | Uint8Array;
  batch(batch: RowBatch): string | Uint8Array;
  /** `meta` holds envelope members known only at the end (JSON only). */
  tail(meta: Record<string, unknown>): string | Uint8Array;
}
