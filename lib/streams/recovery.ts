/**
 * Recovery at start-up (durable storage): every log file is scanned record by record (checksums
 * verified, unless the clean-shutdown manifest vouches for the file's size), a torn tail is
 * truncated, and the records are replayed into stream instances; then forks are linked to their
 * sources (a fork whose source is missing is set aside). Replaying is deterministic: the same
 * records always rebuild the same state, including producer state, Stream-Seq, the closed flag,
 * fork links and deletion markers, because each record carries all of them atomically.
 * @module
 */

import { type FileHandle, open } from "node:fs/promises";
import { isJsonType } from "./content_type.ts";
import { readFully } from "./log_files.ts";
import { freshRuntime, type StreamInstance, type StreamsEvent, type Unit } from "./model.ts";
import {
  type AppendMeta,
  bodyPrefixLength,
  type CreateMeta,
  decodeBody,
  decodeTrustedBody,
  FILE_MAGIC,
  type ForkMeta,
  FRAME_HEADER_BYTES,
  readFrameLength,
} from "./record.ts";

/** Name of the clean-shutdown manifest inside the streams directory. */
export const CLEAN_MANIFEST = "CLEAN.json";

/** Options of {@link recoverLogs}. */
export interface RecoveryOptions {
  /** The directory of the log files (`<dir>/streams`). */
  streamsDir: string;
  now: () => number;
  onEvent: (event: StreamsEvent) => void;
  /** Makes a change of the directory (the manifest's removal) durable. */
  syncDir: () => Promise<void>;
}

/** What recovery found: instances (live or soft-deleted) and their files' valid sizes, by id. */
export interface Recovered {
  instances: Map<string, StreamInstance>;
  files: Map<string, { path: string; size: number }>;
}

/** Recovery's state while files are scanned. */
interface Scan extends Recovered, RecoveryOptions {
  /** File sizes from the clean-shutdown manifest, by file name. */
  clean: Map<string, number>;
  forkSources: Map<string, ForkMeta>;
  records: number;
  truncated: number;
}

/** Recovers every log file of `options.streamsDir`. */
export async function recoverLogs(options: RecoveryOptions): Promise<Recovered> {
  const scan: Scan = {
    ...options,
    clean: await takeCleanManifest(options),
    instances: new Map(),
    files: new Map(),
    forkSources: new Map(),
    records: 0,
    truncated: 0,
  };
  const names: string[] = [];
  for await (const entry of Deno.readDir(options.streamsDir)) {
    if (entry.isFile && entry.name.endsWith(".log")) names.push(entry.name);
  }
  names.sort();
  const started = performance.now();
  // Recover files concurrently (file I/O runs on the runtime's thread pool).
  let nextFile = 0;
  await Promise.all(Array.from({ length: Math.min(16, names.length) }, async () => {
    while (nextFile < names.length) await recoverFile(names[nextFile++], scan);
  }));
  await linkRecoveredForks(scan);
  options.onEvent({
    type: "recovery_done",
    streams: scan.instances.size,
    records: scan.records,
    truncated: scan.truncated,
    ms: Math.round(performance.now() - started),
  });
  return { instances: scan.instances, files: scan.files };
}

/**
 * A clean shutdown leaves a manifest of file sizes: those files skip checksum verification. It is
 * removed before anything is written, so a later crash always gets a full check.
 */
async function takeCleanManifest(options: RecoveryOptions): Promise<Map<string, number>> {
  const manifestPath = `${options.streamsDir}/${CLEAN_MANIFEST}`;
  try {
    const parsed = JSON.parse(await Deno.readTextFile(manifestPath));
    const clean = new Map(Object.entries(parsed.files as Record<string, number>));
    await Deno.remove(manifestPath);
    await options.syncDir();
    return clean;
  } catch {
    return new Map();
  }
}

/** Link forks; a fork whose source is missing cannot be served (set aside, never deleted). */
async function linkRecoveredForks(scan: Scan): Promise<void> {
  for (;;) {
    for (const inst of scan.instances.values()) {
      inst.forkRefs = 0;
      inst.fork = null;
    }
    const orphans = linkForks(scan.instances, scan.forkSources);
    if (orphans.length === 0) return;
    for (const id of orphans) {
      const f = scan.files.get(id)!;
      scan.onEvent({ type: "recovery_dropped", file: f.path, reason: "fork source missing" });
      await Deno.rename(f.path, `${f.path}.orphan`).catch(() => {});
      scan.instances.delete(id);
      scan.files.delete(id);
      scan.forkSources.delete(id);
    }
  }
}

/** Scans one log file: truncates a torn tail, removes it when it holds no live stream. */
async function recoverFile(name: string, scan: Scan): Promise<void> {
  const path = `${scan.streamsDir}/${name}`;
  const h = await open(path, "r+");
  let log: LogScan;
  try {
    const size = (await h.stat()).size;
    log = await scanLog(new WindowReader(h, size), size, scan.clean.get(name) === size, scan.now);
    scan.records += log.records;
    if (log.torn && log.inst) {
      await h.truncate(log.validSize);
      await h.datasync();
      scan.truncated++;
      scan.onEvent({ type: "recovery_truncated", file: path, at: log.validSize, size });
    }
  } finally {
    await h.close();
  }
  const { inst } = log;
  if (!inst || inst.state === "deleted") {
    // never acknowledged (torn create) or deleted (a crash came between its tombstone and the
    // file's removal): remove; a deleted fork links to nothing
    if (!inst) scan.onEvent({ type: "recovery_dropped", file: path, reason: "no create" });
    await Deno.remove(path).catch(() => {});
    return;
  }
  if (log.fork) scan.forkSources.set(inst.id, log.fork);
  scan.instances.set(inst.id, inst);
  scan.files.set(inst.id, { path, size: log.validSize });
}

/** One file's records replayed: the instance, its fork, where the valid records end. */
interface LogScan {
  inst: StreamInstance | null;
  fork: ForkMeta | null;
  /** The end of the last valid record. */
  validSize: number;
  /** Something other than a valid record follows `validSize`. */
  torn: boolean;
  records: number;
}

/** Replays the records of one log file of `size` bytes. */
async function scanLog(
  reader: WindowReader,
  size: number,
  trusted: boolean,
  now: () => number,
): Promise<LogScan> {
  const magic = await reader.get(0, FILE_MAGIC.length);
  const log: LogScan = {
    inst: null,
    fork: null,
    validSize: FILE_MAGIC.length,
    torn: magic === null || !hasMagic(magic),
    records: 0,
  };
  while (!log.torn && log.validSize < size) {
    const pos = log.validSize;
    const frame = await readFrame(reader, pos, size, trusted);
    const rec = frame?.decoded.record;
    if (!frame || !rec || (!log.inst && rec.type !== "create")) break;
    const payloadPos = pos + FRAME_HEADER_BYTES + frame.decoded.payloadOffset;
    if (rec.type === "create") {
      if (log.inst) break;
      log.inst = replayCreate(rec.meta, payloadPos, now());
      log.fork = rec.meta.fork;
    } else if (rec.type === "append") {
      replayAppend(log.inst!, rec.meta, payloadPos);
    } else {
      replayTombstone(log.inst!, rec.type === "soft_delete");
    }
    log.records++;
    log.validSize = pos + FRAME_HEADER_BYTES + frame.length;
  }
  log.torn ||= log.validSize < size;
  return log;
}

type Decoded = NonNullable<ReturnType<typeof decodeBody>>;

/** The record at `pos`, or null when what is there is not a whole, valid record. */
async function readFrame(
  reader: WindowReader,
  pos: number,
  size: number,
  trusted: boolean,
): Promise<{ decoded: Decoded; length: number } | null> {
  const header = await reader.get(pos, FRAME_HEADER_BYTES);
  const length = header ? readFrameLength(header) : null;
  if (!header || length === null || pos + FRAME_HEADER_BYTES + length > size) return null;
  let decoded: ReturnType<typeof decodeBody> = null;
  if (trusted) {
    const first = await reader.get(pos + FRAME_HEADER_BYTES, 5);
    const prefixLength = first ? bodyPrefixLength(first) : Infinity;
    const prefix = prefixLength <= length
      ? await reader.get(pos + FRAME_HEADER_BYTES, prefixLength)
      : null;
    decoded = prefix ? decodeTrustedBody(prefix) : null;
  } else {
    const body = await reader.get(pos + FRAME_HEADER_BYTES, length);
    decoded = body ? decodeBody(header, body) : null;
  }
  return decoded ? { decoded, length } : null;
}

/** Sequential reader with a read-ahead window, for recovery scans. */
class WindowReader {
  #buf = new Uint8Array(0);
  #start = 0;
  constructor(private readonly handle: FileHandle, private readonly size: number) {}
  /** `n` bytes at `pos`; null past the end of the file. */
  async get(pos: number, n: number): Promise<Uint8Array | null> {
    if (pos + n > this.size) return null;
    if (pos >= this.#start && pos + n <= this.#start + this.#buf.length) {
      return this.#buf.subarray(pos - this.#start, pos - this.#start + n);
    }
    const want = Math.min(this.size - pos, Math.max(n, 1 << 20));
    const buf = new Uint8Array(want);
    await readFully(this.handle, buf, pos);
    this.#buf = buf;
    this.#start = pos;
    return buf.subarray(0, n);
  }
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= FILE_MAGIC.length && FILE_MAGIC.every((b, i) => bytes[i] === b);
}

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
