/**
 * Reading DuckDB vectors for the Arrow encoder (`arrow.ts`) without a per-value round trip through
 * JS values: validity bitmaps, fixed-width items, string and blob bytes (long strings read in
 * runs), DECIMAL as 128-bit integers, and the offsets of nested types. Every function works on a
 * {@link Selection} of rows (a range, or indices for scattered list children).
 * @module
 */

import { type Data, makeData, Utf8 } from "apache-arrow";
import {
  DuckDBBlobVector,
  type DuckDBDecimalType,
  type DuckDBEnumType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBVector,
} from "../db/types.ts";
import { concatBytes } from "../bytes.ts";
import { jsonFragment } from "./value_text.ts";

/** The internals of a driver vector this module reads (private in the driver's typings). */
export interface RawVector {
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
export interface Selection {
  start: number;
  count: number;
  indices?: Int32Array;
}

/** Row `i` of a selection. */
export const at = (sel: Selection, i: number): number =>
  sel.indices ? sel.indices[i] : sel.start + i;

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

/** The validity of the selected rows as an Arrow bitmap (`undefined` when all are valid). */
export function validityOf(
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

/** The typed arrays driver vectors keep their items in. */
export type TypedArray =
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

/** The selected items, copied. */
export function takeItems<T extends TypedArray>(items: T, sel: Selection): T {
  if (!sel.indices) return items.slice(sel.start, sel.start + sel.count) as T;
  // deno-lint-ignore no-explicit-any
  const out = new (items.constructor as any)(sel.count) as T;
  for (let i = 0; i < sel.count; i++) out[i] = items[sel.indices[i]];
  return out;
}

const blobBytes = DuckDBBlobVector.prototype.getItemBytes;

/** Bytes of strings/blobs: offsets plus one data buffer. */
export function varBytes(
  raw: RawVector,
  sel: Selection,
  valid: Uint8Array | undefined,
): { offsets: Int32Array; data: Uint8Array } {
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

/** Utf8 data of the values' text (the JSON rendering; strings unquoted). */
export function textData(
  raw: RawVector,
  type: DuckDBType,
  sel: Selection,
  v: ReturnType<typeof validityOf>,
): Data {
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

/** DECIMAL (stored as int16/32/64/128) and HUGEINT as 128-bit little-endian two's complement. */
export function decimal128(raw: RawVector, type: DuckDBType, sel: Selection): Uint32Array {
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

/** BOOLEAN bytes as an Arrow bit-packed buffer. */
export function booleanBits(raw: RawVector, sel: Selection): Uint8Array {
  const view = raw.dataView!;
  const out = new Uint8Array((sel.count + 7) >> 3);
  for (let i = 0; i < sel.count; i++) {
    if (view.getUint8(at(sel, i))) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}

/** ENUM indices as text (nested ENUMs, which cannot have their own dictionary). */
export function enumText(
  type: DuckDBEnumType,
  items: TypedArray,
  sel: Selection,
  valid: Uint8Array | undefined,
): { valueOffsets: Int32Array; data: Uint8Array } {
  const encoder = new TextEncoder();
  const words = type.values.map((w) => encoder.encode(w));
  const offsets = new Int32Array(sel.count + 1);
  let total = 0;
  for (let i = 0; i < sel.count; i++) {
    if (!valid || valid[i >> 3] & (1 << (i & 7))) {
      total += words[Number(items[i])].length;
    }
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < sel.count; i++) {
    if (offsets[i + 1] > offsets[i]) data.set(words[Number(items[i])], offsets[i]);
  }
  return { valueOffsets: offsets, data };
}

/** UUIDs in canonical (big-endian) byte order. */
export function uuidBytes(raw: RawVector, sel: Selection): Uint8Array {
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
  return out;
}

/** INTERVALs as Arrow MonthDayNano (months, days, nanoseconds). */
export function intervalData(raw: RawVector, sel: Selection): Int32Array {
  const view = raw.dataView!;
  const out = new Int32Array(sel.count * 4);
  const nanos = new BigInt64Array(out.buffer);
  for (let i = 0; i < sel.count; i++) {
    const from = at(sel, i) * 16;
    out[i * 4] = view.getInt32(from, true);
    out[i * 4 + 1] = view.getInt32(from + 4, true);
    nanos[i * 2 + 1] = view.getBigInt64(from + 8, true) * 1000n;
  }
  return out;
}

/** The offsets of selected LIST entries and the selection of their children. */
export function listEntries(
  list: RawVector,
  sel: Selection,
  valid: Uint8Array | undefined,
): { offsets: Int32Array; childSel: Selection } {
  const entries = list.entryData!;
  const offsets = new Int32Array(sel.count + 1);
  let contiguous = true;
  let first = -1;
  let next = -1;
  let total = 0;
  for (let i = 0; i < sel.count; i++) {
    const row = at(sel, i);
    const length = valid && !(valid[i >> 3] & (1 << (i & 7))) ? 0 : Number(entries[row * 2 + 1]);
    if (length > 0) {
      const offset = Number(entries[row * 2]);
      if (first < 0) first = offset;
      else if (offset !== next) contiguous = false;
      next = offset + length;
    }
    total += length;
    offsets[i + 1] = total;
  }
  if (contiguous) return { offsets, childSel: { start: Math.max(first, 0), count: total } };
  const indices = new Int32Array(total);
  let k = 0;
  for (let i = 0; i < sel.count; i++) {
    const row = at(sel, i);
    const length = offsets[i + 1] - offsets[i];
    const offset = Number(entries[row * 2]);
    for (let j = 0; j < length; j++) indices[k++] = offset + j;
  }
  return { offsets, childSel: { start: 0, count: total, indices } };
}

/** The selection of the children of selected ARRAY rows of `size` items each. */
export function arrayChildren(sel: Selection, size: number): Selection {
  const rows: number[] = [];
  for (let i = 0; i < sel.count; i++) rows.push(at(sel, i));
  const contiguous = rows.every((r, i) => r === sel.start + i);
  return contiguous ? { start: sel.start * size, count: sel.count * size } : {
    start: 0,
    count: sel.count * size,
    indices: Int32Array.from(
      rows.flatMap((r) => Array.from({ length: size }, (_, j) => r * size + j)),
    ),
  };
}
