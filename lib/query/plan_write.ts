/**
 * Writes (`POST`, `PUT`, `DELETE {prefix}/api/{table}`): requests parsed from bodies, query
 * strings and the `Prefer` header (pure), then planned against the live table: only tables take
 * writes, every column is resolved in the catalog, every value typed by its column.
 *
 * - POST: one JSON object or an array of them. Only the given columns are written, so DEFAULTs
 *   and sequences fill the rest; consecutive rows with the same columns form one statement.
 *   `on_conflict=col,...` or `Prefer: resolution=merge-duplicates` upserts,
 *   `Prefer: resolution=ignore-duplicates` skips rows whose key exists.
 * - PUT: `{"where": {...} | [...], "set": {...}}`; an empty or missing `where` or `set` is a 400.
 * - DELETE: `where=col:op:value,...` in the query string (required); `dry_run=true` only counts.
 * - `Prefer: return=representation` answers with the written rows (`RETURNING *`).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parsePrefer } from "./plan_write.ts";
 * const p = parsePrefer("return=representation, resolution=merge-duplicates");
 * deepEqual(p, { returning: true, resolution: "merge" });
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "../json.ts";
import type { ColumnInfo, TableInfo } from "../db/catalog.ts";
import {
  type Condition,
  limitConditions,
  parseFilter,
  parseWhereBody,
  planCondition,
  splitEscaped,
  unescapeValue,
} from "./filters.ts";
import { parseTableName, requireColumn, type TableRef } from "./_resolve.ts";
import { parseFlag, singleParam } from "./plan_read.ts";
import { planValue, type SqlFragment, type SqlParam, valueParam, valueSql } from "./values.ts";

/** The preferences of a write (RFC 7240 `Prefer`). */
export interface WritePreferences {
  /** `return=representation`: answer with the written rows. */
  returning: boolean;
  /** `resolution=merge-duplicates` / `ignore-duplicates`. */
  resolution: "merge" | "ignore" | null;
}

/** Reads the `Prefer` header; unknown preferences are ignored, as RFC 7240 asks. */
export function parsePrefer(header: string | null): WritePreferences {
  const prefs: WritePreferences = { returning: false, resolution: null };
  for (const item of (header ?? "").split(",")) {
    const [name, value = ""] = item.split(";")[0].split("=").map((s) => s.trim().toLowerCase());
    if (name === "return") prefs.returning = value === "representation";
    if (name === "resolution") {
      if (value === "merge-duplicates") prefs.resolution = "merge";
      if (value === "ignore-duplicates") prefs.resolution = "ignore";
    }
  }
  return prefs;
}

function isObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof JsonNumber);
}

/**
 * What a write returns for the table change feed (set by the executor, not the planner):
 * `rows` every column (`RETURNING *`), `keys` the primary key columns. Rows asked for with
 * `Prefer: return=representation` are returned whatever this says.
 */
export type Capture = "rows" | "keys";

/** Writes to views are refused: only tables take writes. */
export function requireWritable(table: TableInfo): void {
  if (table.kind === "view") {
    throw new ApiError(
      "method_not_allowed",
      `"${table.name}" is a view: views are read-only (GET).`,
      { headers: { allow: "GET, HEAD" } },
    );
  }
}

// --- POST ---

/** A parsed insert. */
export interface InsertRequest {
  table: TableRef;
  rows: Record<string, JsonValue>[];
  /** The body was an array (labels say "row N"). */
  many: boolean;
  returning: boolean;
  /** Upsert: conflict target (null: the primary key) and what to do with a duplicate. */
  conflict: { target: string[] | null; action: "update" | "nothing" } | null;
}

/** Parses the table, `on_conflict`, `Prefer` and body (an object or a non-empty array of them). */
export function parseInsertRequest(
  table: string,
  params: URLSearchParams,
  prefer: WritePreferences,
  body: JsonValue,
): InsertRequest {
  let rows: Record<string, JsonValue>[];
  if (Array.isArray(body)) {
    if (body.length === 0) {
      throw new ApiError("invalid_request", "The array holds no rows to insert.");
    }
    body.forEach((row, i) => {
      if (!isObject(row)) {
        throw new ApiError("invalid_request", `Row ${i} is not a JSON object of column values.`);
      }
    });
    rows = body as Record<string, JsonValue>[];
  } else if (isObject(body)) {
    rows = [body];
  } else {
    throw new ApiError(
      "invalid_request",
      "The body must be a JSON object of column values, or an array of such objects.",
    );
  }
  return {
    table: parseTableName(table),
    rows,
    many: Array.isArray(body),
    returning: prefer.returning,
    conflict: parseConflict(params, prefer),
  };
}

/**
 * An insert's upsert from `on_conflict` (the conflict target; empty: the primary key) and
 * `Prefer: resolution=...`: `null` when neither asks for one.
 */
export function parseConflict(
  params: URLSearchParams,
  prefer: WritePreferences,
): InsertRequest["conflict"] {
  const onConflict = singleParam(params, "on_conflict");
  const target = onConflict === null || onConflict === ""
    ? null
    : splitEscaped(onConflict, ",").map(unescapeValue);
  if (target === null && prefer.resolution === null) return null;
  return { target, action: prefer.resolution === "ignore" ? "nothing" : "update" };
}

/** Consecutive rows writing the same columns: one statement. */
export interface InsertGroup {
  columns: ColumnInfo[];
  /** Per column, the SQL typing its placeholder. */
  sql: string[];
  /** Per row, the parameters in column order. */
  rows: SqlParam[][];
  /** Index of the group's first row in the request. */
  first: number;
}

/** An insert planned against the live table. */
export interface InsertPlan {
  table: TableInfo;
  groups: InsertGroup[];
  rowCount: number;
  returning: boolean;
  conflict: { target: ColumnInfo[]; action: "update" | "nothing" } | null;
  /** Rows returned for the change feed (see {@link Capture}); none when absent. */
  capture?: Capture | null;
}

/** Plans an insert: unknown columns are a 400, values are typed by their columns. */
export function planInsert(request: InsertRequest, table: TableInfo): InsertPlan {
  requireWritable(table);
  const groups: InsertGroup[] = [];
  // Rows of a bulk insert repeat the same keys: resolve each key once.
  const resolved = new Map<string, ColumnInfo>();
  request.rows.forEach((row, i) => {
    const where = request.many ? `row ${i}` : "the body";
    const byColumn = new Map<ColumnInfo, JsonValue>();
    for (const key in row) {
      const value = row[key];
      let column = resolved.get(key);
      if (!column) resolved.set(key, column = requireColumn(table, key, where));
      if (byColumn.has(column)) {
        throw new ApiError(
          "invalid_request",
          `${where} names column "${column.name}" twice ("${key}").`,
        );
      }
      byColumn.set(column, value);
    }
    const columns = table.columns.filter((c) => byColumn.has(c));
    const params = columns.map((c) =>
      valueParam(c, { json: byColumn.get(c)! }, `${where}, column "${c.name}"`)
    );
    const last = groups.at(-1);
    if (last && sameColumns(last.columns, columns)) last.rows.push(params);
    else {
      groups.push({
        columns,
        sql: columns.map((c) => valueSql(c, "json")),
        rows: [params],
        first: i,
      });
    }
  });
  const conflict = planConflict(request.conflict, table);
  return { table, groups, rowCount: request.rows.length, returning: request.returning, conflict };
}

/** The conflict target of an upsert resolved in the table (its primary key by default). */
export function planConflict(
  conflict: InsertRequest["conflict"],
  table: TableInfo,
): InsertPlan["conflict"] {
  if (!conflict) return null;
  const names = conflict.target ?? table.primaryKey;
  if (names.length === 0) {
    throw new ApiError(
      "invalid_request",
      `Table "${table.name}" has no primary key: name the conflict columns with on_conflict=col.`,
    );
  }
  return {
    target: names.map((n) => requireColumn(table, n, "on_conflict")),
    action: conflict.action,
  };
}

function sameColumns(a: readonly ColumnInfo[], b: readonly ColumnInfo[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

// --- PUT ---

/** A parsed update. */
export interface UpdateRequest {
  table: TableRef;
  where: Condition[];
  set: Record<string, JsonValue>;
  returning: boolean;
}

/** Parses `{"where": ..., "set": {...}}`; empty or missing `where`/`set` is a 400. */
export function parseUpdateRequest(
  table: string,
  prefer: WritePreferences,
  body: JsonValue,
): UpdateRequest {
  if (!isObject(body)) {
    throw new ApiError(
      "invalid_request",
      'The body must be a JSON object like {"where": {"id": 1}, "set": {"name": "x"}}.',
    );
  }
  const { where, set, ...rest } = body;
  const extra = Object.keys(rest);
  if (extra.length) {
    throw new ApiError(
      "invalid_request",
      `Unknown member(s) ${extra.map((k) => `"${k}"`).join(", ")}: expected "where" and "set".`,
    );
  }
  if (where === undefined || where === null) {
    throw new ApiError("where_required", "WHERE clause is required for UPDATE operation.");
  }
  const conditions = parseWhereBody(where);
  if (conditions.length === 0) {
    throw new ApiError("where_required", "WHERE clause is required for UPDATE operation.");
  }
  if (!isObject(set) || Object.keys(set).length === 0) {
    throw new ApiError(
      "invalid_request",
      'SET clause is required for UPDATE operation: "set" must be a non-empty object.',
    );
  }
  return { table: parseTableName(table), where: conditions, set, returning: prefer.returning };
}

/** An update planned against the live table. */
export interface UpdatePlan {
  table: TableInfo;
  set: { column: ColumnInfo; value: SqlFragment }[];
  where: SqlFragment[];
  returning: boolean;
  /** Rows returned for the change feed (see {@link Capture}); none when absent. */
  capture?: Capture | null;
}

/** Plans an update. */
export function planUpdate(request: UpdateRequest, table: TableInfo): UpdatePlan {
  requireWritable(table);
  const seen = new Set<ColumnInfo>();
  const set = Object.entries(request.set).map(([key, value]) => {
    const column = requireColumn(table, key, "set");
    if (seen.has(column)) {
      throw new ApiError("invalid_request", `"set" names column "${column.name}" twice.`);
    }
    seen.add(column);
    const label = `set.${key}`;
    return {
      column,
      value: planValue(column, { json: value }, label),
    };
  });
  return {
    table,
    set,
    where: request.where.map((c) => planCondition(c, table)),
    returning: request.returning,
  };
}

// --- DELETE ---

/** A parsed delete. */
export interface DeleteRequest {
  table: TableRef;
  where: Condition[];
  dryRun: boolean;
  returning: boolean;
}

/** Parses `where=` (required, repeatable, ANDed) and `dry_run=true|1|false|0`. */
export function parseDeleteRequest(
  table: string,
  params: URLSearchParams,
  prefer: WritePreferences,
): DeleteRequest {
  const where = limitConditions(params.getAll("where").flatMap((w) => parseFilter(w, "where")));
  if (where.length === 0) {
    throw new ApiError(
      "where_required",
      "WHERE clause is required for DELETE operation (use ?where=column:operator:value).",
    );
  }
  return {
    table: parseTableName(table),
    where,
    dryRun: parseFlag(singleParam(params, "dry_run"), "dry_run"),
    returning: prefer.returning,
  };
}

/** A delete planned against the live table. */
export interface DeletePlan {
  table: TableInfo;
  where: SqlFragment[];
  dryRun: boolean;
  returning: boolean;
  /** Rows returned for the change feed (see {@link Capture}); none when absent. */
  capture?: Capture | null;
}

/** Plans a delete. */
export function planDelete(request: DeleteRequest, table: TableInfo): DeletePlan {
  requireWritable(table);
  return {
    table,
    where: request.where.map((c) => planCondition(c, table)),
    dryRun: request.dryRun,
    returning: request.returning && !request.dryRun,
  };
}
