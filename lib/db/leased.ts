/**
 * A {@link ResultSource} over a DuckDB result held on a leased connection: every fetch runs
 * under the request's guard, and closing the source returns the connection to the pool.
 * @module
 */

import { type DuckDBResult, ResultReturnType } from "@duckdb/node-api";
import { ApiError } from "../errors.ts";
import type { Column, ResultSource, RowBatch } from "./rows.ts";
import type { Lease } from "./pool.ts";
import { type Guard, guarded } from "./run.ts";

/** Options of {@link leasedSource}. */
export interface LeasedSourceOptions {
  /** Runs before the connection is released (e.g. to commit); errors are ignored. */
  beforeRelease?: () => Promise<void>;
  /** Release the connection as dirty (replace it). */
  dirty?: boolean;
}

/** Wraps a result so encoders can pull its chunks; closing the source releases `lease`. */
export function leasedSource(
  result: DuckDBResult,
  lease: Lease,
  guard: Guard,
  options: LeasedSourceOptions = {},
): ResultSource {
  const names = result.columnNames();
  const types = result.columnTypes();
  const columns: Column[] = names.map((name, i) => ({ name, type: types[i] }));
  let done = false;
  let closed = false;
  return {
    columns,
    async next(): Promise<RowBatch | null> {
      if (done || closed) return null;
      const chunk = await guarded(lease, guard, () => result.fetchChunk());
      if (!chunk || chunk.rowCount === 0) {
        done = true;
        // The driver ends a streamed result that failed midway like a complete one; only the
        // result's return type (no longer QUERY_RESULT) tells them apart.
        if (result.returnType !== ResultReturnType.QUERY_RESULT) {
          throw new ApiError(
            "result_failed",
            "The query failed while its result was being read (DuckDB's driver does not say " +
              "why; run it as CSV or NDJSON, or with a LIMIT, to see the error).",
          );
        }
        return null;
      }
      return { chunk, rows: chunk.rowCount };
    },
    close() {
      if (closed) return;
      closed = true;
      const release = () => lease.release(options.dirty ?? false);
      if (options.beforeRelease) options.beforeRelease().catch(() => {}).finally(release);
      else release();
    },
  };
}
