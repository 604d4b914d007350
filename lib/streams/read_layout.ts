/**
 * Where a stream's bytes are: an instance holds append units (positions in the stream's offset
 * space, message lengths for JSON streams), and a fork reads its source chain below its fork
 * offset. This module plans reads over that layout (which pieces of which units of which
 * instances, up to a byte budget, at byte or message granularity), finds message boundaries, and
 * builds the units of new appends. Pure functions over the model; no I/O.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { buildUnits, isBoundary, planRead } from "./read_layout.ts";
 * import { freshRuntime, type StreamInstance } from "./model.ts";
 * const units = buildUnits(0, [[new Uint8Array(2), new Uint8Array(3)]], true, 0);
 * const inst = {
 *   id: "i", path: "p", contentType: "application/json", json: true, ttlSeconds: null,
 *   expiresAtMs: null, reqTtl: null, reqExp: null, createdMs: 0, fork: null, base: 0,
 *   lastAccessMs: 0, state: "live", committed: true, units, tail: 5, closed: false,
 *   pendingTail: 5, pendingClosed: false, ...freshRuntime(),
 * } satisfies StreamInstance;
 * deepEqual([isBoundary(inst, 2), isBoundary(inst, 3)], [true, false]);
 * const plan = planRead(inst, 0, 1, "message"); // at least one whole message
 * deepEqual([plan.next, plan.upToDate], [2, false]);
 * equal(planRead(inst, 0, 1, "byte").next, 1);
 * ```
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { ApiError } from "../errors.ts";
import type { StreamInstance, Unit } from "./model.ts";

/** One contiguous piece of a read, inside one unit of one instance of the fork chain. */
export interface Segment {
  inst: StreamInstance;
  unit: Unit;
  /** Absolute positions. */
  begin: number;
  end: number;
}

/** A planned read: what to return and the headers that describe it. */
export interface ReadPlan {
  from: number;
  next: number;
  segments: Segment[];
  upToDate: boolean;
  /** Closed and this read reaches the final offset. */
  closedAtEnd: boolean;
}

/** Read granularity: bytes may split messages; messages never do. */
export type Granularity = "byte" | "message";

/** One instance of a fork chain and the position range it serves. */
interface Layer {
  inst: StreamInstance;
  from: number;
  to: number;
}

/** Total size of `units`. */
export function sizeOf(units: Unit[]): number {
  let n = 0;
  for (const u of units) n += u.end - u.start;
  return n;
}

/** Builds units from per-unit message lists, starting at `start`. */
export function buildUnits(
  start: number,
  groups: Uint8Array[][],
  json: boolean,
  ts: number,
): Unit[] {
  const units: Unit[] = [];
  let pos = start;
  for (const messages of groups) {
    const bytes = concatBytes(messages);
    units.push({
      start: pos,
      end: pos + bytes.length,
      lens: json ? messages.map((m) => m.length) : null,
      bytes,
      filePos: -1,
      ts,
    });
    pos += bytes.length;
  }
  return units;
}

/** Index of the unit containing `pos` (start <= pos < end), or -1. Units are sorted. */
function findUnit(units: Unit[], pos: number): number {
  let lo = 0;
  let hi = units.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const u = units[mid];
    if (pos < u.start) hi = mid - 1;
    else if (pos >= u.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Message boundaries of a JSON unit (absolute positions, including start and end). */
export function messageEnds(unit: Unit): number[] {
  const ends = [unit.start];
  let p = unit.start;
  for (const len of unit.lens ?? [unit.end - unit.start]) {
    p += len;
    ends.push(p);
  }
  return ends;
}

/** The layers of a fork chain, root first: each instance and the position range it serves. */
function layersOf(inst: StreamInstance): Layer[] {
  const layers: Layer[] = [];
  let cur: StreamInstance | null = inst;
  let cap = inst.tail;
  while (cur) {
    layers.unshift({ inst: cur, from: cur.base, to: Math.min(cap, cur.tail) });
    cap = cur.base;
    cur = cur.fork ? cur.fork.source : null;
  }
  return layers;
}

/** The unit (in the fork chain) containing position `pos`, with the layer's upper bound. */
export function unitAt(
  inst: StreamInstance,
  pos: number,
): { inst: StreamInstance; unit: Unit; to: number } | null {
  for (const layer of layersOf(inst)) {
    if (pos < layer.from || pos >= layer.to) continue;
    const idx = findUnit(layer.inst.units, pos);
    if (idx >= 0) return { inst: layer.inst, unit: layer.inst.units[idx], to: layer.to };
  }
  return null;
}

/** True when `pos` is a message boundary of `inst` (0 and the tail always are). */
export function isBoundary(inst: StreamInstance, pos: number): boolean {
  if (pos === 0 || pos === inst.tail) return true;
  if (pos > inst.tail) return false;
  const hit = unitAt(inst, pos);
  if (!hit) return true;
  if (hit.unit.start === pos) return true;
  return hit.unit.lens !== null && messageEnds(hit.unit).includes(pos);
}

/** Throws 400 unless `from` is a readable position of `inst`. */
export function validateReadOffset(inst: StreamInstance, from: number): void {
  if (from > inst.tail) {
    throw new ApiError("bad_offset", "Offset is beyond the stream tail");
  }
  if (inst.json && !isBoundary(inst, from)) {
    throw new ApiError("bad_offset", "Offset is not a message boundary");
  }
}

/**
 * Plans a read of committed data from `from`, up to about `maxBytes`. Byte granularity may split
 * a message (binary catch-up); message granularity returns whole messages (at least one).
 */
export function planRead(
  inst: StreamInstance,
  from: number,
  maxBytes: number,
  granularity: Granularity,
): ReadPlan {
  validateReadOffset(inst, from);
  const segments: Segment[] = [];
  let pos = from;
  let budget = maxBytes;
  outer: for (const layer of layersOf(inst)) {
    if (pos >= layer.to) continue;
    let idx = findUnit(layer.inst.units, pos);
    if (idx < 0) continue;
    for (; idx < layer.inst.units.length; idx++) {
      const unit = layer.inst.units[idx];
      if (unit.start >= layer.to) break;
      const unitEnd = Math.min(unit.end, layer.to);
      const end = segmentEnd(unit, pos, unitEnd, budget, granularity, segments.length === 0);
      if (end < 0) break outer;
      segments.push({ inst: layer.inst, unit, begin: pos, end });
      budget -= end - pos;
      pos = end;
      if (budget <= 0 || end < unitEnd) break outer;
    }
  }
  const upToDate = pos === inst.tail;
  return { from, next: pos, segments, upToDate, closedAtEnd: upToDate && inst.closed };
}

/**
 * Where a read from `pos` stops inside `unit` (up to `unitEnd`) with `budget` bytes left; -1
 * when it takes nothing of this unit. A read's `first` segment takes at least one message.
 */
function segmentEnd(
  unit: Unit,
  pos: number,
  unitEnd: number,
  budget: number,
  granularity: Granularity,
  first: boolean,
): number {
  if (granularity === "byte") return Math.min(unitEnd, pos + budget);
  if (unit.lens) {
    // whole messages that fit the budget (at least one per read)
    let chosen = -1;
    for (const e of messageEnds(unit)) {
      if (e <= pos || e > unitEnd) continue;
      if (e - pos <= budget || (chosen < 0 && first)) chosen = e;
      else break;
    }
    return chosen;
  }
  return unitEnd - pos > budget && !first ? -1 : unitEnd;
}

/**
 * The whole messages of a segment's `bytes` (read from `seg.begin` to `seg.end` of a unit with
 * message lengths) that end by `limit`, with the offset each ends at.
 */
export function messagesOf(
  seg: Segment,
  bytes: Uint8Array,
  limit = Infinity,
): { bytes: Uint8Array; end: number }[] {
  const out: { bytes: Uint8Array; end: number }[] = [];
  let p = seg.unit.start;
  for (const len of seg.unit.lens ?? []) {
    const end = p + len;
    if (p >= seg.begin && end <= seg.end && end <= limit) {
      out.push({ bytes: bytes.subarray(p - seg.begin, end - seg.begin), end });
    }
    p = end;
  }
  return out;
}
