/**
 * Binding request values to prepared statements without losing precision: integers bind as
 * INTEGER/BIGINT/HUGEINT, exact decimal text as DECIMAL, arrays as LIST, objects as STRUCT.
 * Parameter-count mismatches are a 400 before anything runs.
 *
 * Request values become driver values in one pass, linear in their size: each value's type is
 * built bottom-up once (a list's item type is its first non-NULL item's, widened over numbers), and
 * every LIST and STRUCT type keeps its engine type once made, where the driver would rebuild the
 * whole nested type at every level (quadratic in the depth). A request's params are converted
 * once, however many statements they bind to.
 * @module
 */

import {
  ANY,
  BIGINT,
  BOOLEAN,
  DECIMAL,
  decimalValue,
  DOUBLE,
  DuckDBListType,
  type DuckDBLogicalType,
  type DuckDBPreparedStatement,
  DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  HUGEINT,
  INTEGER,
  listValue,
  SQLNULL,
  structValue,
  VARCHAR,
} from "@duckdb/node-api";
import { ApiError } from "../errors.ts";
import { checkGuard, type Guard } from "./run.ts";
import { JsonNumber, type JsonValue, MAX_JSON_DEPTH } from "../json.ts";

/** Positional (`?`, `$1`) or named (`$name`) parameters. */
export type Params = JsonValue[] | Record<string, JsonValue>;

/** A LIST type that builds its engine type once (the driver's rebuilds it on every call). */
class BuiltListType extends DuckDBListType {
  #logical: DuckDBLogicalType | undefined;
  override toLogicalType(): DuckDBLogicalType {
    return this.#logical ??= super.toLogicalType();
  }
}

/** A STRUCT type that builds its engine type once. */
class BuiltStructType extends DuckDBStructType {
  #logical: DuckDBLogicalType | undefined;
  override toLogicalType(): DuckDBLogicalType {
    return this.#logical ??= super.toLogicalType();
  }
}

/** A request value as the driver binds it: the value and its type. */
interface Typed {
  value: DuckDBValue;
  type: DuckDBType;
}

/** Numbers of JS `number` values, narrowest first: a list of them takes the widest. */
const NUMBER_RANK = new Map<DuckDBType, number>([[INTEGER, 0], [BIGINT, 1], [DOUBLE, 2]]);

function numberType(value: number): DuckDBType {
  if (!Number.isInteger(value)) return DOUBLE;
  return value >= -2_147_483_648 && value <= 2_147_483_647 ? INTEGER : BIGINT;
}

/** The item type of a list: its first non-NULL item's, widened over plain numbers. */
function itemType(items: readonly Typed[]): DuckDBType {
  let type: DuckDBType | null = null;
  for (const item of items) {
    if (item.type === SQLNULL) continue;
    if (type === null) type = item.type;
    else if (type !== item.type) {
      const a = NUMBER_RANK.get(type);
      const b = NUMBER_RANK.get(item.type);
      if (a === undefined || b === undefined) break; // the driver names the mismatch
      if (b > a) type = item.type;
    }
  }
  return type ?? ANY;
}

/**
 * Most values a request's params may hold, counting every array item and object member at every
 * level. The driver makes one engine value per value it binds, and its cost grows faster than
 * their number (a list of 100,000 small lists took 40 s to bind, a list of 300,000 integers once
 * blocked the process for minutes); 10,000 bind in milliseconds.
 */
export const MAX_PARAM_VALUES = 10_000;

/** What a conversion has seen so far, and the request's guard. */
interface Budget {
  values: number;
  guard?: Guard;
}

/** Values converted between two looks at the guard's deadline. */
const GUARD_STRIDE = 256;

function tooMany(): ApiError {
  return new ApiError(
    "invalid_request",
    `params hold more than ${MAX_PARAM_VALUES} values (the limit is ${MAX_PARAM_VALUES}, ` +
      "counting every array item and object member); load large data into a table instead.",
    { extra: { max_values: MAX_PARAM_VALUES } },
  );
}

/** Converts a request value to a driver value and its type (see the module doc). */
function toTyped(value: JsonValue, budget: Budget, depth = 0): Typed {
  if (++budget.values > MAX_PARAM_VALUES) throw tooMany();
  if (budget.guard && budget.values % GUARD_STRIDE === 0) checkGuard(budget.guard);
  if (value === null) return { value: null, type: SQLNULL };
  switch (typeof value) {
    case "boolean":
      return { value, type: BOOLEAN };
    case "number":
      return { value, type: numberType(value) };
    case "bigint":
      return { value, type: HUGEINT };
    case "string":
      return { value, type: VARCHAR };
  }
  if (value instanceof JsonNumber) return decimalFromText(value.text);
  if (depth >= MAX_JSON_DEPTH) {
    throw new ApiError(
      "invalid_request",
      `params nest arrays and objects more than ${MAX_JSON_DEPTH} levels deep ` +
        `(the limit is ${MAX_JSON_DEPTH}).`,
      { extra: { max_depth: MAX_JSON_DEPTH } },
    );
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => toTyped(item, budget, depth + 1));
    return {
      value: listValue(items.map((item) => item.value)),
      type: new BuiltListType(itemType(items)),
    };
  }
  const names = Object.keys(value);
  const entries = names.map((name) => toTyped(value[name], budget, depth + 1));
  const values: Record<string, DuckDBValue> = {};
  names.forEach((name, i) => values[name] = entries[i].value);
  return {
    value: structValue(values),
    type: new BuiltStructType(names, entries.map((entry) => entry.type)),
  };
}

/** Exact decimal text to a DECIMAL value (falls back to a double beyond DECIMAL(38)). */
function decimalFromText(text: string): Typed {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return { value: Number(text), type: DOUBLE };
  const [, sign, int, frac = ""] = m;
  const digits = (int + frac).replace(/^0+(?=\d)/, "");
  const width = Math.max(digits.length, frac.length + 1);
  if (width > 38) return { value: Number(text), type: DOUBLE };
  return {
    value: decimalValue(BigInt(sign + (int + frac)), width, frac.length),
    type: DECIMAL(width, frac.length),
  };
}

/** The converted params of a request (by identity: one conversion per request). */
const CONVERTED = new WeakMap<Params, Typed[] | Map<string, Typed>>();

function converted(params: Params, guard?: Guard): Typed[] | Map<string, Typed> {
  let done = CONVERTED.get(params);
  if (done === undefined) {
    const budget: Budget = { values: 0, guard };
    done = Array.isArray(params)
      ? params.map((value) => toTyped(value, budget))
      : new Map(Object.entries(params).map(([name, value]) => [name, toTyped(value, budget)]));
    if (guard) checkGuard(guard);
    CONVERTED.set(params, done);
  }
  return done;
}

/**
 * Converts request params for binding, once (later binds of the same params reuse the result):
 * 400 `invalid_request` when they nest deeper than {@link MAX_JSON_DEPTH} levels or hold more
 * than {@link MAX_PARAM_VALUES} values. Call it while parsing, so nothing runs with bad params.
 * With the request's `guard`, the conversion counts against its `query_timeout` (504
 * `query_timeout` once the deadline has passed, looked at every few hundred values).
 */
export function checkParams(params: Params, guard?: Guard): void {
  converted(params, guard);
}

function bindTyped(statement: DuckDBPreparedStatement, index: number, typed: Typed): void {
  statement.bindValue(index, typed.value, typed.type);
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
      (converted(params) as Typed[]).forEach((typed, i) => bindTyped(statement, i + 1, typed));
    } else {
      const names = Object.keys(params);
      if (names.length !== expected) {
        throw new ApiError(
          "parameter_error",
          `The statement has ${expected} parameter(s) but ${names.length} were given.`,
        );
      }
      const values = converted(params) as Map<string, Typed>;
      for (const name of names) {
        let index: number;
        try {
          index = statement.parameterIndex(name);
        } catch {
          throw new ApiError("parameter_error", `The statement has no parameter named $${name}.`);
        }
        bindTyped(statement, index, values.get(name)!);
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
