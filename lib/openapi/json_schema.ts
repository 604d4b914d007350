/**
 * DuckDB column types (the type text of the catalog, e.g. `DECIMAL(10,2)`, `INTEGER[]`,
 * `STRUCT(a INTEGER, "b c" VARCHAR)`) to the JSON Schema (2020-12, as used by OpenAPI 3.1) of the
 * values duckserve's JSON encoder writes for them (`lib/encode/value_text.ts`): exact integers and
 * DECIMAL as numbers, temporal types as ISO 8601 text, BLOB as base64, nested types as arrays
 * and objects, MAP with non-text keys as `{key, value}` pairs.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { columnSchema } from "./json_schema.ts";
 * const s = columnSchema("INTEGER[]", true);
 * deepEqual(s.type, ["array", "null"]);
 * equal(s.items?.format, "int32");
 * ```
 * @module
 */

/** A JSON Schema object (the subset this module writes). */
export interface JsonSchema {
  type?: string | string[];
  format?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  contentEncoding?: string;
  [keyword: string]: unknown;
}

const int = (min: number, max: number, format?: string): JsonSchema => ({
  type: "integer",
  ...(format ? { format } : {}),
  minimum: min,
  maximum: max,
});

/** Plain (argument-free) type names to their schema. */
const SIMPLE: Record<string, JsonSchema> = {
  BOOLEAN: { type: "boolean" },
  TINYINT: int(-128, 127),
  SMALLINT: int(-32768, 32767),
  INTEGER: int(-2147483648, 2147483647, "int32"),
  BIGINT: { type: "integer", format: "int64", description: "BIGINT, sent as an exact number" },
  HUGEINT: { type: "integer", description: "HUGEINT (128-bit), sent as an exact number" },
  UTINYINT: int(0, 255),
  USMALLINT: int(0, 65535),
  UINTEGER: int(0, 4294967295),
  UBIGINT: { type: "integer", minimum: 0, description: "UBIGINT, sent as an exact number" },
  UHUGEINT: { type: "integer", minimum: 0, description: "UHUGEINT, sent as an exact number" },
  BIGNUM: { type: "integer", description: "BIGNUM (arbitrary precision), an exact number" },
  VARINT: { type: "integer", description: "VARINT (arbitrary precision), an exact number" },
  FLOAT: floating("float"),
  DOUBLE: floating("double"),
  VARCHAR: { type: "string" },
  BLOB: { type: "string", contentEncoding: "base64", description: "BLOB, base64-encoded" },
  UUID: { type: "string", format: "uuid" },
  BIT: { type: "string", pattern: "^[01]*$", description: "BIT string of 0 and 1" },
  DATE: { type: "string", format: "date", description: "DATE as YYYY-MM-DD" },
  TIME: { type: "string", description: "TIME as HH:MM:SS[.ffffff]" },
  TIME_NS: { type: "string", description: "TIME as HH:MM:SS[.fffffffff]" },
  "TIME WITH TIME ZONE": { type: "string", format: "time", description: "TIMETZ, ISO 8601" },
  TIMESTAMP: localTimestamp("TIMESTAMP"),
  TIMESTAMP_S: localTimestamp("TIMESTAMP_S"),
  TIMESTAMP_MS: localTimestamp("TIMESTAMP_MS"),
  TIMESTAMP_NS: localTimestamp("TIMESTAMP_NS"),
  "TIMESTAMP WITH TIME ZONE": {
    type: "string",
    format: "date-time",
    description: "TIMESTAMPTZ, ISO 8601 in UTC with Z",
  },
  INTERVAL: { type: "string", format: "duration", description: "INTERVAL, ISO 8601 duration" },
  JSON: { description: "JSON value" },
};

/** Other spellings DuckDB accepts for the same types. */
const ALIASES: Record<string, string> = {
  BOOL: "BOOLEAN",
  LOGICAL: "BOOLEAN",
  INT1: "TINYINT",
  INT2: "SMALLINT",
  SHORT: "SMALLINT",
  INT4: "INTEGER",
  INT: "INTEGER",
  SIGNED: "INTEGER",
  INT8: "BIGINT",
  LONG: "BIGINT",
  INT16: "HUGEINT",
  INT128: "HUGEINT",
  UINT8: "UTINYINT",
  UINT16: "USMALLINT",
  UINT32: "UINTEGER",
  UINT64: "UBIGINT",
  UINT128: "UHUGEINT",
  FLOAT4: "FLOAT",
  REAL: "FLOAT",
  FLOAT8: "DOUBLE",
  CHAR: "VARCHAR",
  BPCHAR: "VARCHAR",
  TEXT: "VARCHAR",
  STRING: "VARCHAR",
  NVARCHAR: "VARCHAR",
  BYTEA: "BLOB",
  BINARY: "BLOB",
  VARBINARY: "BLOB",
  BITSTRING: "BIT",
  DATETIME: "TIMESTAMP",
  TIMESTAMPTZ: "TIMESTAMP WITH TIME ZONE",
  TIMETZ: "TIME WITH TIME ZONE",
};

function floating(format: string): JsonSchema {
  return {
    anyOf: [
      { type: "number", format },
      { type: "string", enum: ["NaN", "Infinity", "-Infinity"] },
    ],
  };
}

function localTimestamp(name: string): JsonSchema {
  return {
    type: "string",
    description: `${name} as ISO 8601 YYYY-MM-DDTHH:MM:SS[.fff], without an offset`,
  };
}

/**
 * The JSON Schema of a column of DuckDB type `type` (catalog type text). A nullable column also
 * admits `null`. Unknown types become an unconstrained schema naming the type.
 */
export function columnSchema(type: string, nullable = false): JsonSchema {
  const schema = typeSchema(type);
  return nullable ? allowNull(schema) : schema;
}

function allowNull(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === "string") {
    const nullable: JsonSchema = { ...schema, type: [schema.type, "null"] };
    if (schema.enum) nullable.enum = [...schema.enum, null];
    return nullable;
  }
  if (schema.anyOf) return { ...schema, anyOf: [...schema.anyOf, { type: "null" }] };
  return schema; // unconstrained: null is already allowed
}

function typeSchema(text: string): JsonSchema {
  const trimmed = text.trim();
  const array = splitArraySuffix(trimmed);
  if (array) {
    const items = columnSchema(array.inner, true);
    return array.size === null
      ? { type: "array", items }
      : { type: "array", items, minItems: array.size, maxItems: array.size };
  }
  const open = trimmed.indexOf("(");
  const rawName = (open < 0 ? trimmed : trimmed.slice(0, open)).trim().toUpperCase();
  const name = ALIASES[rawName] ?? rawName;
  const args = open < 0 ? [] : splitTopLevel(trimmed.slice(open + 1, trimmed.lastIndexOf(")")));
  switch (name) {
    case "DECIMAL":
    case "NUMERIC":
      return {
        type: "number",
        description: `${trimmed.toUpperCase()}, sent as an exact number`,
      };
    case "ENUM":
      return { type: "string", enum: args.map(unquote) };
    case "STRUCT": {
      const properties: Record<string, JsonSchema> = {};
      for (const field of args) {
        const [fieldName, fieldType] = splitField(field);
        properties[fieldName] = columnSchema(fieldType, true);
      }
      return {
        type: "object",
        properties,
        required: Object.keys(properties),
        additionalProperties: false,
      };
    }
    case "MAP": {
      const [keyType = "VARCHAR", valueType = "VARCHAR"] = args;
      const value = columnSchema(valueType, true);
      const key = ALIASES[keyType.trim().toUpperCase()] ?? keyType.trim().toUpperCase();
      if (key === "VARCHAR") {
        return { type: "object", additionalProperties: value, description: trimmed };
      }
      return {
        type: "array",
        description: `${trimmed}: entries as {key, value} pairs`,
        items: {
          type: "object",
          properties: { key: columnSchema(keyType, false), value },
          required: ["key", "value"],
        },
      };
    }
    case "UNION":
      return { anyOf: args.map((member) => columnSchema(splitField(member)[1], false)) };
  }
  const simple = SIMPLE[name];
  if (simple) return { ...simple };
  return { description: `DuckDB type ${trimmed}` };
}

/** `T[]` or `T[n]` at the end of the text (outside parentheses and quotes). */
function splitArraySuffix(text: string): { inner: string; size: number | null } | null {
  if (!text.endsWith("]")) return null;
  let depth = 0;
  let quote: string | null = null;
  let lastOpen = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "[" && depth === 0) lastOpen = i;
  }
  if (lastOpen <= 0) return null;
  const size = text.slice(lastOpen + 1, -1).trim();
  if (size !== "" && !/^\d+$/.test(size)) return null;
  return { inner: text.slice(0, lastOpen), size: size === "" ? null : Number(size) };
}

/** Splits `a, b(c, d), 'e,f'` on top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) {
        if (text[i + 1] === quote) i++; // doubled quote inside a quoted name or literal
        else quote = null;
      }
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(" || ch === "[") depth++;
    else if (ch === ")" || ch === "]") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== "") parts.push(last);
  return parts;
}

/** `"my field" INTEGER` or `b VARCHAR[]` to `[name, type]`. */
function splitField(field: string): [string, string] {
  const text = field.trim();
  if (text.startsWith('"')) {
    let i = 1;
    let name = "";
    while (i < text.length) {
      if (text[i] === '"') {
        if (text[i + 1] === '"') {
          name += '"';
          i += 2;
          continue;
        }
        break;
      }
      name += text[i++];
    }
    return [name, text.slice(i + 1).trim()];
  }
  const space = text.search(/\s/);
  return space < 0 ? [text, "VARCHAR"] : [text.slice(0, space), text.slice(space + 1).trim()];
}

/** `'it''s'` to `it's`. */
function unquote(literal: string): string {
  const text = literal.trim();
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replaceAll("''", "'");
  return text;
}
