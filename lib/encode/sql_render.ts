/**
 * The same value rules as `value_text.ts`, expressed in SQL, so DuckDB's own writers (`COPY … TO`,
 * FORMAT json / csv) produce exactly what the JS encoders produce. Each function returns a SQL
 * expression over a column expression, or `null` when a type has no SQL rendering here (then the
 * caller uses the JS encoders). What needs converting:
 *
 * - FLOAT/DOUBLE: NaN and ±Infinity become strings; FLOAT is printed from its own shortest text,
 *   not widened to double.
 * - BLOB: base64. TIMESTAMP*: `T` between date and time; TIMESTAMPTZ: UTC with `Z`. TIMETZ:
 *   `+HH:MM` offsets. INTERVAL: ISO 8601 duration.
 * - MAP: an object when keys are VARCHAR, else `[{"key":…,"value":…}]` pairs.
 * - CSV only: nested values as JSON text.
 * - `bigNumbers: "string"`: BIGINT, UBIGINT, HUGEINT, UHUGEINT and DECIMAL as strings.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DuckDBBlobType } from "../db/types.ts";
 * import { jsonValueSql } from "./sql_render.ts";
 * equal(jsonValueSql("x", DuckDBBlobType.instance, { bigNumbers: "number" }), "to_base64(x)");
 * ```
 * @module
 */

import {
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
} from "../db/types.ts";
import { quoteIdentifier, sqlString } from "../sql/mod.ts";
import type { JsonValueOptions } from "./value_text.ts";

/** True for VARCHAR columns holding JSON text (DuckDB's `JSON` alias). */
function isJsonText(type: DuckDBType): boolean {
  return type.typeId === DuckDBTypeId.VARCHAR && type.alias === "JSON";
}

const BIG_NUMBERS = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
]);

const NATIVE = new Set<DuckDBTypeId>([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.ENUM,
  DuckDBTypeId.UUID,
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIME,
  DuckDBTypeId.SQLNULL,
]);

function floatSql(x: string, type: DuckDBType, json: boolean): string {
  const q = (s: string) => json ? `'"${s}"'::JSON` : `'${s}'`;
  const finite = type.typeId === DuckDBTypeId.FLOAT ? `CAST(CAST(${x} AS VARCHAR) AS DOUBLE)` : x;
  const text = json ? `to_json(${finite})` : `CAST(to_json(${finite}) AS VARCHAR)`;
  return `(CASE WHEN isnan(${x}) THEN ${q("NaN")} WHEN isinf(${x}) THEN (CASE WHEN ${x} > 0 ` +
    `THEN ${q("Infinity")} ELSE ${q("-Infinity")} END) ELSE ${text} END)`;
}

/** ISO 8601 duration text of an INTERVAL expression (see `isoInterval`). */
function intervalSql(x: string): string {
  const months = `(datepart('year', ${x}) * 12 + datepart('month', ${x}))`;
  const days = `datepart('day', ${x})`;
  const micros = `(datepart('hour', ${x}) * 3600000000::BIGINT + datepart('minute', ${x}) * ` +
    `60000000::BIGINT + datepart('microsecond', ${x}))`;
  const part = (value: string, unit: string) =>
    `(CASE WHEN ${value} <> 0 THEN CAST(${value} AS VARCHAR) || '${unit}' ELSE '' END)`;
  const sign = `(CASE WHEN ${micros} < 0 THEN '-' ELSE '' END)`;
  const abs = `abs(${micros})`;
  const hours = `(${abs} // 3600000000)`;
  const minutes = `((${abs} % 3600000000) // 60000000)`;
  const seconds = `((${abs} % 60000000) // 1000000)`;
  const fraction = `rtrim(lpad(CAST(${abs} % 1000000 AS VARCHAR), 6, '0'), '0')`;
  const date = `${part(`trunc(${months} / 12)::BIGINT`, "Y")} || ${
    part(`(${months} % 12)`, "M")
  } || ${part(days, "D")}`;
  const time =
    `(CASE WHEN ${hours} <> 0 THEN ${sign} || CAST(${hours} AS VARCHAR) || 'H' ELSE '' END)` +
    ` || (CASE WHEN ${minutes} <> 0 THEN ${sign} || CAST(${minutes} AS VARCHAR) || 'M' ELSE '' END)` +
    ` || (CASE WHEN ${seconds} <> 0 OR ${fraction} <> '' THEN ${sign} || CAST(${seconds} AS VARCHAR)` +
    ` || (CASE WHEN ${fraction} <> '' THEN '.' || ${fraction} ELSE '' END) || 'S' ELSE '' END)`;
  return `(CASE WHEN ${x} IS NULL THEN NULL WHEN ${months} = 0 AND ${days} = 0 AND ${micros} = 0 ` +
    `THEN 'PT0S' ELSE 'P' || ${date} || (CASE WHEN (${time}) <> '' THEN 'T' || ${time} ELSE '' END) END)`;
}

/**
 * ISO text of a timestamp: DuckDB's own text with `T` for the space. Years 1-9999 join the DATE
 * and TIME texts, which is about twice as fast as editing the whole text (nanosecond timestamps
 * and other years take the general way).
 */
function isoTimestampSql(x: string, nanos: boolean): string {
  const general = `regexp_replace(CAST(${x} AS VARCHAR), ' ', 'T')`;
  if (nanos) return general;
  return `(CASE WHEN ${x} >= TIMESTAMP '0001-01-01' AND ${x} < TIMESTAMP '10000-01-01' THEN ` +
    `CAST(CAST(${x} AS DATE) AS VARCHAR) || 'T' || CAST(CAST(${x} AS TIME) AS VARCHAR) ` +
    `ELSE ${general} END)`;
}

/** Text rules shared by JSON strings and CSV fields; `null` when the type needs no change. */
function scalarTextSql(x: string, type: DuckDBType): string | null {
  switch (type.typeId) {
    case DuckDBTypeId.BLOB:
      return `to_base64(${x})`;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return isoTimestampSql(x, type.typeId === DuckDBTypeId.TIMESTAMP_NS);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return `(CASE WHEN isinf(${x}) THEN CAST(${x} AS VARCHAR) ELSE ` +
        `${isoTimestampSql(`CAST(${x} AS TIMESTAMP)`, false)} || 'Z' END)`;
    case DuckDBTypeId.TIME_TZ:
      return `regexp_replace(CAST(${x} AS VARCHAR), '([+-][0-9][0-9])$', '\\1:00')`;
    case DuckDBTypeId.INTERVAL:
      return intervalSql(x);
    default:
      return null;
  }
}

/**
 * A SQL expression over `x` whose DuckDB JSON rendering equals `jsonFragment` of the value;
 * `null` when the type cannot be rendered in SQL. `depth` names nested lambda variables.
 */
export function jsonValueSql(
  x: string,
  type: DuckDBType,
  options: JsonValueOptions,
  depth = 0,
): string | null {
  if (BIG_NUMBERS.has(type.typeId)) {
    return options.bigNumbers === "string" ? `CAST(${x} AS VARCHAR)` : x;
  }
  // DuckDB's JSON writer re-formats JSON text (numbers, escapes); the JS encoder keeps it as is.
  if (isJsonText(type)) return null;
  if (NATIVE.has(type.typeId)) return x;
  if (type.typeId === DuckDBTypeId.FLOAT || type.typeId === DuckDBTypeId.DOUBLE) {
    return floatSql(x, type, true);
  }
  const text = scalarTextSql(x, type);
  if (text) return text;
  const v = `v${depth}`;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const child = (type as DuckDBListType).valueType;
      const inner = jsonValueSql(v, child, options, depth + 1);
      if (inner === null) return null;
      return inner === v ? x : `list_transform(${x}, lambda ${v}: ${inner})`;
    }
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const parts: string[] = [];
      let changed = false;
      for (let i = 0; i < struct.entryCount; i++) {
        const name = struct.entryNames[i];
        const field = `struct_extract(${x}, ${sqlString(name)})`;
        const inner = jsonValueSql(field, struct.entryTypes[i], options, depth + 1);
        if (inner === null) return null;
        if (inner !== field) changed = true;
        parts.push(`${quoteIdentifier(name)} := ${inner}`);
      }
      if (!changed) return x;
      return `(CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(${parts.join(", ")}) END)`;
    }
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      const key = `struct_extract(${v}, 'key')`;
      const value = `struct_extract(${v}, 'value')`;
      const valueSql = jsonValueSql(value, map.valueType, options, depth + 1);
      if (valueSql === null) return null;
      if (map.keyType.typeId === DuckDBTypeId.VARCHAR) {
        if (valueSql === value) return x;
        return `map_from_entries(list_transform(map_entries(${x}), lambda ${v}: ` +
          `struct_pack("key" := ${key}, "value" := ${valueSql})))`;
      }
      const keySql = jsonValueSql(key, map.keyType, options, depth + 1);
      if (keySql === null) return null;
      return `list_transform(map_entries(${x}), lambda ${v}: ` +
        `struct_pack("key" := ${keySql}, "value" := ${valueSql}))`;
    }
    default:
      return null;
  }
}

/** A SQL expression over `x` giving the CSV field text of `csvText`; `null` when impossible. */
function csvValueSql(x: string, type: DuckDBType): string | null {
  if (NATIVE.has(type.typeId) || BIG_NUMBERS.has(type.typeId)) return x;
  if (type.typeId === DuckDBTypeId.FLOAT || type.typeId === DuckDBTypeId.DOUBLE) {
    return floatSql(x, type, false);
  }
  const text = scalarTextSql(x, type);
  if (text) return text;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP: {
      const json = jsonValueSql(x, type, { bigNumbers: "number" });
      return json === null ? null : `CAST(to_json(${json}) AS VARCHAR)`;
    }
    default:
      return null;
  }
}

/**
 * A SQL expression over `x` for DuckDB's Parquet writer, which would lose information on a few
 * types: HUGEINT and UHUGEINT (written as DOUBLE) become exact decimal text, TIMETZ (normalised
 * to UTC) becomes ISO text with its offset, and INTERVAL (unsigned, milliseconds in Parquet)
 * becomes `STRUCT(months INTEGER, days INTEGER, micros BIGINT)`. Everything else is written as is.
 */
export function parquetValueSql(x: string, type: DuckDBType, depth = 0): string {
  switch (type.typeId) {
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return `CAST(${x} AS VARCHAR)`;
    case DuckDBTypeId.TIME_TZ:
      return scalarTextSql(x, type)!;
    case DuckDBTypeId.INTERVAL:
      return `(CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(` +
        `months := CAST(datepart('year', ${x}) * 12 + datepart('month', ${x}) AS INTEGER), ` +
        `days := CAST(datepart('day', ${x}) AS INTEGER), ` +
        `micros := datepart('hour', ${x}) * 3600000000::BIGINT + datepart('minute', ${x}) * ` +
        `60000000::BIGINT + datepart('microsecond', ${x})) END)`;
  }
  const v = `v${depth}`;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const inner = parquetValueSql(v, (type as DuckDBListType).valueType, depth + 1);
      return inner === v ? x : `list_transform(${x}, lambda ${v}: ${inner})`;
    }
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      let changed = false;
      const parts = struct.entryNames.map((name, i) => {
        const field = `struct_extract(${x}, ${sqlString(name)})`;
        const inner = parquetValueSql(field, struct.entryTypes[i], depth + 1);
        if (inner !== field) changed = true;
        return `${quoteIdentifier(name)} := ${inner}`;
      });
      return changed
        ? `(CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(${parts.join(", ")}) END)`
        : x;
    }
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      const key = `struct_extract(${v}, 'key')`;
      const value = `struct_extract(${v}, 'value')`;
      const keySql = parquetValueSql(key, map.keyType, depth + 1);
      const valueSql = parquetValueSql(value, map.valueType, depth + 1);
      if (keySql === key && valueSql === value) return x;
      return `map_from_entries(list_transform(map_entries(${x}), lambda ${v}: ` +
        `struct_pack("key" := ${keySql}, "value" := ${valueSql})))`;
    }
    default:
      return x;
  }
}

/** Formats DuckDB can write itself. */
export type CopyFormat = "json" | "ndjson" | "csv" | "parquet";

/** A query rewritten for `COPY (select) TO … (options)`. */
export interface CopyPlan {
  /** The SELECT to copy. */
  select: string;
  /** The COPY options, without the parentheses. */
  options: string;
}

/** Options of {@link planCopy}. */
export interface CopyPlanOptions {
  json: JsonValueOptions;
  csv: { delimiter: string; nullMarker: string; header?: boolean };
  /** Most rows to write; absent or 0 for all. */
  limit?: number;
}

/**
 * `(sql)` as a subquery: trailing semicolons and white space dropped, line breaks around it so
 * a trailing `--` comment ends before the closing parenthesis.
 */
export function asSubquery(sql: string): string {
  return `(\n${sql.replace(/[\s;]+$/, "")}\n)`;
}

/**
 * Wraps `innerSql` (one SELECT whose result has `columns`, names made unique in `names`) so
 * DuckDB writes `format` with our value rules; `null` when a column type has no SQL rendering.
 * The inner text goes on its own lines so a trailing `--` comment cannot swallow the wrapper.
 */
export function planCopy(
  innerSql: string,
  types: readonly DuckDBType[],
  names: readonly string[],
  format: CopyFormat,
  options: CopyPlanOptions,
): CopyPlan | null {
  const aliases = names.map((_, i) => `c${i + 1}`);
  const exprs: string[] = [];
  for (let i = 0; i < types.length; i++) {
    const x = `q.${aliases[i]}`;
    const expr = format === "parquet"
      ? parquetValueSql(x, types[i])
      : format === "csv"
      ? csvValueSql(x, types[i])
      : jsonValueSql(x, types[i], options.json);
    if (expr === null) return null;
    exprs.push(`${expr} AS ${quoteIdentifier(names[i])}`);
  }
  const limit = options.limit ? ` LIMIT ${Math.trunc(options.limit)}` : "";
  const select = `SELECT ${exprs.join(", ")} FROM ${asSubquery(innerSql)} AS q(${
    aliases.join(", ")
  })${limit}`;
  const copyOptions = ["USE_TMP_FILE false"];
  switch (format) {
    case "json": // NDJSON; the envelope is made by joining the lines (see respond.ts)
    case "ndjson":
      copyOptions.unshift("FORMAT json");
      break;
    case "csv":
      copyOptions.unshift(
        "FORMAT csv",
        `HEADER ${options.csv.header === false ? "false" : "true"}`,
        `DELIMITER ${sqlString(options.csv.delimiter)}`,
        `NULLSTR ${sqlString(options.csv.nullMarker)}`,
        `QUOTE '"'`,
        `ESCAPE '"'`,
        `NEW_LINE '\r\n'`,
      );
      break;
    case "parquet":
      copyOptions.unshift("FORMAT parquet");
      break;
  }
  return { select, options: copyOptions.join(", ") };
}
