/**
 * Replaying log records into stream instances at start-up (durable storage). Deterministic: the
 * same records always rebuild the same state, including producer state, Stream-Seq, the closed
 * flag, fork links and deletion markers, because each record carries all of them atomically.
 * @module
 */

import { isJsonType } from "./content_type.ts";
import { freshRuntime, type StreamInstance, type Unit } from "./model.ts";
import type { AppendMeta, CreateMeta } from "./record.ts";

/** Builds units from per-unit message lengths, payload starting at `filePos`. */
function unitsFrom(
  start: number,
  groups: number[][],
  json: boolean,
  filePos: number,
  ts: number,
): Unit[] {
  const units: Unit[] = [];
  let pos = start;
  let fp = filePos;
  for (const lens of groups) {
    const size = lens.reduce((a, b) => a + b, 0);
    units.push({
      start: pos,
      end: pos + size,
      lens: json ? lens : null,
      bytes: null,
      filePos: fp,
      ts,
    });
    pos += size;
    fp += size;
  }
  return units;
}

/** Rebuilds an instance from its CREATE record. The fork link is resolved later. */
export function replayCreate(meta: CreateMeta, payloadPos: number, nowMs: number): StreamInstance {
  const json = isJsonType(meta.ct);
  const base = meta.fork?.pos ?? 0;
  const units = unitsFrom(base, meta.units, json, payloadPos, meta.ts);
  const tail = units.length ? units[units.length - 1].end : base;
  return {
    id: meta.id,
    path: meta.path,
    contentType: meta.ct,
    json,
    ttlSeconds: meta.ttl,
    expiresAtMs: meta.exp,
    reqTtl: meta.reqTtl,
    reqExp: meta.reqExp,
    createdMs: meta.ts,
    fork: null,
    base,
    // A restart counts as an access: sliding TTLs restart instead of expiring early.
    lastAccessMs: nowMs,
    state: "live",
    committed: true,
    units,
    tail,
    closed: meta.closed,
    pendingTail: tail,
    pendingClosed: meta.closed,
    ...freshRuntime(),
  };
}

/** Applies one APPEND record. */
export function replayAppend(inst: StreamInstance, meta: AppendMeta, payloadPos: number): void {
  const units = unitsFrom(inst.tail, meta.units, inst.json, payloadPos, meta.ts ?? 0);
  for (const u of units) inst.units.push(u);
  if (units.length) inst.tail = inst.pendingTail = units[units.length - 1].end;
  if (meta.prod) {
    const [id, epoch, seq] = meta.prod;
    inst.producers.set(id, { epoch, lastSeq: seq });
    if (meta.closed) inst.closedBy = { id, epoch, seq };
  }
  if (meta.sseq !== undefined) inst.lastStreamSeq = meta.sseq;
  if (meta.closed) inst.closed = inst.pendingClosed = true;
}

/** Applies a deletion marker. */
export function replayTombstone(inst: StreamInstance, soft: boolean): void {
  inst.state = soft ? "soft_deleted" : "deleted";
}

/**
 * Links forks to their sources and counts references. Returns the ids of forks whose source is
 * missing (they cannot be served).
 */
export function linkForks(
  instances: Map<string, StreamInstance>,
  forkSources: Map<string, { src: string; pos: number; sub: number; explicit: boolean }>,
): string[] {
  const orphans: string[] = [];
  for (const [id, fork] of forkSources) {
    const inst = instances.get(id)!;
    const source = instances.get(fork.src);
    if (!source) {
      orphans.push(id);
      continue;
    }
    inst.fork = { source, pos: fork.pos, sub: fork.sub, explicit: fork.explicit };
    source.forkRefs++;
  }
  return orphans;
}
