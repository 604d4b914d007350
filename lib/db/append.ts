/**
 * Bulk rows into a table through DuckDB's appender (synchronous native calls per value, no SQL per
 * row): how large inserts reach a connection-private staging table before one `INSERT … SELECT`
 * types and writes them.
 * @module
 */

import { classifyDuckDBError } from "../errors.ts";
import type { Lease } from "./pool.ts";
import { type Guard, guarded } from "./run.ts";

/** Appends text rows (null for SQL NULL) to `catalog.schema.table` on the lease's connection. */
export async function appendTextRows(
  lease: Lease,
  guard: Guard,
  target: { catalog: string; schema: string; table: string },
  rows: readonly (readonly (string | null)[])[],
): Promise<void> {
  const appender = await guarded(
    lease,
    guard,
    () => lease.connection.createAppender(target.table, target.schema, target.catalog),
  );
  try {
    for (const row of rows) {
      for (const value of row) {
        if (value === null) appender.appendNull();
        else appender.appendVarchar(value);
      }
      appender.endRow();
    }
    appender.flushSync();
  } catch (err) {
    throw classifyDuckDBError(err);
  } finally {
    try {
      appender.closeSync();
    } catch {
      // already reported by flushSync
    }
  }
}
