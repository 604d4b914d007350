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

import {
  type DuckDBDataChunk,
  type DuckDBResult,
  type DuckDBType,
  ResultReturnType,
  StatementType,
} from "@duckdb/node-api";

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
  // The next suffix worth trying per name: every one below it was taken when last tried, and
  // names are only ever added, so a name repeated n times costs O(n), not O(n²).
  const next = new Map<string, number>();
  return names.map((name) => {
    let candidate = name;
    let i = next.get(name) ?? 1;
    if (taken.has(candidate)) {
      while (taken.has(candidate = `${name}_${i}`)) i++;
      next.set(name, i + 1);
    }
    taken.add(candidate);
    return candidate;
  });
}

/**
 * The rows a statement that answers no rows changed: DuckDB's count for INSERT, UPDATE, DELETE
 * and COPY; for `CREATE TABLE … AS`, whose result says it returns nothing, the rows it created
 * (DuckDB still hands them over in a one-row `Count` column); 0 for anything else. Reads the
 * result, so call it only on a result that is not answered as rows.
 */
export async function rowsAffectedOf(result: DuckDBResult): Promise<number> {
  if (result.returnType === ResultReturnType.CHANGED_ROWS) return Number(result.rowsChanged);
  if (
    result.statementType !== StatementType.CREATE || result.columnCount !== 1 ||
    result.columnName(0) !== "Count"
  ) return 0;
  const chunk = await result.fetchChunk();
  if (!chunk || chunk.rowCount === 0) return 0;
  const count = chunk.getColumnVector(0).getItem(0);
  return typeof count === "bigint" || typeof count === "number" ? Number(count) : 0;
}
