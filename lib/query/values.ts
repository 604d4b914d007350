/**
 * Request values typed by their column: every value a request gives for a column becomes one bound
 * parameter plus the SQL expression that turns it into the column's DuckDB type. The parameter is a
 * native JS value when that is exact and cheap (integers as numbers when safe and in the column's
 * range, else as `bigint`; doubles, booleans, text), so DuckDB binds it without a re-plan;
 * otherwise it is the value's text, cast by DuckDB itself (`CAST(? AS DATE)`), with DuckDB's own
 * parsing rules. No request value ever appears in SQL text.
 *
 * Spellings:
 * - query-string values (filters, cursors) are text in DuckDB's literal syntax, BLOB as base64;
 * - JSON body values keep their JSON type: integers stay exact (safe ones as numbers, the others as
 *   `bigint`), exact decimals stay text, arrays and objects for LIST/STRUCT/MAP/JSON columns go
 *   through DuckDB's JSON casts.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { planValue } from "./values.ts";
 * const id = { name: "id", type: "BIGINT", nullable: false, default: null, primaryKey: true };
 * const v = planValue(id, { text: "9007199254740993" }, "filter id:eq:9007199254740993");
 * deepEqual(v, { sql: "CAST(? AS BIGINT)", params: [9007199254740993n] });
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "../json.ts";
import type { ColumnInfo } from "../db/catalog.ts";
import type { ScalarParam } from "../db/bind.ts";

/** A bound parameter: text binds as VARCHAR, `bigint` as the integer type the placeholder has. */
export type SqlParam = ScalarParam;

/** A piece of SQL with `?` placeholders and their parameters, in order. */
export interface SqlFragment {
  sql: string;
  params: SqlParam[];
}

/** How a request spelled a value: query-string text, or a JSON body value. */
export type RequestValue = { text: string } | { json: JsonValue };

/** What the planner needs to know of a column type. */
export type TypeClass =
  | "integer"
  | "float"
  | "boolean"
  | "text"
  | "blob"
  | "json"
  | "nested"
  | "other";

/** Smallest and largest value of each integer type. */
const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  TINYINT: [-(2n ** 7n), 2n ** 7n - 1n],
  SMALLINT: [-(2n ** 15n), 2n ** 15n - 1n],
  INTEGER: [-(2n ** 31n), 2n ** 31n - 1n],
  BIGINT: [-(2n ** 63n), 2n ** 63n - 1n],
  HUGEINT: [-(2n ** 127n), 2n ** 127n - 1n],
  UTINYINT: [0n, 2n ** 8n - 1n],
  USMALLINT: [0n, 2n ** 16n - 1n],
  UINTEGER: [0n, 2n ** 32n - 1n],
  UBIGINT: [0n, 2n ** 64n - 1n],
  UHUGEINT: [0n, 2n ** 128n - 1n],
};

const CLASSES = new Map<string, TypeClass>();

/** The class of a DuckDB type as the catalog spells it (`INTEGER`, `DECIMAL(10,2)`, `INT[]`...). */
export function classifyType(type: string): TypeClass {
  let known = CLASSES.get(type);
  if (known === undefined) CLASSES.set(type, known = classify(type));
  return known;
}

function classify(type: string): TypeClass {
  if (type in INTEGER_RANGES) return "integer";
  if (type === "DOUBLE" || type === "FLOAT") return "float";
  if (type === "BOOLEAN") return "boolean";
  if (type === "VARCHAR") return "text";
  if (type === "BLOB") return "blob";
  if (type === "JSON") return "json";
  if (/\]$/.test(type) || /^(STRUCT|MAP|UNION)\(/.test(type)) return "nested";
  return "other";
}

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  t: true,
  f: false,
  "1": true,
  "0": false,
};

function mismatch(column: ColumnInfo, label: string, what: string): ApiError {
  return new ApiError(
    "conversion_error",
    `${label}: ${what} is not a valid ${column.type} for column "${column.name}".`,
    { extra: { column: column.name } },
  );
}

function describe(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof JsonNumber) return `the number ${value.text}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `the number ${value}`;
  return `the ${typeof value} ${String(value)}`;
}

/** JSON text of a body value, exact for big integers and decimals. */
export function stringifyJson(value: JsonValue): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringifyJson).join(",")}]`;
  if (typeof value === "object") {
    return `{${
      Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`).join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** The text of a scalar JSON value (for text-typed targets); null for arrays and objects. */
function scalarText(value: JsonValue): string | null {
  if (value === null || typeof value !== "object") return String(value);
  if (value instanceof JsonNumber) return value.text;
  return null;
}

function integerParam(column: ColumnInfo, label: string, raw: string, shown: string): bigint {
  if (!INTEGER_TEXT.test(raw)) throw mismatch(column, label, shown);
  const value = BigInt(raw.trim());
  const [min, max] = INTEGER_RANGES[column.type];
  if (value < min || value > max) {
    throw new ApiError(
      "conversion_error",
      `${label}: ${value} is out of range for column "${column.name}" (${column.type}: ${min} to ${max}).`,
      { extra: { column: column.name } },
    );
  }
  return value;
}

/** `CAST(? AS type)`: the column's type is catalog text, never request text. */
function cast(type: string): string {
  return `CAST(? AS ${type})`;
}

/** Where a value came from: query-string text or a JSON body. */
export type ValueSource = "text" | "json";

/**
 * The SQL expression (one `?`) that turns a parameter into a value of `column`'s type. It depends
 * only on the type and the source, so the statement text is the same for every request of the
 * same shape (and every row of a bulk insert).
 */
export function valueSql(column: ColumnInfo, source: ValueSource): string {
  switch (classifyType(column.type)) {
    case "text":
      return "?";
    case "blob":
      return "from_base64(?)";
    case "json":
      return cast("JSON");
    case "nested":
      return source === "json" ? `CAST(CAST(? AS JSON) AS ${column.type})` : cast(column.type);
    default:
      return cast(column.type);
  }
}

/**
 * The parameter for `value` as a value of `column`'s type (see {@link valueSql} for the SQL
 * around it). Throws `conversion_error` (400, naming the column and `label`) for values that can
 * never fit, such as `5.5` for an INTEGER; values only DuckDB can judge (dates, UUIDs...) fail
 * when the statement runs.
 */
export function valueParam(column: ColumnInfo, value: RequestValue, label: string): SqlParam {
  const kind = classifyType(column.type);
  if ("text" in value) return textParam(column, kind, value.text, label);
  const json = value.json;
  if (json === null) return null;
  switch (kind) {
    case "json":
    case "nested":
      return stringifyJson(json);
    case "integer":
      if (typeof json === "number" && Number.isSafeInteger(json)) {
        // The common case, without a detour through text and bigint: in range, it binds exactly.
        const [min, max] = INTEGER_RANGES[column.type];
        if (json >= Number(min) && json <= Number(max)) return json;
      }
      if (typeof json === "bigint") return textParam(column, kind, json.toString(), label);
      if (typeof json === "number" && Number.isInteger(json)) {
        return textParam(column, kind, BigInt(json).toString(), label);
      }
      if (typeof json === "string") return textParam(column, kind, json, label);
      throw mismatch(column, label, describe(json));
    case "float":
      if (typeof json === "number") return column.type === "DOUBLE" ? json : String(json);
      if (typeof json === "bigint" || json instanceof JsonNumber) return json.toString();
      if (typeof json === "string") return textParam(column, kind, json, label);
      throw mismatch(column, label, describe(json));
    case "boolean":
      if (typeof json === "boolean") return json;
      if (typeof json === "string") return textParam(column, kind, json, label);
      throw mismatch(column, label, describe(json));
    case "blob":
      if (typeof json === "string") return json;
      throw mismatch(column, label, `${describe(json)} (BLOB values are base64 strings)`);
    default: {
      const text = scalarText(json);
      if (text === null) throw mismatch(column, label, describe(json));
      return textParam(column, kind, text, label);
    }
  }
}

function textParam(column: ColumnInfo, kind: TypeClass, text: string, label: string): SqlParam {
  switch (kind) {
    case "integer":
      return integerParam(column, label, text, JSON.stringify(text));
    case "float": {
      // Plain decimal text parses exactly as DuckDB would; other spellings go to DuckDB.
      const number = column.type === "DOUBLE" && FLOAT_TEXT.test(text) ? Number(text) : NaN;
      return Number.isFinite(number) ? number : text;
    }
    case "boolean":
      return BOOLEAN_TEXT[text.trim().toLowerCase()] ?? text;
    default:
      return text;
  }
}

/** {@link valueSql} and {@link valueParam} together: one typed placeholder. */
export function planValue(column: ColumnInfo, value: RequestValue, label: string): SqlFragment {
  return {
    sql: valueSql(column, "text" in value ? "text" : "json"),
    params: [valueParam(column, value, label)],
  };
}

/** A parameter as text (how a bulk insert stages it): `null` stays null. */
export function paramText(param: SqlParam): string | null {
  return param === null ? null : String(param);
}

/** A value compared as text (`like`, `ilike`): always a VARCHAR parameter. */
export function planTextValue(value: RequestValue): SqlFragment {
  if ("text" in value) return { sql: "?", params: [value.text] };
  const text = scalarText(value.json);
  return { sql: "?", params: [text ?? stringifyJson(value.json)] };
}
