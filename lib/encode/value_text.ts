/**
 * DuckDB values to exact text: JSON fragments (integers and DECIMAL as exact numbers, temporal
 * types in ISO 8601, BLOB as base64, nested types as arrays and objects) and CSV fields. No value
 * passes through a JS double unless it was a DOUBLE or FLOAT in the database.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { floatText, isoInterval } from "./value_text.ts";
 * equal(isoInterval(14, 3, 14706789000n), "P1Y2M3DT4H5M6.789S");
 * equal(floatText(1e21, false), "1e21");
 * ```
 * @module
 */

import {
  type DuckDBBlobValue,
  type DuckDBDateValue,
  type DuckDBIntervalValue,
  type DuckDBListType,
  type DuckDBListValue,
  type DuckDBMapType,
  type DuckDBMapValue,
  type DuckDBStructType,
  type DuckDBStructValue,
  type DuckDBTimestampValue,
  type DuckDBTimeTZValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBUnionValue,
  type DuckDBValue,
} from "../db/types.ts";

/** How wide integers and DECIMAL appear in JSON. */
export type BigNumberMode = "number" | "string";

/** Options of JSON value rendering. */
export interface JsonValueOptions {
  /** `string` quotes BIGINT, UBIGINT, HUGEINT, UHUGEINT, BIGNUM and DECIMAL for JS clients. */
  bigNumbers: BigNumberMode;
}

const DEFAULT_OPTIONS: JsonValueOptions = { bigNumbers: "number" };

/** Renders one DuckDB value of `type` as a JSON text fragment. */
export function jsonFragment(
  value: DuckDBValue,
  type: DuckDBType,
  options: JsonValueOptions = DEFAULT_OPTIONS,
): string {
  if (value === null || value === undefined) return "null";
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return value ? "true" : "false";
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return String(value);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
    case DuckDBTypeId.DECIMAL:
      return options.bigNumbers === "string" ? `"${String(value)}"` : String(value);
    case DuckDBTypeId.FLOAT:
      return floatFragment(value as number, true);
    case DuckDBTypeId.DOUBLE:
      return floatFragment(value as number, false);
    case DuckDBTypeId.VARCHAR:
      return type.alias === "JSON" ? String(value) : jsonString(String(value));
    case DuckDBTypeId.ENUM:
      return jsonString(String(value));
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.GEOMETRY:
      return jsonString(String(value));
    case DuckDBTypeId.BLOB:
      return `"${base64((value as DuckDBBlobValue).bytes)}"`;
    case DuckDBTypeId.DATE:
      return JSON.stringify(isoDate(value as DuckDBDateValue));
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return JSON.stringify(isoTimestamp(value, false));
    case DuckDBTypeId.TIMESTAMP_TZ:
      return JSON.stringify(isoTimestamp(value, true));
    case DuckDBTypeId.TIME_TZ:
      return JSON.stringify(isoTimeTz(value as DuckDBTimeTZValue));
    case DuckDBTypeId.INTERVAL: {
      const v = value as DuckDBIntervalValue;
      return `"${isoInterval(v.months, v.days, v.micros)}"`;
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.UNION:
      return nestedFragment(value, type, options);
    case DuckDBTypeId.SQLNULL:
      return "null";
    default:
      return jsonString(String(value));
  }
}

/** LIST, ARRAY, STRUCT, MAP and UNION values, recursively. */
function nestedFragment(value: DuckDBValue, type: DuckDBType, options: JsonValueOptions): string {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const child = (type as DuckDBListType).valueType;
      const items = (value as DuckDBListValue).items;
      return `[${items.map((item) => jsonFragment(item, child, options)).join(",")}]`;
    }
    case DuckDBTypeId.STRUCT: {
      const structType = type as DuckDBStructType;
      const entries = (value as DuckDBStructValue).entries;
      const parts = structType.entryNames.map((name, i) =>
        `${jsonString(name)}:${jsonFragment(entries[name], structType.entryTypes[i], options)}`
      );
      return `{${parts.join(",")}}`;
    }
    case DuckDBTypeId.MAP: {
      const mapType = type as DuckDBMapType;
      const entries = (value as DuckDBMapValue).entries;
      if (mapType.keyType.typeId === DuckDBTypeId.VARCHAR) {
        const parts = entries.map((e) =>
          `${jsonString(String(e.key))}:${jsonFragment(e.value, mapType.valueType, options)}`
        );
        return `{${parts.join(",")}}`;
      }
      const pairs = entries.map((e) =>
        `{"key":${jsonFragment(e.key, mapType.keyType, options)},"value":${
          jsonFragment(e.value, mapType.valueType, options)
        }}`
      );
      return `[${pairs.join(",")}]`;
    }
    case DuckDBTypeId.UNION: {
      const union = value as DuckDBUnionValue;
      // deno-lint-ignore no-explicit-any
      const memberTypes = (type as any).memberTypes as DuckDBType[];
      // deno-lint-ignore no-explicit-any
      const memberTags = (type as any).memberTags as string[];
      const member = memberTypes[memberTags.indexOf(union.tag)];
      return member ? jsonFragment(union.value, member, options) : JSON.stringify(String(union));
    }
    default:
      return jsonString(String(value));
  }
}

/** Shortest text that reads back as the same FLOAT or DOUBLE; NaN and infinities as strings. */
function floatFragment(value: number, single: boolean): string {
  if (Number.isNaN(value)) return '"NaN"';
  if (value === Infinity) return '"Infinity"';
  if (value === -Infinity) return '"-Infinity"';
  return floatText(value, single);
}

/**
 * Shortest round-trip decimal text of a FLOAT (single precision) or DOUBLE, written the way
 * DuckDB's JSON writer writes doubles: JavaScript's number text without `+` in the exponent, and
 * `.0` on integral values (`1.0`, `1e21`, `1.5e-7`, `-0.0`).
 */
export function floatText(value: number, single: boolean): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (Object.is(value, -0)) return "-0.0";
  let number = value;
  if (single) {
    for (let precision = 1; precision <= 9; precision++) {
      const candidate = Number(value.toPrecision(precision));
      if (Math.fround(candidate) === value) {
        number = candidate;
        break;
      }
    }
  }
  const text = String(number);
  if (text.includes("e")) return text.replace("e+", "e");
  return text.includes(".") ? text : `${text}.0`;
}

/** JSON string literal, with `\u00XX` escapes in upper case as DuckDB writes them. */
export function jsonString(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.includes("\\u") ? quoted.replace(/\\u00([0-9a-f]{2})/g, upperEscape) : quoted;
}

function upperEscape(match: string, hex: string, offset: number, whole: string): string {
  // an escaped backslash followed by "u00.." is text, not an escape
  let slashes = 0;
  for (let i = offset - 1; i >= 0 && whole[i] === "\\"; i--) slashes++;
  return slashes % 2 === 0 ? `\\u00${hex.toUpperCase()}` : match;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 of bytes. */
export function base64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] +
      (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + "=";
  }
  return out;
}

const DATE_INFINITY = 2147483647;

/** `YYYY-MM-DD` (DuckDB's own text outside years 0-9999; `infinity` / `-infinity`). */
function isoDate(value: DuckDBDateValue): string {
  if (value.days === DATE_INFINITY) return "infinity";
  if (value.days === -DATE_INFINITY) return "-infinity";
  const ms = value.days * 86_400_000;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) return String(value);
  return date.toISOString().slice(0, 10);
}

const MICROS_INFINITY = 9223372036854775807n;

/** ISO 8601 timestamp; TIMESTAMPTZ in UTC with `Z`. Fractions keep their digits, trimmed. */
function isoTimestamp(value: DuckDBValue, zoned: boolean): string {
  const v = value as unknown as Record<string, bigint>;
  let whole: bigint; // seconds
  let fraction: string; // digits after the point, untrimmed
  if ("nanos" in v) {
    whole = floorDiv(v.nanos, 1_000_000_000n);
    fraction = String(v.nanos - whole * 1_000_000_000n).padStart(9, "0");
  } else if ("millis" in v) {
    whole = floorDiv(v.millis, 1000n);
    fraction = String(v.millis - whole * 1000n).padStart(3, "0");
  } else if ("seconds" in v) {
    whole = v.seconds;
    fraction = "";
  } else {
    const micros = (value as DuckDBTimestampValue).micros;
    if (micros === MICROS_INFINITY) return "infinity";
    if (micros === -MICROS_INFINITY) return "-infinity";
    whole = floorDiv(micros, 1_000_000n);
    fraction = String(micros - whole * 1_000_000n).padStart(6, "0");
  }
  const date = new Date(Number(whole) * 1000);
  const year = date.getUTCFullYear();
  // Other years: DuckDB's own text (`10000-01-01`, `… (BC)`) with `T` for the first space.
  if (Number.isNaN(year) || year < 1 || year > 9999) return String(value).replace(" ", "T");
  const trimmed = fraction.replace(/0+$/, "");
  return date.toISOString().slice(0, 19) + (trimmed ? `.${trimmed}` : "") + (zoned ? "Z" : "");
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** `HH:MM:SS[.ffffff]+HH:MM`. */
function isoTimeTz(value: DuckDBTimeTZValue): string {
  const text = String(value); // e.g. 12:34:56+05:30 or 12:34:56+05
  return /[+-]\d\d$/.test(text) ? `${text}:00` : text;
}

/** An interval as an ISO 8601 duration (`P1Y2M3DT4H5M6.789S`; `PT0S` when empty). */
export function isoInterval(months: number, days: number, micros: bigint): string {
  const years = Math.trunc(months / 12);
  const restMonths = months % 12;
  let date = "";
  if (years) date += `${years}Y`;
  if (restMonths) date += `${restMonths}M`;
  if (days) date += `${days}D`;
  const negative = micros < 0n;
  let rest = negative ? -micros : micros;
  const hours = rest / 3_600_000_000n;
  rest %= 3_600_000_000n;
  const minutes = rest / 60_000_000n;
  rest %= 60_000_000n;
  const seconds = rest / 1_000_000n;
  const fraction = String(rest % 1_000_000n).padStart(6, "0").replace(/0+$/, "");
  const sign = negative ? "-" : "";
  let time = "";
  if (hours) time += `${sign}${hours}H`;
  if (minutes) time += `${sign}${minutes}M`;
  if (seconds || fraction) time += `${sign}${seconds}${fraction ? `.${fraction}` : ""}S`;
  if (!date && !time) return "PT0S";
  return `P${date}${time ? `T${time}` : ""}`;
}

/** Renders one value as CSV field text (before quoting); `null` for SQL NULL. */
export function csvText(value: DuckDBValue, type: DuckDBType): string | null {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.FLOAT:
      return floatText(value as number, true);
    case DuckDBTypeId.DOUBLE:
      return floatText(value as number, false);
    case DuckDBTypeId.BOOLEAN:
      return value ? "true" : "false";
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return String(value);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.BLOB:
      return jsonOrText(value, type);
    default: {
      const fragment = jsonFragment(value, type);
      return fragment.startsWith('"') ? JSON.parse(fragment) : fragment;
    }
  }
}

function jsonOrText(value: DuckDBValue, type: DuckDBType): string {
  const fragment = jsonFragment(value, type);
  return fragment.startsWith('"') && type.typeId === DuckDBTypeId.BLOB
    ? JSON.parse(fragment)
    : fragment;
}
