/**
 * The per-table parts of the document: how a table is named in paths, tags and component names
 * (unique and sanitized), its row and insert schemas (from `json_schema.ts`, with the DuckDB type,
 * key and default noted per column), and the info paragraph listing the tables a caller may read.
 * @module
 */

import type { Operation } from "../permissions.ts";
import { tableDisplayName, type TableInfo } from "../db/catalog.ts";
import { columnSchema, type JsonSchema } from "./json_schema.ts";

export { tableDisplayName } from "../db/catalog.ts";

/** Component and path names of a table. */
export interface TableNames {
  /** The name in paths and tags (`sales.orders`). */
  display: string;
  /** Component name of the row schema. */
  row: string;
  /** Component name of the insert schema. */
  insert: string;
  /** Examples of the table's read parameters, from its own columns (see {@link readExamples}). */
  examples: Record<string, string>;
}

/**
 * Names for every table of `catalog`: component names are sanitized and made unique, also against
 * `taken` (the names of the fixed component schemas).
 */
export function tableNames(
  catalog: readonly TableInfo[],
  taken: ReadonlySet<string>,
): Map<TableInfo, TableNames> {
  const used = new Set(taken);
  const unique = (wanted: string) => {
    const base = wanted.replace(/[^A-Za-z0-9._-]/g, "_") || "_";
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const names = new Map<TableInfo, TableNames>();
  for (const table of catalog) {
    const display = tableDisplayName(table);
    names.set(table, {
      display,
      row: unique(display),
      insert: unique(`${display}.insert`),
      examples: readExamples(table),
    });
  }
  return names;
}

/** A column name as the filter, sort and select grammar writes it (`\\` escapes `,` `:` `|` `\\`). */
function grammarName(name: string): string {
  return name.replace(/[\\,:|]/g, "\\$&");
}

/** Nested types (lists, arrays, structs, maps, unions) are left out of the sort example. */
const NESTED = /\[|^(STRUCT|MAP|UNION)\(/i;

/** Most columns the select example names. */
const SELECT_EXAMPLE_COLUMNS = 5;

/**
 * Examples of a table's read parameters, written from its own columns as a client types them
 * (not percent-encoded: clients encode them once), so Swagger UI's "Try it out", which sends the
 * examples it is given, answers 200 with rows of any table: `filter` keeps rows whose first text
 * column is set (`name:like:%`; without one, whose first scalar column is not NULL), `sort`
 * orders by the first scalar column of the primary key (else of the table) descending, `select`
 * names up to five columns. Writes get none: nothing is changed by an example.
 */
export function readExamples(table: TableInfo): Record<string, string> {
  const scalar = table.columns.filter((c) => !NESTED.test(c.type));
  const key = scalar.find((c) => c.primaryKey) ?? scalar[0];
  const text = table.columns.find((c) => c.type === "VARCHAR");
  const examples: Record<string, string> = {};
  if (text) examples.filter = `${grammarName(text.name)}:like:%`;
  else if (key) examples.filter = `${grammarName(key.name)}:is:notnull`;
  if (key) examples.sort = `${grammarName(key.name)}:desc`;
  const shown = table.columns.slice(0, SELECT_EXAMPLE_COLUMNS).map((c) => grammarName(c.name));
  if (shown.length) examples.select = shown.join(",");
  return examples;
}

/** The component name of a table's copy of parameter `name` (with the table's example). */
export function tableParameterName(names: TableNames, name: string): string {
  return `${names.row}.${name}`;
}

/** The parameter components of a table's reads: the generic ones with the table's examples. */
export function tableParameters(
  names: TableNames,
  generic: Record<string, unknown>,
): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  for (const [name, example] of Object.entries(names.examples)) {
    own[tableParameterName(names, name)] = { ...generic[name] as object, example };
  }
  return own;
}

/** The info paragraph naming the tables the caller may read. */
export function tableSummary(
  catalog: readonly TableInfo[],
  names: Map<TableInfo, TableNames>,
  can: (op: Operation, table: TableInfo) => boolean,
): string {
  const readable = catalog.filter((t) => can("r", t)).map((t) => `\`${names.get(t)!.display}\``);
  return readable.length
    ? `\n\nTables and views you may read: ${readable.join(", ")}.`
    : "\n\nNo tables are listed: send an API key to see the tables it may read.";
}

/** The tag of a table's operations. */
export function tableTag(
  table: TableInfo,
  names: TableNames,
): { name: string; description: string } {
  return {
    name: names.display,
    description: `${table.kind === "view" ? "View" : "Table"} \`${fullName(table)}\`` +
      (table.kind === "table" ? ` (about ${table.estimatedRows} rows)` : ""),
  };
}

/** The schema of a row as reads answer it. */
export function rowSchema(table: TableInfo): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const column of table.columns) properties[column.name] = columnDoc(column);
  return {
    type: "object",
    description: `A row of ${table.kind} \`${fullName(table)}\`` +
      (table.primaryKey.length ? `; primary key (${table.primaryKey.join(", ")})` : "") +
      ". Every column is present unless `select=` chose fewer.",
    properties,
    "x-primary-key": table.primaryKey,
  };
}

/** The schema of a new row: NOT NULL columns without a DEFAULT are required. */
export function insertSchema(table: TableInfo): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const column of table.columns) {
    properties[column.name] = columnDoc(column);
    if (!column.nullable && column.default === null) required.push(column.name);
  }
  return {
    type: "object",
    description: `A new row of \`${fullName(table)}\`: omitted columns get their ` +
      "DEFAULT (or NULL); unknown columns are refused.",
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function columnDoc(column: TableInfo["columns"][number]): JsonSchema {
  const schema = columnSchema(column.type, column.nullable);
  const notes = [
    schema.description ?? column.type,
    column.primaryKey ? "primary key" : "",
    column.default !== null ? `default ${column.default}` : "",
  ].filter((s) => s !== "");
  return {
    ...schema,
    description: notes.join("; "),
    "x-duckdb-type": column.type,
    ...(column.primaryKey ? { "x-primary-key": true } : {}),
  };
}

/** `schema.table`, or `db.schema.table` in an attached database. */
function fullName(table: TableInfo): string {
  const local = `${table.schema}.${table.name}`;
  return !table.database ? local : `${table.database}.${local}`;
}
