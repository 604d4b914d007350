/**
 * The durable journal: one append-only log file per stream instance under `<dir>/streams/`,
 * framed records with CRC-32C, group commit (every append waiting while a sync is in flight is
 * written with the next single write + fdatasync), an LRU of open file handles, and crash
 * recovery that truncates a torn tail.
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { closeSync, openSync, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { Journal, StreamInstance, StreamsEvent, Unit } from "./model.ts";
import {
  bodyPrefixLength,
  decodeBody,
  decodeTrustedBody,
  type EncodedFrame,
  encodeRecord,
  FILE_MAGIC,
  type ForkMeta,
  FRAME_HEADER_BYTES,
  readFrameLength,
} from "./record.ts";
import { linkForks, replayAppend, replayCreate, replayTombstone } from "./recovery.ts";

/** Options of the durable journal. */
export interface DirJournalOptions {
  dir: string;
  maxOpenFiles: number;
  onEvent: (event: StreamsEvent) => void;
  now?: () => number;
}

/** A durable journal plus the instances recovered from disk. */
export interface OpenedDirJournal {
  journal: Journal;
  /** Recovered live and soft-deleted instances, fork links resolved. */
  instances: StreamInstance[];
}

interface Pending {
  bytes: Uint8Array;
  units: Unit[];
  resolve: () => void;
  reject: (e: Error) => void;
}

interface LogFile {
  path: string;
  handle: FileHandle | null;
  opening: Promise<FileHandle> | null;
  /** Bytes reserved so far (written + queued). */
  size: number;
  /** Not on disk yet: the first flush creates it and writes the magic. */
  isNew: boolean;
  queue: Pending[];
  flushing: Promise<void> | null;
  busy: number;
  broken: Error | null;
  dropRequested: boolean;
  /** A plain descriptor for synchronous reads (SQL scans), opened on first use. */
  syncFd?: number | null;
}

/** Coalesces concurrent requests for the same sync into as few runs as possible. */
class GroupSync {
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  constructor(private readonly fn: () => Promise<void>) {}
  run(): Promise<void> {
    if (!this.#running) {
      this.#running = this.fn().finally(() => {
        this.#running = null;
      });
      return this.#running;
    }
    if (!this.#next) {
      this.#next = this.#running.catch(() => {}).then(() => {
        this.#next = null;
        return this.run();
      });
    }
    return this.#next;
  }
}

/** Name of the clean-shutdown manifest inside the streams directory. */
const CLEAN_MANIFEST = "CLEAN.json";

/** Sequential reader with a read-ahead window, for recovery scans. */
class WindowReader {
  #buf = new Uint8Array(0);
  #start = 0;
  constructor(private readonly handle: FileHandle, private readonly size: number) {}
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

async function readFully(handle: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await handle.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) throw new Error("unexpected end of log file");
    got += bytesRead;
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= FILE_MAGIC.length && FILE_MAGIC.every((b, i) => bytes[i] === b);
}

/** Opens (and recovers) the durable journal under `options.dir`. */
export async function openDirJournal(options: DirJournalOptions): Promise<OpenedDirJournal> {
  const streamsDir = `${options.dir.replace(/\/$/, "")}/streams`;
  await Deno.mkdir(streamsDir, { recursive: true });
  const files = new Map<string, LogFile>();
  /** Open handles in LRU order (oldest first). */
  const lru = new Map<LogFile, true>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;
  const dirSync = new GroupSync(async () => {
    const d = await Deno.open(streamsDir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  });
  const fileOf = (inst: StreamInstance): LogFile => {
    const f = files.get(inst.id);
    if (!f) throw new Error(`no log file for stream instance ${inst.id}`);
    return f;
  };

  function evict(): void {
    if (lru.size <= options.maxOpenFiles) return;
    for (const f of lru.keys()) {
      if (lru.size <= options.maxOpenFiles) break;
      if (f.busy === 0 && !f.flushing && f.queue.length === 0 && f.handle) {
        const h = f.handle;
        f.handle = null;
        lru.delete(f);
        h.close().catch(() => {});
      }
    }
  }

  async function handleOf(f: LogFile): Promise<FileHandle> {
    if (f.handle) {
      lru.delete(f);
      lru.set(f, true);
      return f.handle;
    }
    if (!f.opening) {
      f.opening = open(f.path, "a+").then((h) => {
        f.handle = h;
        f.opening = null;
        lru.set(f, true);
        evict();
        return h;
      }, (e) => {
        f.opening = null;
        throw e;
      });
    }
    return await f.opening;
  }

  /** Files with an open sync-read descriptor, oldest first (bounded by maxOpenFiles). */
  const syncOpen = new Set<LogFile>();
  function closeSyncFd(f: LogFile): void {
    if (f.syncFd == null) return;
    try {
      closeSync(f.syncFd);
    } catch {
      // already closed
    }
    f.syncFd = null;
    syncOpen.delete(f);
  }
  function syncFdOf(f: LogFile): number {
    if (f.syncFd != null) return f.syncFd;
    f.syncFd = openSync(f.path, "r");
    syncOpen.add(f);
    for (const old of syncOpen) {
      if (syncOpen.size <= options.maxOpenFiles) break;
      if (old !== f) closeSyncFd(old);
    }
    return f.syncFd;
  }

  function afterUse(f: LogFile): void {
    if (!f.dropRequested || f.busy > 0 || f.flushing || f.queue.length > 0) return;
    closeSyncFd(f);
    files.forEach((v, k) => {
      if (v === f) files.delete(k);
    });
    const h = f.handle;
    f.handle = null;
    lru.delete(f);
    const removal = (async () => {
      if (h) await h.close().catch(() => {});
      await Deno.remove(f.path).catch(() => {});
    })();
    inFlight.add(removal);
    removal.finally(() => inFlight.delete(removal));
  }

  async function flush(f: LogFile): Promise<void> {
    f.busy++;
    try {
      while (f.queue.length > 0) {
        const batch = f.queue.splice(0);
        try {
          const parts = batch.map((p) => p.bytes);
          const creating = f.isNew;
          if (creating) parts.unshift(FILE_MAGIC);
          const h = await handleOf(f);
          await writeFully(h, concatBytes(parts));
          await h.datasync();
          if (creating) {
            f.isNew = false;
            await dirSync.run();
          }
          for (const p of batch) {
            for (const u of p.units) u.bytes = null;
            p.resolve();
          }
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          f.broken = err;
          for (const p of batch) p.reject(err);
          for (const p of f.queue.splice(0)) p.reject(err);
        }
      }
    } finally {
      f.busy--;
      f.flushing = null;
      afterUse(f);
    }
  }

  function enqueue(f: LogFile, frame: EncodedFrame, units: Unit[]): Promise<void> {
    if (closed) return Promise.reject(new Error("journal is closed"));
    if (f.broken) return Promise.reject(f.broken);
    let pos = f.size + frame.payloadOffset;
    for (const u of units) {
      u.filePos = pos;
      pos += u.end - u.start;
    }
    f.size += frame.bytes.length;
    const done = new Promise<void>((resolve, reject) => {
      f.queue.push({ bytes: frame.bytes, units, resolve, reject });
    });
    if (!f.flushing) {
      const run = flush(f);
      f.flushing = run;
      inFlight.add(run);
      run.finally(() => inFlight.delete(run));
    }
    return done;
  }

  // ------------------------------------------------------------------ recovery
  const now = options.now ?? Date.now;
  const recovered = new Map<string, StreamInstance>();
  const forkSources = new Map<string, ForkMeta>();
  // A clean shutdown leaves a manifest of file sizes: those files skip checksum verification.
  // It is removed before anything is written, so a later crash always gets a full check.
  const manifestPath = `${streamsDir}/${CLEAN_MANIFEST}`;
  let clean = new Map<string, number>();
  try {
    const parsed = JSON.parse(await Deno.readTextFile(manifestPath));
    clean = new Map(Object.entries(parsed.files as Record<string, number>));
    await Deno.remove(manifestPath);
    await dirSync.run();
  } catch {
    clean = new Map();
  }
  const names: string[] = [];
  for await (const entry of Deno.readDir(streamsDir)) {
    if (entry.isFile && entry.name.endsWith(".log")) names.push(entry.name);
  }
  names.sort();
  const started = performance.now();
  let records = 0;
  let truncated = 0;
  const recoverFile = async (name: string): Promise<void> => {
    const path = `${streamsDir}/${name}`;
    const h = await open(path, "r+");
    let inst: StreamInstance | null = null;
    let validSize = 0;
    try {
      const size = (await h.stat()).size;
      const trusted = clean.get(name) === size;
      const reader = new WindowReader(h, size);
      const magic = await reader.get(0, FILE_MAGIC.length);
      let pos = FILE_MAGIC.length;
      let torn = magic === null || !hasMagic(magic);
      while (!torn && pos < size) {
        const header = await reader.get(pos, FRAME_HEADER_BYTES);
        const length = header ? readFrameLength(header) : null;
        let decoded: ReturnType<typeof decodeBody> = null;
        if (header && length !== null && pos + FRAME_HEADER_BYTES + length <= size) {
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
        }
        if (!decoded) {
          torn = true;
          break;
        }
        const payloadPos = pos + FRAME_HEADER_BYTES + decoded.payloadOffset;
        const rec = decoded.record;
        if (!inst) {
          if (rec.type !== "create") {
            torn = true;
            break;
          }
          inst = replayCreate(rec.meta, payloadPos, now());
          if (rec.meta.fork) forkSources.set(inst.id, rec.meta.fork);
        } else if (rec.type === "append") {
          replayAppend(inst, rec.meta, payloadPos);
        } else if (rec.type === "delete" || rec.type === "soft_delete") {
          replayTombstone(inst, rec.type === "soft_delete");
        } else {
          torn = true;
          break;
        }
        records++;
        pos += FRAME_HEADER_BYTES + length!;
      }
      validSize = pos;
      if (torn && inst) {
        await h.truncate(pos);
        await h.datasync();
        truncated++;
        options.onEvent({ type: "recovery_truncated", file: path, at: pos, size });
      }
    } finally {
      await h.close();
    }
    if (!inst || inst.state === "deleted") {
      // never acknowledged (torn create) or deleted: remove
      if (!inst) options.onEvent({ type: "recovery_dropped", file: path, reason: "no create" });
      await Deno.remove(path).catch(() => {});
      return;
    }
    recovered.set(inst.id, inst);
    files.set(inst.id, {
      path,
      handle: null,
      opening: null,
      size: validSize,
      isNew: false,
      queue: [],
      flushing: null,
      busy: 0,
      broken: null,
      dropRequested: false,
    });
  };
  // Recover files concurrently (file I/O runs on the runtime's thread pool).
  let nextFile = 0;
  await Promise.all(Array.from({ length: Math.min(16, names.length) }, async () => {
    while (nextFile < names.length) await recoverFile(names[nextFile++]);
  }));
  // Link forks; a fork whose source is missing cannot be served (set aside, never deleted).
  for (;;) {
    for (const inst of recovered.values()) {
      inst.forkRefs = 0;
      inst.fork = null;
    }
    const orphans = linkForks(recovered, forkSources);
    if (orphans.length === 0) break;
    for (const id of orphans) {
      const f = files.get(id)!;
      options.onEvent({ type: "recovery_dropped", file: f.path, reason: "fork source missing" });
      await Deno.rename(f.path, `${f.path}.orphan`).catch(() => {});
      recovered.delete(id);
      files.delete(id);
      forkSources.delete(id);
    }
  }
  options.onEvent({
    type: "recovery_done",
    streams: recovered.size,
    records,
    truncated,
    ms: Math.round(performance.now() - started),
  });

  const journal: Journal = {
    create(inst, meta, units) {
      const f: LogFile = {
        path: `${streamsDir}/${inst.id}.log`,
        handle: null,
        opening: null,
        size: FILE_MAGIC.length,
        isNew: true,
        queue: [],
        flushing: null,
        busy: 0,
        broken: null,
        dropRequested: false,
      };
      files.set(inst.id, f);
      const payload = concatBytes(units.map((u) => u.bytes ?? new Uint8Array(0)));
      return enqueue(f, encodeRecord({ type: "create", meta, payload }), units);
    },
    append(inst, meta, units) {
      const payload = concatBytes(units.map((u) => u.bytes ?? new Uint8Array(0)));
      return enqueue(fileOf(inst), encodeRecord({ type: "append", meta, payload }), units);
    },
    tombstone(inst, soft) {
      return enqueue(fileOf(inst), encodeRecord({ type: soft ? "soft_delete" : "delete" }), []);
    },
    drop(inst) {
      const f = files.get(inst.id);
      if (!f) return;
      f.dropRequested = true;
      afterUse(f);
    },
    async read(inst, unit, begin, end) {
      if (unit.bytes) return unit.bytes.subarray(begin, end);
      const f = fileOf(inst);
      f.busy++;
      try {
        const h = await handleOf(f);
        const buf = new Uint8Array(end - begin);
        await readFully(h, buf, unit.filePos + begin);
        return buf;
      } finally {
        f.busy--;
        afterUse(f);
      }
    },
    readSync(inst, unit, begin, end) {
      if (unit.bytes) return unit.bytes.subarray(begin, end);
      const f = fileOf(inst);
      const fd = syncFdOf(f);
      const buf = new Uint8Array(end - begin);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, unit.filePos + begin + got);
        if (n === 0) throw new Error("unexpected end of log file");
        got += n;
      }
      return buf;
    },
    async close() {
      closed = true;
      for (const f of [...syncOpen]) closeSyncFd(f);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      let healthy = true;
      const sizes: Record<string, number> = {};
      for (const f of files.values()) {
        if (f.opening) await f.opening.catch(() => {});
        if (f.handle) await f.handle.close().catch(() => {});
        f.handle = null;
        if (f.broken) healthy = false;
        sizes[f.path.slice(streamsDir.length + 1)] = f.size;
      }
      lru.clear();
      if (healthy) {
        const tmp = `${manifestPath}.tmp`;
        const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
        try {
          await file.write(new TextEncoder().encode(JSON.stringify({ version: 1, files: sizes })));
          await file.sync();
        } finally {
          file.close();
        }
        await Deno.rename(tmp, manifestPath);
        await dirSync.run();
      }
    },
  };
  return { journal, instances: [...recovered.values()] };
}
