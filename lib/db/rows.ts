/**
 * Rows as the database hands them on: named, typed columns and a pull-based sequence of row
 * batches (DuckDB data chunks, possibly cut short by a row cap). Made here (`leased.ts`,
 * `materialized.ts`), read by the encoders (`lib/encode/`).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { uniqueColumnNames } from "./rows.ts";
 * deepEqual(uniqueColumnNames(["id", "id", "name"]), ["id", "id_1", "name"]);
 * ```
 * @module
 */

import type { DuckDBDataChunk, DuckDBType } from "@duckdb/node-api";

/** One result column. */
export interface Column {
  name: string;
  type: DuckDBType;
}

/** Rows `[0, rows)` of a chunk. */
export interface RowBatch {
  chunk: DuckDBDataChunk;
  rows: number;
}

/** A result being read. */
export interface ResultSource {
  readonly columns: readonly Column[];
  /** The next batch, or `null` at the end. Throws an `ApiError` on failure. */
  next(): Promise<RowBatch | null>;
  /** Stops reading and frees what the source holds (idempotent). */
  close(): void;
}

/**
 * Column names made unique for keyed formats: a repeated name gets `_1`, `_2`, ... (skipping
 * names already taken), as DuckDB does in subqueries.
 */
export function uniqueColumnNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let candidate = name;
    for (let i = 1; taken.has(candidate); i++) candidate = `${name}_${i}`;
    taken.add(candidate);
    return candidate;
  });
}
