/**
 * Catalog fixtures for the pure planner tests: tables as `readCatalog()` describes them.
 * @module
 */

import { equal, throws } from "node:assert/strict";
import type { ColumnInfo, TableInfo } from "../../lib/db/catalog.ts";
import type { ApiError } from "../../lib/errors.ts";
import { parseReadRequest, planRead, type ReadLimits } from "../../lib/query/plan_read.ts";

/** Asserts that `fn` throws an {@link ApiError} with code `expected` (and a matching message). */
export function code(fn: () => unknown, expected: string, message?: RegExp): void {
  throws(fn, (err: unknown) => {
    equal((err as ApiError).code, expected);
    if (message) equal(message.test((err as Error).message), true, (err as Error).message);
    return true;
  });
}

/** A column (nullable unless it is in the primary key). */
export function column(name: string, type: string, primaryKey = false): ColumnInfo {
  return { name, type, nullable: !primaryKey, default: null, primaryKey };
}

/** A table (or view) in `main` with `columns`; the primary key is taken from them. */
export function table(
  name: string,
  columns: ColumnInfo[],
  kind: "table" | "view" = "table",
  schema = "main",
): TableInfo {
  return {
    schema,
    name,
    kind,
    columns,
    primaryKey: columns.filter((c) => c.primaryKey).map((c) => c.name),
    estimatedRows: 0,
  };
}

/** `users(id INTEGER PK, name VARCHAR, age INTEGER, big BIGINT, price DECIMAL(10,2), ...)`. */
export const USERS: TableInfo = table("users", [
  column("id", "INTEGER", true),
  column("name", "VARCHAR"),
  column("age", "INTEGER"),
  column("big", "BIGINT"),
  column("price", "DECIMAL(10,2)"),
  column("born", "DATE"),
  column("seen", "TIMESTAMP"),
  column("active", "BOOLEAN"),
  column("uid", "UUID"),
  column("score", "DOUBLE"),
  column("tags", "VARCHAR[]"),
  column("doc", "JSON"),
  column("raw", "BLOB"),
  column("order", "VARCHAR"),
]);

/** A table without a primary key. */
export const LOG: TableInfo = table("log", [column("at", "TIMESTAMP"), column("msg", "VARCHAR")]);

/** A view of users. */
export const ADULTS: TableInfo = table("adults", [
  column("id", "INTEGER"),
  column("name", "VARCHAR"),
], "view");

/** The reference's page limits. */
export const LIMITS: ReadLimits = { maxRowsPerPage: 100, absoluteMaxRows: 10000 };

/** Plans a read of `t` (default `users`) for the query string `query`. */
export const read = (query: string, t: TableInfo = USERS) =>
  planRead(parseReadRequest(t.name, new URLSearchParams(query)), t, LIMITS);
