/**
 * Reads (`GET {prefix}/api/{table}`): the query string parsed into a {@link ReadRequest} (pure,
 * before the catalog is consulted), then planned against the live table into a {@link ReadPlan}
 * (every column resolved, every value typed, pagination decided).
 *
 * Query parameters:
 * - `filter=col:op:value,...` (see `filters.ts`), repeatable (all conditions ANDed);
 * - `sort=col[:asc|desc],...`; `select=col,...`;
 * - `page`, `limit` (positive integers; `limit` above `max_rows_per_page` is clamped and said so),
 *   or `offset` (rows to skip, from 0) with `limit` instead of `page`;
 * - `after=<cursor>` keyset pagination (instead of `page`);
 * - `count=exact|none`; `links=true|false`; `format=` (handled by content negotiation).
 *
 * Ordering is made total whenever rows are paged or sorted: the primary key (or, for tables
 * without one, DuckDB's `rowid`) breaks ties, so offset pages never overlap and cursors are exact.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseReadRequest } from "./plan_read.ts";
 * const r = parseReadRequest("users", new URLSearchParams("filter=age:gt:18&sort=name:desc&page=2"));
 * deepEqual([r.page, r.sort, r.filters.length], [2, [{ column: "name", direction: "desc" }], 1]);
 * ```
 * @module
 */

import { base64url } from "../bytes.ts";
import { ApiError } from "../errors.ts";
import { type ColumnInfo, type TableInfo, tableParts } from "../db/catalog.ts";
import { quoteIdentifier } from "../sql/mod.ts";
import {
  type Condition,
  limitConditions,
  parseFilter,
  planCondition,
  splitEscaped,
  unescapeValue,
} from "./filters.ts";
import { findColumn, parseTableName, requireColumn, type TableRef } from "./_resolve.ts";
import { classifyType, planValue, type SqlFragment } from "./values.ts";

/** One `sort` key as written. */
export interface SortKey {
  column: string;
  direction: "asc" | "desc";
}

/** A parsed read request (names not yet checked against the catalog). */
export interface ReadRequest {
  table: TableRef;
  filters: Condition[];
  sort: SortKey[];
  /** Projection, or null for every column. */
  select: string[] | null;
  page: number | null;
  limit: number | null;
  /** Rows to skip (`offset`, instead of `page`), or null. */
  offset: number | null;
  /** The `after` cursor ('' starts a cursor walk), or null. */
  after: string | null;
  count: "exact" | "none";
  links: boolean;
  /** The query parameters as sent, in order (links keep the ones they do not set). */
  query: [string, string][];
}

/** The value of a query parameter that may appear once; a repeat is a 400. */
export function singleParam(params: URLSearchParams, name: string): string | null {
  const values = params.getAll(name);
  if (values.length > 1) {
    throw new ApiError("invalid_request", `Query parameter "${name}" is given more than once.`);
  }
  return values[0] ?? null;
}

/** `true|1|false|0` (case-insensitive); anything else is a 400. */
export function parseFlag(value: string | null, name: string): boolean {
  if (value === null) return false;
  const flag = value.trim().toLowerCase();
  if (flag === "true" || flag === "1") return true;
  if (flag === "false" || flag === "0") return false;
  throw new ApiError("invalid_request", `Invalid ${name} "${value}": use true, 1, false or 0.`);
}

function positiveInteger(
  value: string | null,
  name: "page" | "limit" | "offset",
  least = 1,
): number | null {
  if (value === null) return null;
  const n = /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= least)) {
    throw new ApiError(
      "bad_pagination",
      `Invalid ${name} "${value}": ${name} must be a ` +
        (least === 0 ? "non-negative integer." : "positive integer."),
    );
  }
  return n;
}

/** Most keys a `sort` may name (a cursor's keyset condition grows with their square). */
export const MAX_SORT_KEYS = 32;

/** Most columns a `select` may name (each at most once). */
export const MAX_SELECT_COLUMNS = 1000;

/** Parses `sort=col[:asc|desc],...` (escapes as in filters); at most {@link MAX_SORT_KEYS} keys. */
export function parseSort(text: string | null): SortKey[] {
  if (text === null || text === "") return [];
  const parts = splitEscaped(text, ",");
  if (parts.length > MAX_SORT_KEYS) {
    throw new ApiError(
      "bad_sort",
      `Invalid sort: ${parts.length} keys; a sort may name at most ${MAX_SORT_KEYS}.`,
      { extra: { max_sort_keys: MAX_SORT_KEYS } },
    );
  }
  return parts.map((part) => {
    const [column, direction = "asc"] = splitEscaped(part, ":", 2);
    const name = unescapeValue(column);
    if (name.trim() === "") {
      throw new ApiError("bad_sort", `Invalid sort "${part}": the column name is empty.`);
    }
    const dir = unescapeValue(direction).trim().toLowerCase();
    if (dir !== "asc" && dir !== "desc") {
      throw new ApiError(
        "bad_sort",
        `Invalid sort direction "${direction}" in "${part}": must be 'asc' or 'desc'.`,
      );
    }
    return { column: name, direction: dir };
  });
}

/**
 * Parses `select=col,...` (escapes as in filters); `*` or nothing means every column. More than
 * {@link MAX_SELECT_COLUMNS} names is a 400 `bad_select` (a repeated column is one too, found when
 * the names are resolved: {@link planRead}).
 */
export function parseSelect(text: string | null): string[] | null {
  if (text === null || text.trim() === "" || text.trim() === "*") return null;
  const parts = splitEscaped(text, ",");
  if (parts.length > MAX_SELECT_COLUMNS) {
    throw new ApiError(
      "bad_select",
      `Invalid select: ${parts.length} columns; a select may name at most ` +
        `${MAX_SELECT_COLUMNS}, each once (leave select out for every column).`,
      { extra: { max_select_columns: MAX_SELECT_COLUMNS } },
    );
  }
  return parts.map((part) => {
    const name = unescapeValue(part);
    if (name.trim() === "") {
      throw new ApiError("invalid_request", `Invalid select "${text}": a column name is empty.`);
    }
    return name;
  });
}

/** Parses the table path segment and the query string of a read. */
export function parseReadRequest(table: string, params: URLSearchParams): ReadRequest {
  const page = positiveInteger(singleParam(params, "page"), "page");
  const limit = positiveInteger(singleParam(params, "limit"), "limit");
  const offset = positiveInteger(singleParam(params, "offset"), "offset", 0);
  const after = singleParam(params, "after");
  if (after !== null && page !== null) {
    throw new ApiError(
      "bad_pagination",
      "page and after cannot be combined: use page for offset pages or after for cursor pages.",
    );
  }
  if (offset !== null && (page !== null || after !== null)) {
    throw new ApiError(
      "bad_pagination",
      `offset cannot be combined with ${page !== null ? "page" : "after"}: ` +
        "use offset (with limit), page (with limit) or after for cursor pages.",
    );
  }
  const count = (singleParam(params, "count") ?? "exact").trim().toLowerCase();
  if (count !== "exact" && count !== "none") {
    throw new ApiError("bad_pagination", `Invalid count "${count}": use exact or none.`);
  }
  return {
    table: parseTableName(table),
    filters: limitConditions(params.getAll("filter").flatMap((f) => parseFilter(f, "filter"))),
    sort: parseSort(singleParam(params, "sort")),
    select: parseSelect(singleParam(params, "select")),
    page,
    limit,
    offset,
    after,
    count,
    links: parseFlag(singleParam(params, "links"), "links"),
    query: [...params.entries()],
  };
}

/** One key of the ORDER BY: a column, or DuckDB's `rowid`. */
export interface OrderKey {
  /** Column name (`rowid` for the row id). */
  name: string;
  /** The quoted column, or `rowid`. */
  sql: string;
  direction: "asc" | "desc";
  /** The column (a synthetic BIGINT for `rowid`). */
  column: ColumnInfo;
}

/** How a read is paged. */
export type ReadMode =
  | { kind: "all"; cap: number }
  /** Offset pages: by `page` (`offset` = (page - 1) × limit), or by `offset` (`byOffset`). */
  | { kind: "page"; page: number; limit: number; offset: number; byOffset?: boolean }
  | { kind: "cursor"; limit: number; after: SqlFragment | null };

/** A read planned against the live table. */
export interface ReadPlan {
  table: TableInfo;
  /** Output columns in order; `star` when they are all the table's columns in table order. */
  columns: ColumnInfo[];
  star: boolean;
  /** Conditions, ANDed. */
  where: SqlFragment[];
  /** ORDER BY keys (sort keys, then tie-breakers when the order must be total). */
  order: OrderKey[];
  /** Keys of a total order for cursors (= `order` when total), or null (a view without one). */
  cursorKeys: OrderKey[] | null;
  mode: ReadMode;
  count: boolean;
  links: boolean;
  /** The `limit` asked for when it was clamped to `max_rows_per_page`. */
  requestedLimit: number | null;
  /**
   * At most one row can match: a table's whole primary key is compared with `eq` to one value
   * each (so no row cap can cut the answer, and its read needs no LIMIT).
   */
  atMostOne: boolean;
}

/** The configured limits of reads. */
export interface ReadLimits {
  maxRowsPerPage: number;
  /** Most rows of an unpaginated read (0: no cap). */
  absoluteMaxRows: number;
}

const ROWID: ColumnInfo = {
  name: "rowid",
  type: "BIGINT",
  nullable: false,
  default: null,
  primaryKey: true,
};

/** Columns that make the order total: the primary key, or `rowid` for tables; none for views. */
function tieBreakers(table: TableInfo): ColumnInfo[] | null {
  if (table.primaryKey.length) return table.primaryKey.map((n) => findColumn(table, n)!);
  if (table.kind === "view" || findColumn(table, "rowid")) return null;
  return [ROWID];
}

function orderKey(column: ColumnInfo, direction: "asc" | "desc"): OrderKey {
  return {
    name: column.name,
    sql: column === ROWID ? "rowid" : quoteIdentifier(column.name),
    direction,
    column,
  };
}

/** Plans `request` against `table`; every problem is a 400 naming the offending part. */
export function planRead(request: ReadRequest, table: TableInfo, limits: ReadLimits): ReadPlan {
  const columns = request.select ? selectColumns(request.select, table) : table.columns;
  const where = request.filters.map((c) => planCondition(c, table));
  const sorted = new Set<ColumnInfo>();
  const order = request.sort.map((key) => {
    const source = `sort ${key.column}:${key.direction}`;
    const column = requireColumn(table, key.column, source);
    if (sorted.has(column)) {
      throw new ApiError(
        "bad_sort",
        `Invalid ${source}: column "${column.name}" is already a sort key.`,
        { extra: { column: column.name } },
      );
    }
    sorted.add(column);
    return orderKey(column, key.direction);
  });
  const paged = request.page !== null || request.limit !== null || request.after !== null ||
    request.offset !== null;
  const ties = tieBreakers(table);
  if (ties && (paged || order.length)) {
    for (const column of ties) if (!sorted.has(column)) order.push(orderKey(column, "asc"));
  }
  const cursorKeys = ties ? order : null;

  let requestedLimit: number | null = null;
  let limit = request.limit ?? limits.maxRowsPerPage;
  if (limit > limits.maxRowsPerPage) {
    requestedLimit = limit;
    limit = limits.maxRowsPerPage;
  }
  let mode: ReadMode;
  if (request.after !== null) {
    if (!cursorKeys) {
      throw new ApiError(
        "bad_pagination",
        `Cursor pagination needs a total order, and "${table.name}" is a view without a key: ` +
          "use page and limit.",
      );
    }
    const after = request.after === ""
      ? null
      : keysetPredicate(cursorKeys, decodeCursor(request.after, table, cursorKeys));
    mode = { kind: "cursor", limit, after };
  } else if (request.offset !== null) {
    const offset = request.offset;
    mode = { kind: "page", page: Math.floor(offset / limit) + 1, limit, offset, byOffset: true };
  } else if (paged) {
    const page = request.page ?? 1;
    const offset = (page - 1) * limit;
    if (!Number.isSafeInteger(offset)) {
      throw new ApiError("bad_pagination", `Invalid page ${page}: it is too large.`);
    }
    mode = { kind: "page", page, limit, offset };
  } else {
    mode = { kind: "all", cap: limits.absoluteMaxRows };
  }
  const star = request.select === null;
  return {
    table,
    columns,
    star,
    where,
    order,
    cursorKeys,
    mode,
    count: request.count === "exact",
    links: request.links,
    requestedLimit: paged ? requestedLimit : null,
    atMostOne: table.kind === "table" && table.primaryKey.length > 0 &&
      table.primaryKey.every((key) =>
        request.filters.some((c) =>
          c.op === "eq" && c.values.length === 1 && findColumn(table, c.column)?.name === key
        )
      ),
  };
}

/** The columns of a `select`, resolved; a column named twice (in any spelling) is `bad_select`. */
function selectColumns(names: readonly string[], table: TableInfo): ColumnInfo[] {
  const seen = new Set<ColumnInfo>();
  return names.map((name) => {
    const column = requireColumn(table, name, "select");
    if (seen.has(column)) {
      throw new ApiError(
        "bad_select",
        `Invalid select: column "${column.name}" is named more than once.`,
        { extra: { column: column.name } },
      );
    }
    seen.add(column);
    return column;
  });
}

// --- cursors ---

const CURSOR_VERSION = 1;

/** What a cursor holds: the table, the order it was made for, and the last row's keys. */
interface CursorBody {
  v: number;
  t: string;
  o: string[];
  k: (string | null)[];
}

function orderSignature(keys: readonly OrderKey[]): string[] {
  return keys.map((k) => `${k.name}:${k.direction}`);
}

function fromBase64url(text: string): string {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(
    Uint8Array.from(binary, (c) => c.charCodeAt(0)),
  );
}

/**
 * The opaque cursor after a row whose order keys have the text `values` (as
 * {@link cursorKeySql} renders them).
 */
export function encodeCursor(
  table: TableInfo,
  keys: readonly OrderKey[],
  values: (string | null)[],
): string {
  const body: CursorBody = {
    v: CURSOR_VERSION,
    t: tableParts(table).join("."),
    o: orderSignature(keys),
    k: values,
  };
  return base64url(new TextEncoder().encode(JSON.stringify(body)));
}

/** The key texts of a cursor; 400 when it is malformed or made for another table or order. */
export function decodeCursor(
  cursor: string,
  table: TableInfo,
  keys: readonly OrderKey[],
): (string | null)[] {
  let body: CursorBody;
  try {
    body = JSON.parse(fromBase64url(cursor.trim()));
  } catch {
    throw new ApiError("bad_pagination", "Invalid after cursor: it is not a cursor of this API.");
  }
  const signature = orderSignature(keys);
  if (
    typeof body !== "object" || body === null || body.v !== CURSOR_VERSION ||
    !Array.isArray(body.o) || !Array.isArray(body.k) || body.k.length !== keys.length ||
    !body.k.every((v) => v === null || typeof v === "string")
  ) {
    throw new ApiError("bad_pagination", "Invalid after cursor: it is not a cursor of this API.");
  }
  if (body.t !== tableParts(table).join(".") || body.o.join(",") !== signature.join(",")) {
    throw new ApiError(
      "bad_pagination",
      `The after cursor was made for another table or sort (${body.o.join(",")}); ` +
        `this request orders by ${signature.join(",")}.`,
    );
  }
  return body.k;
}

/** The SQL rendering a key's value as text in a cursor (base64 for BLOB). */
export function cursorKeySql(key: OrderKey): string {
  return classifyType(key.column.type) === "blob"
    ? `to_base64(${key.sql})`
    : `CAST(${key.sql} AS VARCHAR)`;
}

/**
 * Rows strictly after the cursor row in the order `keys` (NULLS LAST in both directions):
 * `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR ...))`, expanded so each key is compared once per term.
 */
export function keysetPredicate(
  keys: readonly OrderKey[],
  values: readonly (string | null)[],
): SqlFragment {
  const terms: SqlFragment[] = [];
  const equal: SqlFragment[] = [];
  keys.forEach((key, i) => {
    const text = values[i];
    const label = `after cursor (${key.name})`;
    if (text !== null) {
      const value = planValue(key.column, { text }, label);
      const symbol = key.direction === "asc" ? ">" : "<";
      let after: SqlFragment = { sql: `${key.sql} ${symbol} ${value.sql}`, params: value.params };
      if (key.column.nullable) {
        after = { sql: `(${after.sql} OR ${key.sql} IS NULL)`, params: after.params };
      }
      terms.push(and([...equal, after]));
      equal.push({ sql: `${key.sql} = ${value.sql}`, params: value.params });
    } else {
      // nothing sorts after NULL (NULLS LAST): only rows equal on this key go on
      equal.push({ sql: `${key.sql} IS NULL`, params: [] });
    }
  });
  if (terms.length === 0) return { sql: "false", params: [] };
  if (terms.length === 1) return terms[0];
  return {
    sql: `(${terms.map((t) => t.sql).join(" OR ")})`,
    params: terms.flatMap((t) => t.params),
  };
}

function and(parts: SqlFragment[]): SqlFragment {
  if (parts.length === 1) return parts[0];
  return {
    sql: `(${parts.map((p) => p.sql).join(" AND ")})`,
    params: parts.flatMap((p) => p.params),
  };
}
