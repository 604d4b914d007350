/**
 * Binding request values to prepared statements without losing precision: integers bind as
 * INTEGER/BIGINT/HUGEINT, exact decimal text as DECIMAL, arrays as LIST, objects as STRUCT.
 * Parameter-count mismatches are a 400 before anything runs.
 * @module
 */

import {
  decimalValue,
  type DuckDBPreparedStatement,
  DuckDBTypeId,
  type DuckDBValue,
  listValue,
  structValue,
} from "@duckdb/node-api";
import { ApiError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "../json.ts";

/** Positional (`?`, `$1`) or named (`$name`) parameters. */
export type Params = JsonValue[] | Record<string, JsonValue>;

/** Converts a request value to a DuckDB value. */
function toDuckDBValue(value: JsonValue): DuckDBValue {
  if (value === null || typeof value !== "object") return value as DuckDBValue;
  if (value instanceof JsonNumber) return decimalFromText(value.text);
  if (Array.isArray(value)) return listValue(value.map(toDuckDBValue));
  return structValue(
    Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toDuckDBValue(v)])),
  );
}

/** Exact decimal text to a DECIMAL value (falls back to a double beyond DECIMAL(38)). */
function decimalFromText(text: string): DuckDBValue {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return Number(text);
  const [, sign, int, frac = ""] = m;
  const digits = (int + frac).replace(/^0+(?=\d)/, "");
  const width = Math.max(digits.length, frac.length + 1);
  if (width > 38) return Number(text);
  return decimalValue(BigInt(sign + (int + frac)), width, frac.length);
}

/** Binds `params` to `statement`, checking their number (or names) first. */
export function bindParams(statement: DuckDBPreparedStatement, params: Params | undefined): void {
  const expected = statement.parameterCount;
  if (params === undefined || (Array.isArray(params) && params.length === 0)) {
    if (expected > 0) {
      throw new ApiError(
        "parameter_error",
        `The statement has ${expected} parameter(s) but no params were given.`,
      );
    }
    return;
  }
  try {
    if (Array.isArray(params)) {
      if (params.length !== expected) {
        throw new ApiError(
          "parameter_error",
          `The statement has ${expected} parameter(s) but ${params.length} were given.`,
        );
      }
      params.forEach((value, i) => statement.bindValue(i + 1, toDuckDBValue(value)));
    } else {
      const names = Object.keys(params);
      if (names.length !== expected) {
        throw new ApiError(
          "parameter_error",
          `The statement has ${expected} parameter(s) but ${names.length} were given.`,
        );
      }
      for (const name of names) {
        let index: number;
        try {
          index = statement.parameterIndex(name);
        } catch {
          throw new ApiError("parameter_error", `The statement has no parameter named $${name}.`);
        }
        statement.bindValue(index, toDuckDBValue(params[name]));
      }
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError("parameter_error", `Cannot bind params: ${(err as Error).message}`);
  }
}

/** A scalar parameter of a generated statement: text binds as VARCHAR, the rest natively. */
export type ScalarParam = string | number | bigint | boolean | null;

/**
 * Binds generated parameters by position. A `bigint` binds as the integer type DuckDB inferred for
 * its placeholder (the planner checked the range), a number as DOUBLE (FLOAT when the placeholder
 * is), so DuckDB does not re-plan the statement; text binds as VARCHAR and DuckDB casts it.
 */
export function bindScalars(
  statement: DuckDBPreparedStatement,
  params: readonly ScalarParam[],
): void {
  for (let i = 0; i < params.length; i++) {
    const index = i + 1;
    const value = params[i];
    if (value === null) statement.bindNull(index);
    else if (typeof value === "string") statement.bindVarchar(index, value);
    else if (typeof value === "boolean") statement.bindBoolean(index, value);
    else if (typeof value === "number") {
      if (placeholderType(statement, index) === DuckDBTypeId.FLOAT) {
        statement.bindFloat(index, value);
      } else statement.bindDouble(index, value);
    } else bindInteger(statement, index, value);
  }
}

function placeholderType(statement: DuckDBPreparedStatement, index: number): DuckDBTypeId | null {
  try {
    return statement.parameterTypeId(index);
  } catch {
    return null;
  }
}

function bindInteger(statement: DuckDBPreparedStatement, index: number, value: bigint): void {
  switch (placeholderType(statement, index)) {
    case DuckDBTypeId.TINYINT:
      return statement.bindTinyInt(index, Number(value));
    case DuckDBTypeId.SMALLINT:
      return statement.bindSmallInt(index, Number(value));
    case DuckDBTypeId.INTEGER:
      return statement.bindInteger(index, Number(value));
    case DuckDBTypeId.UTINYINT:
      return statement.bindUTinyInt(index, Number(value));
    case DuckDBTypeId.USMALLINT:
      return statement.bindUSmallInt(index, Number(value));
    case DuckDBTypeId.UINTEGER:
      return statement.bindUInteger(index, Number(value));
    case DuckDBTypeId.UBIGINT:
      return statement.bindUBigInt(index, value);
    case DuckDBTypeId.HUGEINT:
      return statement.bindHugeInt(index, value);
    case DuckDBTypeId.UHUGEINT:
      return statement.bindUHugeInt(index, value);
    case DuckDBTypeId.BIGINT:
      return statement.bindBigInt(index, value);
    default:
      // a placeholder of another type (or unknown): let DuckDB cast the text
      return statement.bindVarchar(index, value.toString());
  }
}
