/**
 * The Arrow type of each DuckDB type, as the table in `arrow.ts` lists it: computed once per
 * column and stream (ENUM dictionaries included), never per row.
 * @module
 */

import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalMonthDayNano,
  List,
  makeData,
  makeVector,
  Map_,
  Null,
  Struct,
  TimeMicrosecond,
  TimeNanosecond,
  Timestamp,
  TimeUnit,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Vector,
} from "apache-arrow";
import {
  type DuckDBDecimalType,
  type DuckDBEnumType,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
} from "../db/types.ts";

/** One column's Arrow type plus field metadata. */
export interface ArrowColumnType {
  type: DataType;
  metadata?: Map<string, string>;
  /** Built once per stream (ENUM dictionaries). */
  dictionary?: Vector;
}

/** The Arrow types of the DuckDB types that map one to one. */
const SIMPLE: Partial<Record<DuckDBTypeId, () => DataType>> = {
  [DuckDBTypeId.BOOLEAN]: () => new Bool(),
  [DuckDBTypeId.TINYINT]: () => new Int8(),
  [DuckDBTypeId.SMALLINT]: () => new Int16(),
  [DuckDBTypeId.INTEGER]: () => new Int32(),
  [DuckDBTypeId.BIGINT]: () => new Int64(),
  [DuckDBTypeId.UTINYINT]: () => new Uint8(),
  [DuckDBTypeId.USMALLINT]: () => new Uint16(),
  [DuckDBTypeId.UINTEGER]: () => new Uint32(),
  [DuckDBTypeId.UBIGINT]: () => new Uint64(),
  [DuckDBTypeId.FLOAT]: () => new Float32(),
  [DuckDBTypeId.DOUBLE]: () => new Float64(),
  [DuckDBTypeId.HUGEINT]: () => new Decimal(0, 38, 128),
  [DuckDBTypeId.VARCHAR]: () => new Utf8(),
  [DuckDBTypeId.BLOB]: () => new Binary(),
  [DuckDBTypeId.DATE]: () => new DateDay(),
  [DuckDBTypeId.TIME]: () => new TimeMicrosecond(),
  [DuckDBTypeId.TIME_NS]: () => new TimeNanosecond(),
  [DuckDBTypeId.TIMESTAMP_S]: () => new Timestamp(TimeUnit.SECOND),
  [DuckDBTypeId.TIMESTAMP_MS]: () => new Timestamp(TimeUnit.MILLISECOND),
  [DuckDBTypeId.TIMESTAMP]: () => new Timestamp(TimeUnit.MICROSECOND),
  [DuckDBTypeId.TIMESTAMP_NS]: () => new Timestamp(TimeUnit.NANOSECOND),
  [DuckDBTypeId.TIMESTAMP_TZ]: () => new Timestamp(TimeUnit.MICROSECOND, "UTC"),
  [DuckDBTypeId.INTERVAL]: () => new IntervalMonthDayNano(),
  [DuckDBTypeId.SQLNULL]: () => new Null(),
};

/** The Arrow type of a DuckDB type (see the table in `arrow.ts`). */
export function arrowTypeOf(type: DuckDBType): ArrowColumnType {
  const simple = SIMPLE[type.typeId];
  if (simple) return { type: simple() };
  switch (type.typeId) {
    case DuckDBTypeId.DECIMAL: {
      const d = type as DuckDBDecimalType;
      return { type: new Decimal(d.scale, d.width, 128) };
    }
    case DuckDBTypeId.UUID:
      return {
        type: new FixedSizeBinary(16),
        metadata: new Map([["ARROW:extension:name", "arrow.uuid"]]),
      };
    case DuckDBTypeId.ENUM:
      return enumType(type as DuckDBEnumType);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return { type: nestedType(type) };
    default:
      return { type: new Utf8() };
  }
}

let nextDictionaryId = 0;

/** An ENUM: a dictionary of its words, with the smallest index type that holds them. */
function enumType(type: DuckDBEnumType): ArrowColumnType {
  const values = type.values;
  const indexType = values.length <= 256
    ? new Uint8()
    : values.length <= 65536
    ? new Uint16()
    : new Uint32();
  const dictionary = makeVector(utf8Data(values));
  return { type: new Dictionary(new Utf8(), indexType, nextDictionaryId++), dictionary };
}

/** LIST, ARRAY, STRUCT and MAP, recursively. */
function nestedType(type: DuckDBType): DataType {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return new List(childField("item", (type as DuckDBListType).valueType));
    case DuckDBTypeId.ARRAY: {
      // deno-lint-ignore no-explicit-any
      const t = type as any;
      return new FixedSizeList(t.length, childField("item", t.valueType));
    }
    case DuckDBTypeId.STRUCT: {
      const s = type as DuckDBStructType;
      return new Struct(s.entryNames.map((n, i) => childField(n, s.entryTypes[i])));
    }
    default: {
      const m = type as DuckDBMapType;
      const key = arrowTypeOf(m.keyType);
      const value = arrowTypeOf(m.valueType);
      const entries = new Struct([
        new Field("key", key.type, false, key.metadata),
        new Field("value", value.type, true, value.metadata),
      ]);
      return new Map_(new Field("entries", entries, false), false);
    }
  }
}

function childField(name: string, type: DuckDBType): Field {
  const t = arrowTypeOf(type);
  if (t.dictionary) {
    // Nested dictionaries would need their own dictionary batches: render ENUM children as text.
    return new Field(name, new Utf8(), true);
  }
  return new Field(name, t.type, true, t.metadata);
}

/** Arrow Utf8 data of `values`. */
export function utf8Data(values: readonly string[]): Data {
  const encoder = new TextEncoder();
  const parts = values.map((v) => encoder.encode(v));
  const offsets = new Int32Array(parts.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  parts.forEach((p, i) => bytes.set(p, offsets[i]));
  return makeData({ type: new Utf8(), length: values.length, valueOffsets: offsets, data: bytes });
}

/** MAP entries as DuckDB sees them: STRUCT(key K, value V). */
export function mapEntriesType(type: DuckDBMapType): DuckDBType {
  return {
    typeId: DuckDBTypeId.STRUCT,
    entryNames: ["key", "value"],
    entryTypes: [type.keyType, type.valueType],
  } as unknown as DuckDBType;
}

/** The column type of a child field. */
export function fieldTarget(field: Field): ArrowColumnType {
  return { type: field.type, metadata: field.metadata };
}
