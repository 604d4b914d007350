/**
 * Arrow IPC stream format, built from DuckDB result chunks without a per-value round trip through
 * JS values: fixed-width columns are copied from the chunk's buffers, strings and blobs as bytes,
 * validity as bitmaps (DuckDB's validity words have Arrow's bit order). The IPC framing is written
 * by `apache-arrow` (`makeData` + `RecordBatchStreamWriter`).
 *
 * Type mapping (exact unless noted):
 * | DuckDB | Arrow |
 * | --- | --- |
 * | BOOLEAN, (U)TINYINT … (U)BIGINT, FLOAT, DOUBLE | Bool, Int8 … Uint64, Float32, Float64 |
 * | HUGEINT | Decimal128(38, 0) |
 * | UHUGEINT, BIGNUM, BIT, UNION, TIMETZ, other types | Utf8 (the JSON/text rendering) |
 * | DECIMAL(w, s) | Decimal128(w, s) |
 * | VARCHAR / BLOB | Utf8 / Binary |
 * | UUID | FixedSizeBinary(16), canonical byte order, extension `arrow.uuid` |
 * | DATE, TIME, TIME_NS | Date32 (days), Time64 (µs), Time64 (ns) |
 * | TIMESTAMP_S / _MS / (µs) / _NS | Timestamp(s / ms / µs / ns) without zone |
 * | TIMESTAMPTZ | Timestamp(µs, "UTC") |
 * | INTERVAL | Interval(MonthDayNano) |
 * | ENUM | Dictionary(Utf8, Uint8/16/32 indices) |
 * | LIST / ARRAY / STRUCT / MAP | List / FixedSizeList / Struct / Map (recursively) |
 * @module
 */

import {
  type Data,
  Field,
  type FixedSizeList,
  type List,
  makeData,
  type Map_,
  Null,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
} from "apache-arrow";
import {
  type DuckDBEnumType,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBVector,
} from "../db/types.ts";
import { type Column, type RowBatch, uniqueColumnNames } from "../db/rows.ts";
import type { StreamEncoder } from "./stream_encoder.ts";
import { concatBytes } from "../bytes.ts";
import { type ArrowColumnType, arrowTypeOf, fieldTarget, mapEntriesType } from "./arrow_types.ts";
import {
  arrayChildren,
  booleanBits,
  decimal128,
  enumText,
  intervalData,
  listEntries,
  type RawVector,
  type Selection,
  takeItems,
  textData,
  type TypedArray,
  uuidBytes,
  validityOf,
  varBytes,
} from "./arrow_vectors.ts";

/** Builds the Arrow data of rows `sel` of `vector` (of DuckDB `type`, Arrow `target`). */
function columnData(
  vector: DuckDBVector,
  type: DuckDBType,
  target: ArrowColumnType,
  sel: Selection,
): Data {
  const raw = vector as unknown as RawVector;
  // A MAP vector wraps a LIST vector, which holds the validity.
  const v = validityOf(
    type.typeId === DuckDBTypeId.MAP ? raw.listVector as unknown as RawVector : raw,
    sel,
  );
  const base = { length: sel.count, nullCount: v.nullCount, nullBitmap: v.nullBitmap };
  const make = (props: Record<string, unknown>) =>
    // deno-lint-ignore no-explicit-any
    makeData({ type: target.type, ...base, ...props } as any);
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return make({ data: booleanBits(raw, sel) });
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DATE:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return make({ data: takeItems(raw.items as unknown as TypedArray, sel) });
    case DuckDBTypeId.ENUM: {
      const items = takeItems(raw.items as unknown as TypedArray, sel);
      if (target.dictionary) return make({ data: items, dictionary: target.dictionary });
      // Nested ENUMs are plain text (see childField).
      return make(enumText(type as DuckDBEnumType, items, sel, v.nullBitmap));
    }
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.DECIMAL:
      return make({ data: decimal128(raw, type, sel) });
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BLOB: {
      const { offsets, data } = varBytes(raw, sel, v.nullBitmap);
      return make({ valueOffsets: offsets, data });
    }
    case DuckDBTypeId.UUID:
      return make({ data: uuidBytes(raw, sel) });
    case DuckDBTypeId.INTERVAL:
      return make({ data: intervalData(raw, sel) });
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
      return make(nestedData(vector, type, target, sel, v.nullBitmap));
    case DuckDBTypeId.SQLNULL:
      return makeData({ type: new Null(), length: sel.count });
    default:
      return textData(raw, type, sel, v);
  }
}

/** The children (and offsets) of LIST, MAP, ARRAY and STRUCT rows, recursively. */
function nestedData(
  vector: DuckDBVector,
  type: DuckDBType,
  target: ArrowColumnType,
  sel: Selection,
  valid: Uint8Array | undefined,
): Record<string, unknown> {
  const raw = vector as unknown as RawVector;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP: {
      const list =
        (type.typeId === DuckDBTypeId.MAP ? raw.listVector! : vector) as unknown as RawVector;
      const { offsets, childSel } = listEntries(list, sel, valid);
      const childType = type.typeId === DuckDBTypeId.MAP
        ? mapEntriesType(type as DuckDBMapType)
        : (type as DuckDBListType).valueType;
      const childTarget = (target.type as List | Map_).children[0];
      const child = columnData(list.childData!, childType, fieldTarget(childTarget), childSel);
      return { valueOffsets: offsets, child };
    }
    case DuckDBTypeId.ARRAY: {
      // deno-lint-ignore no-explicit-any
      const array = type as any;
      const childSel = arrayChildren(sel, array.length as number);
      const childTarget = (target.type as FixedSizeList).children[0];
      const child = columnData(
        raw.childData!,
        array.valueType as DuckDBType,
        fieldTarget(childTarget),
        childSel,
      );
      return { child };
    }
    default: {
      const s = type as DuckDBStructType;
      const fields = (target.type as Struct).children;
      const children = s.entryTypes.map((t, i) =>
        columnData(raw.entryVectors![i], t, fieldTarget(fields[i]), sel)
      );
      return { children };
    }
  }
}

/** An Arrow IPC stream encoder for `columns`: the schema first, one record batch per chunk. */
export function createArrowEncoder(columns: readonly Column[]): StreamEncoder {
  const targets = columns.map((c) => arrowTypeOf(c.type));
  const names = uniqueColumnNames(columns.map((c) => c.name));
  const schema = new Schema(
    columns.map((_, i) => new Field(names[i], targets[i].type, true, targets[i].metadata)),
  );
  const writer = new RecordBatchStreamWriter();
  // Collect what the writer emits per call instead of its async queue.
  let parts: Uint8Array[] = [];
  const sink = { write: (part: Uint8Array) => void parts.push(part) };
  // deno-lint-ignore no-explicit-any
  (writer as any)._sink = sink;
  const drain = (): Uint8Array => {
    const taken = parts;
    parts = [];
    return concatBytes(taken);
  };
  return {
    head() {
      // The schema goes first, so an empty result is still a valid stream.
      // deno-lint-ignore no-explicit-any
      writer.reset(sink as any, schema);
      return drain();
    },
    batch(batch: RowBatch) {
      if (batch.rows === 0) return new Uint8Array(0);
      const children = columns.map((c, i) =>
        columnData(batch.chunk.getColumnVector(i), c.type, targets[i], {
          start: 0,
          count: batch.rows,
        })
      );
      const data = makeData({ type: new Struct(schema.fields), length: batch.rows, children });
      writer.write(new RecordBatch(schema, data));
      return drain();
    },
    tail() {
      // deno-lint-ignore no-explicit-any
      (writer as any)._writeFooter(schema); // the end-of-stream marker
      return drain();
    },
  };
}
