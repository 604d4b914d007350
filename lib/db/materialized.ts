/**
 * Materialized results (what `statement.run()` returns): small results such as pages, point reads
 * and `RETURNING` rows are read in one driver call and served from memory, so the connection goes
 * back to the pool before the response is written. Statements may append internal columns after
 * the output columns (a total count, cursor keys): the source exposes only the output columns.
 * @module
 */

import type { DuckDBMaterializedResult } from "@duckdb/node-api";
import type { Column, ResultSource, RowBatch } from "./rows.ts";

/**
 * A {@link ResultSource} over the first `outputColumns` columns and at most `maxRows` rows of
 * materialized results (several results with the same columns are read one after the other).
 */
export function materializedSource(
  results: readonly DuckDBMaterializedResult[],
  outputColumns: number,
  maxRows = Infinity,
): ResultSource {
  const first = results[0];
  const names = first.columnNames().slice(0, outputColumns);
  const types = first.columnTypes().slice(0, outputColumns);
  const columns: Column[] = names.map((name, i) => ({ name, type: types[i] }));
  let resultIndex = 0;
  let chunkIndex = 0;
  let sent = 0;
  let closed = false;
  return {
    columns,
    next(): Promise<RowBatch | null> {
      while (!closed && sent < maxRows && resultIndex < results.length) {
        const result = results[resultIndex];
        if (chunkIndex >= result.chunkCount) {
          resultIndex++;
          chunkIndex = 0;
          continue;
        }
        const chunk = result.getChunk(chunkIndex++);
        const rows = Math.min(chunk.rowCount, maxRows - sent);
        if (rows === 0) continue;
        sent += rows;
        return Promise.resolve({ chunk, rows });
      }
      return Promise.resolve(null);
    },
    close() {
      closed = true;
    },
  };
}

/** The value at `row`, `column` of a materialized result (null past the end). */
export function materializedCell(
  result: DuckDBMaterializedResult,
  row: number,
  column: number,
): unknown {
  let offset = 0;
  for (let i = 0; i < result.chunkCount; i++) {
    const chunk = result.getChunk(i);
    if (row < offset + chunk.rowCount) return chunk.getColumnVector(column).getItem(row - offset);
    offset += chunk.rowCount;
  }
  return null;
}
