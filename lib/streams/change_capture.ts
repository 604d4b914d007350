/**
 * What a committed REST write reports to its table's change feed (`_changes/<table>`): the
 * affected rows, their primary keys and how many there were, read from the write's own
 * `RETURNING` rows (the same statement, so no extra driver call). Bounded for bulk writes:
 *
 * - `rows`: every column of the affected rows, for writes of at most {@link CHANGE_ROWS_LIMIT}
 *   rows (an update reports the new values, a delete the deleted rows);
 * - `keys`: the primary key of each affected row, for tables with a primary key and writes of at
 *   most {@link CHANGE_KEYS_LIMIT} rows;
 * - `count` always.
 *
 * Values are rendered as the API renders them (`jsonFragment`), except that a number a double
 * cannot hold exactly (BIGINT beyond 2^53, long DECIMALs) is written as its decimal text, so no
 * JSON reader rounds a key.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { chooseCapture } from "./change_capture.ts";
 * const table = { schema: "main", name: "t", kind: "table" as const, columns: [],
 *   primaryKey: ["id"], estimatedRows: 0 };
 * equal(chooseCapture(table, 1), "rows");
 * equal(chooseCapture(table, 5_000), "keys");
 * equal(chooseCapture(table, 50_000), null);
 * equal(chooseCapture(table, null), "rows"); // update and delete: the count is not known
 * ```
 * @module
 */

import { type TableInfo, tableParts } from "../db/catalog.ts";
import { type DuckDBMaterializedResult, type DuckDBType, DuckDBTypeId } from "../db/types.ts";
import { jsonFragment } from "../encode/mod.ts";
import type { Capture } from "../query/mod.ts";
import type { TableChange } from "./changes.ts";

/** Largest write whose rows (every column) go into its change event. */
export const CHANGE_ROWS_LIMIT = 100;

/** Largest write whose primary keys go into its change event. */
export const CHANGE_KEYS_LIMIT = 10_000;

/**
 * What a write should return for its event, given how many rows it writes (`null`: not known
 * before it runs, as for UPDATE and DELETE, which then return their rows and are trimmed).
 */
export function chooseCapture(table: TableInfo, rows: number | null): Capture | null {
  if (rows === null || rows <= CHANGE_ROWS_LIMIT) return "rows";
  if (rows <= CHANGE_KEYS_LIMIT && table.primaryKey.length > 0) return "keys";
  return null;
}

/** The operation a write reports: an insert that may update existing rows is an `upsert`. */
export type ChangeOp = TableChange["op"];

/**
 * The event of a committed write of `count` rows to `table`; `returned` are the statements'
 * `RETURNING` results (every column, or the primary key columns), or null when the write
 * returned nothing (a bulk insert beyond {@link CHANGE_KEYS_LIMIT}).
 */
export function describeChange(
  op: ChangeOp,
  table: TableInfo,
  returned: readonly DuckDBMaterializedResult[] | null,
  count: number,
  requestId: string,
): TableChange {
  const change: TableChange = { op, table: tableParts(table), count, requestId };
  if (returned === null || returned.length === 0) return change;
  const names = returned[0].columnNames();
  const keyIndexes = table.primaryKey.map((k) => names.indexOf(k));
  const hasKeys = keyIndexes.length > 0 && keyIndexes.every((i) => i >= 0);
  const allColumns = names.length === table.columns.length &&
    table.columns.every((c, i) => c.name === names[i]);
  const wantRows = allColumns && count <= CHANGE_ROWS_LIMIT;
  const wantKeys = hasKeys && count <= CHANGE_KEYS_LIMIT;
  if (!wantRows && !wantKeys) return change;
  const rows: Record<string, unknown>[] = [];
  const keys: Record<string, unknown>[] = [];
  for (const result of returned) {
    const types = result.columnTypes();
    for (let c = 0; c < result.chunkCount; c++) {
      const chunk = result.getChunk(c);
      const vectors = names.map((_, i) => chunk.getColumnVector(i));
      for (let r = 0; r < chunk.rowCount; r++) {
        const value = (i: number) => jsonValue(vectors[i].getItem(r), types[i]);
        if (wantRows) {
          const row: Record<string, unknown> = {};
          names.forEach((name, i) => (row[name] = value(i)));
          rows.push(row);
          if (wantKeys) keys.push(Object.fromEntries(table.primaryKey.map((k) => [k, row[k]])));
        } else {
          keys.push(Object.fromEntries(table.primaryKey.map((k, j) => [k, value(keyIndexes[j])])));
        }
      }
    }
  }
  if (wantRows) change.rows = rows;
  if (wantKeys) change.keys = keys;
  return change;
}

/** Digits a double carries exactly through a decimal round trip. */
const DOUBLE_DIGITS = 15;

/**
 * A DuckDB value as a JSON-ready JS value, rendered as the API renders it; numbers that would
 * not survive a double stay decimal text.
 */
function jsonValue(value: unknown, type: DuckDBType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return Boolean(value);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return Number(value);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT: {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : String(value);
    }
    case DuckDBTypeId.VARCHAR:
      return String(value);
  }
  return JSON.parse(
    jsonFragment(value as never, type),
    (_key, parsed: unknown, context?: { source?: string }) =>
      typeof parsed === "number" && context?.source !== undefined &&
        !carriesExactly(parsed, context.source)
        ? context.source
        : parsed,
  );
}

/** True when the double `n` parsed from `source` stands for exactly the same number. */
function carriesExactly(n: number, source: string): boolean {
  if (/^-?\d+$/.test(source)) return Number.isSafeInteger(n);
  if (!Number.isFinite(n)) return false;
  const digits = source.replace(/^-/, "").replace(/[eE].*$/, "").replace(".", "")
    .replace(/^0+/, "").replace(/0+$/, "");
  return digits.length <= DOUBLE_DIGITS;
}
