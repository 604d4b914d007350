/**
 * Filters: the operator registry, the query-string grammar (`filter=` on GET, `where=` on DELETE)
 * and the JSON `where` of PUT. An operator is one row of {@link OPERATORS}: its arity and a
 * function from the quoted column and the typed values to `{ sql, params }`.
 *
 * Grammar: `column:operator:value[,column:operator:value...]`, conditions ANDed.
 * - The value is everything after the second `:`, so it may contain `:` (`t:eq:12:30:00`).
 * - `in` and `nin` take several values separated by `|` (`status:in:active|pending`).
 * - `is` takes the keyword `null` or `notnull` (`deleted_at:is:null`).
 * - A backslash escapes the separators anywhere (column or value): `\,` `\:` `\|` and `\\` stand
 *   for `,` `:` `|` and `\`. A backslash before any other character is kept as it is.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseFilter } from "./filters.ts";
 * const [c] = parseFilter("name:in:a\\,b|c", "filter");
 * deepEqual([c.op, c.values], ["in", [{ text: "a,b" }, { text: "c" }]]);
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "../json.ts";
import type { ColumnInfo, TableInfo } from "../db/catalog.ts";
import { quoteIdentifier } from "../sql/mod.ts";
import {
  classifyType,
  planTextValue,
  planValue,
  type RequestValue,
  type SqlFragment,
} from "./values.ts";
import { requireColumn } from "./_resolve.ts";

/** The name of a filter operator. */
export type OperatorName =
  | "eq"
  | "ne"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "like"
  | "ilike"
  | "in"
  | "nin"
  | "is";

/** Keywords of the `is` operator. */
export type IsKeyword = "null" | "notnull";

/** One operator of the registry. */
export interface OperatorRow {
  /** `one` value, a `list` of values, or a `keyword` (`is`). */
  arity: "one" | "list" | "keyword";
  /** Compares the column's text (its VARCHAR cast when it is not text); values bind as text. */
  textual: boolean;
  /** One line for README and error messages. */
  description: string;
  /** The SQL operator it becomes (for documentation). */
  sql: string;
  /** The condition's SQL for the quoted column and the planned values (or the keyword). */
  build(column: string, values: SqlFragment[], keyword?: IsKeyword): SqlFragment;
}

/** A comparison with one value: `column <symbol> value`. */
function compare(sql: string, description: string, textual = false): OperatorRow {
  return {
    arity: "one",
    textual,
    description,
    sql,
    build: (column, [value]) => ({ sql: `${column} ${sql} ${value.sql}`, params: value.params }),
  };
}

/** A list membership: `column <keyword> (values)`. */
function list(sql: string, description: string): OperatorRow {
  return {
    arity: "list",
    textual: false,
    description,
    sql,
    build: (column, values) => ({
      sql: `${column} ${sql} (${values.map((v) => v.sql).join(", ")})`,
      params: values.flatMap((v) => v.params),
    }),
  };
}

/** Every operator: name to registry row. */
export const OPERATORS: Readonly<Record<OperatorName, OperatorRow>> = {
  eq: compare("=", "equal"),
  ne: compare("<>", "not equal (rows where the column is NULL never match)"),
  gt: compare(">", "greater than"),
  gte: compare(">=", "greater than or equal"),
  lt: compare("<", "less than"),
  lte: compare("<=", "less than or equal"),
  like: compare(
    "LIKE",
    "SQL LIKE pattern, case-sensitive (`%` any text, `_` one character)",
    true,
  ),
  ilike: compare("ILIKE", "SQL LIKE pattern, case-insensitive", true),
  in: list("IN", "one of the values, separated by `|`"),
  nin: list("NOT IN", "none of the values, separated by `|` (NULL never matches)"),
  is: {
    arity: "keyword",
    textual: false,
    description: "`is:null` or `is:notnull`",
    sql: "IS",
    build: (column, _values, keyword) => ({
      sql: `${column} ${keyword === "null" ? "IS NULL" : "IS NOT NULL"}`,
      params: [],
    }),
  },
};

/** A condition as the request wrote it: the column not yet resolved, the values not yet typed. */
export interface Condition {
  column: string;
  op: OperatorName;
  /** One value, several (`in`, `nin`) or none (`is`). */
  values: RequestValue[];
  keyword?: IsKeyword;
  /** How the client wrote it, for error messages (e.g. `filter age:gt:abc`). */
  source: string;
}

function operatorNames(): string {
  return Object.keys(OPERATORS).join(", ");
}

function badFilter(message: string): ApiError {
  return new ApiError("bad_filter", message);
}

/** The name of an operator, or a `bad_filter` error naming `source`. */
function parseOperator(op: string, source: string): OperatorName {
  const name = op.trim().toLowerCase();
  if (!Object.hasOwn(OPERATORS, name)) {
    throw badFilter(
      `Invalid operator "${op}" in ${source}: supported operators are ${operatorNames()}.`,
    );
  }
  return name as OperatorName;
}

function parseKeyword(value: string, source: string): IsKeyword {
  const keyword = value.trim().toLowerCase().replace("_", "");
  if (keyword === "null" || keyword === "notnull") return keyword;
  throw badFilter(`Invalid value "${value}" in ${source}: "is" takes null or notnull.`);
}

/**
 * Splits `text` at every unescaped `separator`, keeping escapes in the parts; at most `limit`
 * parts (the last one takes the rest).
 */
export function splitEscaped(text: string, separator: string, limit = Infinity): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length && parts.length < limit - 1; i++) {
    if (text[i] === "\\") {
      i++;
    } else if (text[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Resolves the escapes `\,` `\:` `\|` `\\`; other backslashes stay. */
export function unescapeValue(text: string): string {
  return text.replace(/\\([,:|\\])/g, "$1");
}

/** Most conditions one request may give (all its `filter`s, or its `where`). */
export const MAX_CONDITIONS = 1000;

/** Most values one `in` or `nin` condition may list. */
export const MAX_LIST_VALUES = 10_000;

/** `conditions`, or `bad_filter` when there are more than {@link MAX_CONDITIONS}. */
export function limitConditions(conditions: Condition[]): Condition[] {
  if (conditions.length > MAX_CONDITIONS) {
    throw new ApiError(
      "bad_filter",
      `Too many conditions: ${conditions.length}; a request may give at most ${MAX_CONDITIONS}.`,
      { extra: { max_conditions: MAX_CONDITIONS } },
    );
  }
  return conditions;
}

function limitList<T>(values: T[], source: string): T[] {
  if (values.length > MAX_LIST_VALUES) {
    throw new ApiError(
      "bad_filter",
      `Invalid ${source}: ${values.length} values; "in" and "nin" take at most ` +
        `${MAX_LIST_VALUES}.`,
      { extra: { max_list_values: MAX_LIST_VALUES } },
    );
  }
  return values;
}

/** Parses a `filter=` or `where=` value into conditions (empty text: none). */
export function parseFilter(text: string, param: "filter" | "where"): Condition[] {
  if (text === "") return [];
  return splitEscaped(text, ",").map((part) => {
    const source = `${param} ${part}`;
    const pieces = splitEscaped(part, ":", 3);
    if (pieces.length < 3 || pieces[0].trim() === "") {
      throw badFilter(
        `Invalid ${param} "${part}": expected column:operator:value` +
          (part === "" ? " (empty condition)." : "."),
      );
    }
    const [column, opText, rest] = pieces;
    const op = parseOperator(unescapeValue(opText), source);
    const condition: Condition = { column: unescapeValue(column), op, values: [], source };
    const row = OPERATORS[op];
    if (row.arity === "keyword") condition.keyword = parseKeyword(unescapeValue(rest), source);
    else if (row.arity === "list") {
      condition.values = limitList(splitEscaped(rest, "|"), source)
        .map((v) => ({ text: unescapeValue(v) }));
    } else condition.values = [{ text: unescapeValue(rest) }];
    return condition;
  });
}

/**
 * Parses the `where` member of a PUT body: an object of equality conditions (`{"id": 1}`, where
 * `null` means IS NULL) or an array of `{"column", "op", "value"}` (op defaults to `eq`; `in`/`nin`
 * take an array; `is` takes `"null"` or `"notnull"`).
 */
export function parseWhereBody(where: JsonValue): Condition[] {
  if (Array.isArray(where)) {
    return limitConditions(where.map((item, i) => {
      const source = `where[${i}]`;
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        throw badFilter(
          `${source} must be an object like {"column": "id", "op": "eq", "value": 1}.`,
        );
      }
      const { column, op = "eq", value, ...rest } = item as Record<string, JsonValue>;
      const extra = Object.keys(rest);
      if (extra.length) {
        throw badFilter(
          `${source} has unknown member(s) ${extra.map((k) => `"${k}"`).join(", ")}: ` +
            'expected "column", "op" and "value".',
        );
      }
      if (typeof column !== "string" || column === "") {
        throw badFilter(`${source}.column must be a non-empty string.`);
      }
      if (typeof op !== "string") throw badFilter(`${source}.op must be a string.`);
      const name = parseOperator(op, source);
      const condition: Condition = { column, op: name, values: [], source };
      const row = OPERATORS[name];
      if (row.arity === "keyword") {
        condition.keyword = parseKeyword(value === null ? "null" : String(value), source);
      } else if (row.arity === "list") {
        if (!Array.isArray(value) || value.length === 0) {
          throw badFilter(`${source}.value must be a non-empty array for "${name}".`);
        }
        condition.values = limitList(value, source).map((v) => ({ json: v }));
      } else {
        if (value === undefined) throw badFilter(`${source}.value is missing.`);
        if (value === null) {
          throw badFilter(`${source}: compare with null using "op": "is", "value": "null".`);
        }
        condition.values = [{ json: value }];
      }
      return condition;
    }));
  }
  if (typeof where === "object" && where !== null && !(where instanceof JsonNumber)) {
    return limitConditions(
      Object.entries(where as Record<string, JsonValue>).map(([column, value]) => {
        const source = `where.${column}`;
        return value === null
          ? { column, op: "is", values: [], keyword: "null", source }
          : { column, op: "eq", values: [{ json: value }], source };
      }),
    );
  }
  throw badFilter(
    '"where" must be an object ({"id": 1}) or an array ([{"column": "id", "op": "eq", "value": 1}]).',
  );
}

/** The SQL of one condition on `table`: the column resolved in the catalog, the values typed. */
export function planCondition(condition: Condition, table: TableInfo): SqlFragment {
  const column = requireColumn(table, condition.column, condition.source);
  const row = OPERATORS[condition.op];
  const values = condition.values.map((value) =>
    row.textual ? planTextValue(value) : planValue(column, value, condition.source)
  );
  return row.build(columnSql(column, row.textual), values, condition.keyword);
}

function columnSql(column: ColumnInfo, textual: boolean): string {
  const quoted = quoteIdentifier(column.name);
  return textual && classifyType(column.type) !== "text" ? `CAST(${quoted} AS VARCHAR)` : quoted;
}
