/**
 * Name resolution shared by the planners: a table or column named in a request must exist in the
 * live catalog, matched the way DuckDB matches identifiers, before it is quoted into SQL.
 * @module
 */

import { ApiError } from "../errors.ts";
import { type ColumnInfo, findTable, type TableInfo } from "../db/catalog.ts";
import { splitNameAsWritten } from "../sql/mod.ts";

/** A table name as written in a URL, with the readings to try in order. */
export interface TableRef {
  /** The name as written (what authorization sees). */
  text: string;
  /** `{database?, schema?, name}` readings, most specific first. */
  candidates: { database?: string; schema?: string; name: string }[];
}

/**
 * Reads a table name from a URL path segment: `name`, `schema.name`, or with DuckDB-style double
 * quotes around either part (`"odd.name"`, `"my schema"."t"`, `""` for a quote inside quotes).
 * An unquoted `a.b` means schema `a`, table `b` (of the main database, else table `b` in schema
 * `main` of the attached database `a`: see {@link findCandidate}), or else a table literally
 * called `a.b`; `a.b.c` means database `a`, schema `b`, table `c`. The name is read as written (`splitNameAsWritten`): no
 * trimming, and anything that is not a one-, two- or three-part name is tried as one table name.
 */
export function parseTableName(text: string): TableRef {
  if (text === "") {
    throw new ApiError("invalid_request", "Invalid path: table name required (/api/{table}).");
  }
  const parts = splitNameAsWritten(text);
  if (!parts) return { text, candidates: [{ name: text }] };
  if (parts.length === 1) return { text, candidates: [{ name: parts[0].value }] };
  const anyQuoted = parts.some((p) => p.quoted);
  const literal = anyQuoted ? [] : [{ name: text }];
  if (parts.length === 2 && parts.every((p) => p.value !== "")) {
    return { text, candidates: [{ schema: parts[0].value, name: parts[1].value }, ...literal] };
  }
  if (parts.length === 3 && parts.every((p) => p.value !== "")) {
    const [database, schema, name] = parts.map((p) => p.value);
    return { text, candidates: [{ database, schema, name }, ...literal] };
  }
  return { text, candidates: [{ name: text }] };
}

/** The table a request names (`orders`, `sales.orders`, `archive.s1.events`), or null. */
export function lookupTable(tables: readonly TableInfo[], text: string): TableInfo | null {
  if (text === "") return null;
  for (const candidate of parseTableName(text).candidates) {
    const table = findCandidate(tables, candidate);
    if (table) return table;
  }
  return null;
}

/**
 * The table of one reading: `{schema, name}` is looked up in the main database's schema, then
 * as `{database: schema, schema: "main", name}` (`sales.orders` in the attached `sales`).
 */
export function findCandidate(
  tables: readonly TableInfo[],
  { database, schema, name }: TableRef["candidates"][number],
): TableInfo | null {
  if (database !== undefined) return findTable(tables, name, schema, database);
  const local = findTable(tables, name, schema);
  if (local || schema === undefined) return local;
  return findTable(tables, name, "main", schema);
}

/** The table `ref` names in `tables`, or 404 `unknown_table`. */
export function requireTable(tables: readonly TableInfo[], ref: TableRef): TableInfo {
  for (const candidate of ref.candidates) {
    const table = findCandidate(tables, candidate);
    if (table) return table;
  }
  throw new ApiError("unknown_table", `Table '${ref.text}' does not exist.`);
}

/**
 * The column of `table` called `name`: an exact match first, then a case-insensitive one (DuckDB
 * identifiers are case-insensitive), then the same with surrounding spaces trimmed.
 */
export function findColumn(table: TableInfo, name: string): ColumnInfo | null {
  const index = columnIndex(table);
  const lookup = (n: string) => index.exact.get(n) ?? index.folded.get(n.toLowerCase()) ?? null;
  return lookup(name) ?? (name.trim() !== name ? lookup(name.trim()) : null);
}

/** A table's columns by name and by lower-cased name (the first of each), built once. */
interface ColumnIndex {
  /** How many columns the table had when indexed (a table built step by step is re-indexed). */
  count: number;
  exact: Map<string, ColumnInfo>;
  folded: Map<string, ColumnInfo>;
}

const COLUMN_INDEXES = new WeakMap<TableInfo, ColumnIndex>();

/** The column index of a table: lookups cost O(1), so naming n columns costs O(n). */
function columnIndex(table: TableInfo): ColumnIndex {
  let index = COLUMN_INDEXES.get(table);
  if (index === undefined || index.count !== table.columns.length) {
    index = { count: table.columns.length, exact: new Map(), folded: new Map() };
    for (const column of table.columns) {
      if (!index.exact.has(column.name)) index.exact.set(column.name, column);
      const folded = column.name.toLowerCase();
      if (!index.folded.has(folded)) index.folded.set(folded, column);
    }
    COLUMN_INDEXES.set(table, index);
  }
  return index;
}

/** Like {@link findColumn}, but an unknown name is a 400 `unknown_column` naming `source`. */
export function requireColumn(table: TableInfo, name: string, source: string): ColumnInfo {
  const column = findColumn(table, name);
  if (column) return column;
  throw new ApiError(
    "unknown_column",
    `Unknown column "${name}" in ${source}: table "${table.name}" has ${columnList(table)}.`,
    { extra: { column: name } },
  );
}

function columnList(table: TableInfo): string {
  const names = table.columns.map((c) => JSON.stringify(c.name));
  return names.length > 30 ? `${names.slice(0, 30).join(", ")}, ...` : names.join(", ");
}
