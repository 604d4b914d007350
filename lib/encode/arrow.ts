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
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
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
  DuckDBBlobVector,
  type DuckDBDecimalType,
  type DuckDBEnumType,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBVector,
} from "@duckdb/node-api";
import { type Column, type RowBatch, uniqueColumnNames } from "./source.ts";
import type { StreamEncoder } from "./formats.ts";
import { jsonFragment } from "./values.ts";
import { concatBytes } from "../bytes.ts";

/** The internals of a driver vector this module reads (private in the driver's typings). */
interface RawVector {
  items?: ArrayLike<number | bigint> & { subarray(a: number, b: number): unknown };
  dataView?: DataView;
  validity: { data: BigUint64Array | null; offset: number };
  entryData?: BigUint64Array;
  childData?: DuckDBVector;
  entryVectors?: DuckDBVector[];
  listVector?: DuckDBVector;
  getItem(i: number): unknown;
  itemOffset?: number;
}

/** Rows of a vector to take: a contiguous range, or (for scattered list children) indices. */
interface Selection {
  start: number;
  count: number;
  indices?: Int32Array;
}

const at = (sel: Selection, i: number) => sel.indices ? sel.indices[i] : sel.start + i;

/** One column's Arrow type plus field metadata. */
interface ArrowColumnType {
  type: DataType;
  metadata?: Map<string, string>;
  /** Built once per stream (ENUM dictionaries). */
  dictionary?: Vector;
}

/** The Arrow type of a DuckDB type (see the module table). */
function arrowTypeOf(type: DuckDBType): ArrowColumnType {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { type: new Bool() };
    case DuckDBTypeId.TINYINT:
      return { type: new Int8() };
    case DuckDBTypeId.SMALLINT:
      return { type: new Int16() };
    case DuckDBTypeId.INTEGER:
      return { type: new Int32() };
    case DuckDBTypeId.BIGINT:
      return { type: new Int64() };
    case DuckDBTypeId.UTINYINT:
      return { type: new Uint8() };
    case DuckDBTypeId.USMALLINT:
      return { type: new Uint16() };
    case DuckDBTypeId.UINTEGER:
      return { type: new Uint32() };
    case DuckDBTypeId.UBIGINT:
      return { type: new Uint64() };
    case DuckDBTypeId.FLOAT:
      return { type: new Float32() };
    case DuckDBTypeId.DOUBLE:
      return { type: new Float64() };
    case DuckDBTypeId.HUGEINT:
      return { type: new Decimal(0, 38, 128) };
    case DuckDBTypeId.DECIMAL: {
      const d = type as DuckDBDecimalType;
      return { type: new Decimal(d.scale, d.width, 128) };
    }
    case DuckDBTypeId.VARCHAR:
      return { type: new Utf8() };
    case DuckDBTypeId.BLOB:
      return { type: new Binary() };
    case DuckDBTypeId.UUID:
      return {
        type: new FixedSizeBinary(16),
        metadata: new Map([["ARROW:extension:name", "arrow.uuid"]]),
      };
    case DuckDBTypeId.DATE:
      return { type: new DateDay() };
    case DuckDBTypeId.TIME:
      return { type: new TimeMicrosecond() };
    case DuckDBTypeId.TIME_NS:
      return { type: new TimeNanosecond() };
    case DuckDBTypeId.TIMESTAMP_S:
      return { type: new Timestamp(TimeUnit.SECOND) };
    case DuckDBTypeId.TIMESTAMP_MS:
      return { type: new Timestamp(TimeUnit.MILLISECOND) };
    case DuckDBTypeId.TIMESTAMP:
      return { type: new Timestamp(TimeUnit.MICROSECOND) };
    case DuckDBTypeId.TIMESTAMP_NS:
      return { type: new Timestamp(TimeUnit.NANOSECOND) };
    case DuckDBTypeId.TIMESTAMP_TZ:
      return { type: new Timestamp(TimeUnit.MICROSECOND, "UTC") };
    case DuckDBTypeId.INTERVAL:
      return { type: new IntervalMonthDayNano() };
    case DuckDBTypeId.ENUM: {
      const values = (type as DuckDBEnumType).values;
      const indexType = values.length <= 256
        ? new Uint8()
        : values.length <= 65536
        ? new Uint16()
        : new Uint32();
      const dictionary = makeVector(utf8Data(values));
      return { type: new Dictionary(new Utf8(), indexType, nextDictionaryId++), dictionary };
    }
    case DuckDBTypeId.LIST:
      return { type: new List(childField("item", (type as DuckDBListType).valueType)) };
    case DuckDBTypeId.ARRAY: {
      // deno-lint-ignore no-explicit-any
      const t = type as any;
      return { type: new FixedSizeList(t.length, childField("item", t.valueType)) };
    }
    case DuckDBTypeId.STRUCT: {
      const s = type as DuckDBStructType;
      return { type: new Struct(s.entryNames.map((n, i) => childField(n, s.entryTypes[i]))) };
    }
    case DuckDBTypeId.MAP: {
      const m = type as DuckDBMapType;
      const key = arrowTypeOf(m.keyType);
      const value = arrowTypeOf(m.valueType);
      const entries = new Struct([
        new Field("key", key.type, false, key.metadata),
        new Field("value", value.type, true, value.metadata),
      ]);
      return { type: new Map_(new Field("entries", entries, false), false) };
    }
    case DuckDBTypeId.SQLNULL:
      return { type: new Null() };
    default:
      return { type: new Utf8() };
  }
}

let nextDictionaryId = 0;

function childField(name: string, type: DuckDBType): Field {
  const t = arrowTypeOf(type);
  if (t.dictionary) {
    // Nested dictionaries would need their own dictionary batches: render ENUM children as text.
    return new Field(name, new Utf8(), true);
  }
  return new Field(name, t.type, true, t.metadata);
}

function utf8Data(values: readonly string[]): Data {
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

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

/** The validity of the selected rows as an Arrow bitmap (`undefined` when all are valid). */
function validityOf(
  raw: RawVector,
  sel: Selection,
): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  const words = raw.validity?.data;
  if (!words) return { nullBitmap: undefined, nullCount: 0 };
  const bits = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const base = raw.validity.offset;
  const out = new Uint8Array((sel.count + 7) >> 3);
  let nulls = 0;
  const first = base + sel.start;
  if (!sel.indices && (first & 7) === 0) {
    // Byte-aligned: copy the bitmap and count its zero bits.
    out.set(bits.subarray(first >> 3, (first >> 3) + out.length));
    const tail = sel.count & 7;
    if (tail) out[out.length - 1] &= (1 << tail) - 1;
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== 0xff) nulls += 8 - POPCOUNT[out[i]];
    }
    if (tail) nulls -= 8 - tail;
    return nulls === 0
      ? { nullBitmap: undefined, nullCount: 0 }
      : { nullBitmap: out, nullCount: nulls };
  }
  for (let i = 0; i < sel.count; i++) {
    const bit = base + at(sel, i);
    if (bits[bit >> 3] & (1 << (bit & 7))) out[i >> 3] |= 1 << (i & 7);
    else nulls++;
  }
  return nulls === 0
    ? { nullBitmap: undefined, nullCount: 0 }
    : { nullBitmap: out, nullCount: nulls };
}

type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

function takeItems<T extends TypedArray>(items: T, sel: Selection): T {
  if (!sel.indices) return items.slice(sel.start, sel.start + sel.count) as T;
  // deno-lint-ignore no-explicit-any
  const out = new (items.constructor as any)(sel.count) as T;
  for (let i = 0; i < sel.count; i++) out[i] = items[sel.indices[i]];
  return out;
}

const blobBytes = DuckDBBlobVector.prototype.getItemBytes;

/** Bytes of strings/blobs: offsets plus one data buffer. */
function varBytes(raw: RawVector, sel: Selection, valid: Uint8Array | undefined) {
  const view = raw.dataView!;
  const offsets = new Int32Array(sel.count + 1);
  let total = 0;
  for (let i = 0; i < sel.count; i++) {
    if (!valid || valid[i >> 3] & (1 << (i & 7))) total += view.getUint32(at(sel, i) * 16, true);
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  const base = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  // Long strings live outside the 16-byte entries, one native call each to read. Consecutive
  // long strings are usually adjacent in DuckDB's string heap: read each adjacent run at once.
  let runStart = 0; // address of the run's first byte
  let runLength = 0;
  let runFirst = 0; // first row (index into sel) of the run
  const flush = (end: number) => {
    if (runLength === 0) return;
    const bytes = readAt(runStart, runLength);
    let from = 0;
    for (let i = runFirst; i < end; i++) {
      const length = offsets[i + 1] - offsets[i];
      if (length <= 12) continue;
      data.set(bytes.subarray(from, from + length), offsets[i]);
      from += length;
    }
    runLength = 0;
  };
  for (let i = 0; i < sel.count; i++) {
    const length = offsets[i + 1] - offsets[i];
    if (length === 0) continue;
    const entry = at(sel, i) * 16;
    if (length <= 12) {
      data.set(base.subarray(entry + 4, entry + 4 + length), offsets[i]);
      continue;
    }
    const address = view.getUint32(entry + 8, true) + view.getUint32(entry + 12, true) * 2 ** 32;
    if (runLength > 0 && address === runStart + runLength) {
      runLength += length;
    } else {
      flush(i);
      runStart = address;
      runLength = length;
      runFirst = i;
    }
  }
  flush(sel.count);
  return { offsets, data };
}

const addressView = new DataView(new ArrayBuffer(16));
const addressReader = { dataView: addressView, validity: { itemValid: () => true } };

/** Copies `length` (> 12) bytes at a native address, through the driver's string accessor. */
function readAt(address: number, length: number): Uint8Array {
  addressView.setUint32(0, length, true);
  addressView.setUint32(8, address % 2 ** 32, true);
  addressView.setUint32(12, Math.floor(address / 2 ** 32), true);
  return blobBytes.call(addressReader as unknown as DuckDBBlobVector, 0)!;
}

function textData(
  raw: RawVector,
  type: DuckDBType,
  sel: Selection,
  v: ReturnType<typeof validityOf>,
) {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets = new Int32Array(sel.count + 1);
  let total = 0;
  for (let i = 0; i < sel.count; i++) {
    const value = raw.getItem(at(sel, i));
    if (value !== null && value !== undefined) {
      const fragment = jsonFragment(value as never, type);
      const text = fragment.startsWith('"') ? JSON.parse(fragment) : fragment;
      const bytes = encoder.encode(text);
      parts.push(bytes);
      total += bytes.length;
    }
    offsets[i + 1] = total;
  }
  const data = concatBytes(parts);
  return makeData({
    type: new Utf8(),
    length: sel.count,
    nullCount: v.nullCount,
    nullBitmap: v.nullBitmap,
    valueOffsets: offsets,
    data,
  });
}

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
    case DuckDBTypeId.BOOLEAN: {
      const view = raw.dataView!;
      const out = new Uint8Array((sel.count + 7) >> 3);
      for (let i = 0; i < sel.count; i++) {
        if (view.getUint8(at(sel, i))) out[i >> 3] |= 1 << (i & 7);
      }
      return make({ data: out });
    }
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
      const encoder = new TextEncoder();
      const words = (type as DuckDBEnumType).values.map((w) => encoder.encode(w));
      const offsets = new Int32Array(sel.count + 1);
      let total = 0;
      for (let i = 0; i < sel.count; i++) {
        if (!v.nullBitmap || v.nullBitmap[i >> 3] & (1 << (i & 7))) {
          total += words[Number(items[i])].length;
        }
        offsets[i + 1] = total;
      }
      const data = new Uint8Array(total);
      for (let i = 0; i < sel.count; i++) {
        if (offsets[i + 1] > offsets[i]) data.set(words[Number(items[i])], offsets[i]);
      }
      return make({ valueOffsets: offsets, data });
    }
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.DECIMAL:
      return make({ data: decimal128(raw, type, sel) });
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BLOB: {
      const { offsets, data } = varBytes(raw, sel, v.nullBitmap);
      return make({ valueOffsets: offsets, data });
    }
    case DuckDBTypeId.UUID: {
      const view = raw.dataView!;
      const src = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      const out = new Uint8Array(sel.count * 16);
      for (let i = 0; i < sel.count; i++) {
        const from = at(sel, i) * 16;
        for (let b = 0; b < 8; b++) {
          out[i * 16 + b] = src[from + 15 - b]; // upper half, big-endian
          out[i * 16 + 8 + b] = src[from + 7 - b]; // lower half, big-endian
        }
        out[i * 16] ^= 0x80; // DuckDB flips the top bit for ordering
      }
      return make({ data: out });
    }
    case DuckDBTypeId.INTERVAL: {
      const view = raw.dataView!;
      const out = new Int32Array(sel.count * 4);
      const nanos = new BigInt64Array(out.buffer);
      for (let i = 0; i < sel.count; i++) {
        const from = at(sel, i) * 16;
        out[i * 4] = view.getInt32(from, true);
        out[i * 4 + 1] = view.getInt32(from + 4, true);
        nanos[i * 2 + 1] = view.getBigInt64(from + 8, true) * 1000n;
      }
      return make({ data: out });
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP: {
      const list =
        (type.typeId === DuckDBTypeId.MAP ? raw.listVector! : vector) as unknown as RawVector;
      const entries = list.entryData!;
      const offsets = new Int32Array(sel.count + 1);
      let contiguous = true;
      let first = -1;
      let next = -1;
      let total = 0;
      for (let i = 0; i < sel.count; i++) {
        const row = at(sel, i);
        const length = v.nullBitmap && !(v.nullBitmap[i >> 3] & (1 << (i & 7)))
          ? 0
          : Number(entries[row * 2 + 1]);
        if (length > 0) {
          const offset = Number(entries[row * 2]);
          if (first < 0) first = offset;
          else if (offset !== next) contiguous = false;
          next = offset + length;
        }
        total += length;
        offsets[i + 1] = total;
      }
      let childSel: Selection;
      if (contiguous) {
        childSel = { start: Math.max(first, 0), count: total };
      } else {
        const indices = new Int32Array(total);
        let k = 0;
        for (let i = 0; i < sel.count; i++) {
          const row = at(sel, i);
          const length = offsets[i + 1] - offsets[i];
          const offset = Number(entries[row * 2]);
          for (let j = 0; j < length; j++) indices[k++] = offset + j;
        }
        childSel = { start: 0, count: total, indices };
      }
      const childType = type.typeId === DuckDBTypeId.MAP
        ? mapEntriesType(type as DuckDBMapType)
        : (type as DuckDBListType).valueType;
      const childTarget = (target.type as List | Map_).children[0];
      const child = columnData(list.childData!, childType, fieldTarget(childTarget), childSel);
      return make({ valueOffsets: offsets, child });
    }
    case DuckDBTypeId.ARRAY: {
      // deno-lint-ignore no-explicit-any
      const size = (type as any).length as number;
      const rows: number[] = [];
      for (let i = 0; i < sel.count; i++) rows.push(at(sel, i));
      const contiguous = rows.every((r, i) => r === sel.start + i);
      const childSel: Selection = contiguous
        ? { start: sel.start * size, count: sel.count * size }
        : {
          start: 0,
          count: sel.count * size,
          indices: Int32Array.from(
            rows.flatMap((r) => Array.from({ length: size }, (_, j) => r * size + j)),
          ),
        };
      // deno-lint-ignore no-explicit-any
      const childType = (type as any).valueType as DuckDBType;
      const childTarget = (target.type as FixedSizeList).children[0];
      const child = columnData(raw.childData!, childType, fieldTarget(childTarget), childSel);
      return make({ child });
    }
    case DuckDBTypeId.STRUCT: {
      const s = type as DuckDBStructType;
      const fields = (target.type as Struct).children;
      const children = s.entryTypes.map((t, i) =>
        columnData(raw.entryVectors![i], t, fieldTarget(fields[i]), sel)
      );
      return make({ children });
    }
    case DuckDBTypeId.SQLNULL:
      return makeData({ type: new Null(), length: sel.count });
    default:
      return textData(raw, type, sel, v);
  }
}

/** MAP entries as DuckDB sees them: STRUCT(key K, value V). */
function mapEntriesType(type: DuckDBMapType): DuckDBType {
  return {
    typeId: DuckDBTypeId.STRUCT,
    entryNames: ["key", "value"],
    entryTypes: [type.keyType, type.valueType],
  } as unknown as DuckDBType;
}

function fieldTarget(field: Field): ArrowColumnType {
  return { type: field.type, metadata: field.metadata };
}

/** DECIMAL (stored as int16/32/64/128) and HUGEINT as 128-bit little-endian two's complement. */
function decimal128(raw: RawVector, type: DuckDBType, sel: Selection): Uint32Array {
  const out = new Int32Array(sel.count * 4);
  const view = raw.dataView!;
  const width = type.typeId === DuckDBTypeId.HUGEINT ? 38 : (type as DuckDBDecimalType).width;
  for (let i = 0; i < sel.count; i++) {
    const row = at(sel, i);
    let lo: number, hi: number, w2: number, w3: number;
    if (width <= 4) {
      lo = view.getInt16(row * 2, true);
      hi = w2 = w3 = lo < 0 ? -1 : 0;
    } else if (width <= 9) {
      lo = view.getInt32(row * 4, true);
      hi = w2 = w3 = lo < 0 ? -1 : 0;
    } else if (width <= 18) {
      lo = view.getInt32(row * 8, true);
      hi = view.getInt32(row * 8 + 4, true);
      w2 = w3 = hi < 0 ? -1 : 0;
    } else {
      lo = view.getInt32(row * 16, true);
      hi = view.getInt32(row * 16 + 4, true);
      w2 = view.getInt32(row * 16 + 8, true);
      w3 = view.getInt32(row * 16 + 12, true);
    }
    out.set([lo, hi, w2, w3], i * 4);
  }
  return new Uint32Array(out.buffer);
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
