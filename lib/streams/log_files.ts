/**
 * The open log files of the durable journal: one per stream instance, written with group commit
 * (every record queued while a write + fdatasync is in flight goes out with the next single write
 * and sync; a new file also syncs the directory), read positionally, with an LRU of open handles
 * (and of the descriptors for synchronous reads) bounded by `maxOpenFiles`, and removed once a
 * dropped instance's file is idle.
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { closeSync, openSync, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { Unit } from "./model.ts";
import { type EncodedFrame, FILE_MAGIC } from "./record.ts";

/** A record waiting for the next flush of its file. */
interface Pending {
  bytes: Uint8Array;
  units: Unit[];
  resolve: () => void;
  reject: (e: Error) => void;
}

/** One instance's log file. */
export interface LogFile {
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

/** A log file's state: `size` bytes, `isNew` when the first flush still has to create it. */
export function newLogFile(path: string, size: number, isNew: boolean): LogFile {
  return {
    path,
    handle: null,
    opening: null,
    size,
    isNew,
    queue: [],
    flushing: null,
    busy: 0,
    broken: null,
    dropRequested: false,
  };
}

/** Coalesces concurrent requests for the same sync into as few runs as possible. */
export class GroupSync {
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  constructor(private readonly fn: () => Promise<void>) {}
  /** Runs the sync, or joins the run that starts after the one in flight. */
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

/** Reads exactly `buf.length` bytes at `position`. */
export async function readFully(
  handle: FileHandle,
  buf: Uint8Array,
  position: number,
): Promise<void> {
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

/** The log files by instance id. */
export class LogFiles {
  readonly #files = new Map<string, LogFile>();
  /** Open handles in LRU order (oldest first). */
  readonly #lru = new Map<LogFile, true>();
  /** Files with an open sync-read descriptor, oldest first (bounded by maxOpenFiles). */
  readonly #syncOpen = new Set<LogFile>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(private readonly maxOpenFiles: number, private readonly dirSync: GroupSync) {}

  /** Registers the file of instance `id`. */
  add(id: string, file: LogFile): void {
    this.#files.set(id, file);
  }

  /** The file of instance `id`; throws when it has none. */
  of(id: string): LogFile {
    const f = this.#files.get(id);
    if (!f) throw new Error(`no log file for stream instance ${id}`);
    return f;
  }

  /** Removes the file of instance `id` once nothing uses it any more. */
  drop(id: string): void {
    const f = this.#files.get(id);
    if (!f) return;
    f.dropRequested = true;
    this.#afterUse(f);
  }

  /** Queues an encoded record for `f` (placing `units` in the file); resolves when durable. */
  enqueue(f: LogFile, frame: EncodedFrame, units: Unit[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("journal is closed"));
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
      const run = this.#flush(f);
      f.flushing = run;
      this.#inFlight.add(run);
      run.finally(() => this.#inFlight.delete(run));
    }
    return done;
  }

  /** Reads `length` bytes of `f` at `position`. */
  async read(f: LogFile, position: number, length: number): Promise<Uint8Array> {
    f.busy++;
    try {
      const h = await this.#handleOf(f);
      const buf = new Uint8Array(length);
      await readFully(h, buf, position);
      return buf;
    } finally {
      f.busy--;
      this.#afterUse(f);
    }
  }

  /** Reads `length` bytes of `f` at `position` synchronously (its own descriptor). */
  readSync(f: LogFile, position: number, length: number): Uint8Array {
    const fd = this.#syncFdOf(f);
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, position + got);
      if (n === 0) throw new Error("unexpected end of log file");
      got += n;
    }
    return buf;
  }

  /**
   * Refuses further writes, waits for every write and removal in flight and closes every file.
   * Returns each file's size by path, and whether every file is healthy.
   */
  async close(): Promise<{ healthy: boolean; sizes: Map<string, number> }> {
    this.#closed = true;
    for (const f of [...this.#syncOpen]) this.#closeSyncFd(f);
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    let healthy = true;
    const sizes = new Map<string, number>();
    for (const f of this.#files.values()) {
      if (f.opening) await f.opening.catch(() => {});
      if (f.handle) await f.handle.close().catch(() => {});
      f.handle = null;
      if (f.broken) healthy = false;
      sizes.set(f.path, f.size);
    }
    this.#lru.clear();
    return { healthy, sizes };
  }

  #evict(): void {
    if (this.#lru.size <= this.maxOpenFiles) return;
    for (const f of this.#lru.keys()) {
      if (this.#lru.size <= this.maxOpenFiles) break;
      if (f.busy === 0 && !f.flushing && f.queue.length === 0 && f.handle) {
        const h = f.handle;
        f.handle = null;
        this.#lru.delete(f);
        h.close().catch(() => {});
      }
    }
  }

  async #handleOf(f: LogFile): Promise<FileHandle> {
    if (f.handle) {
      this.#lru.delete(f);
      this.#lru.set(f, true);
      return f.handle;
    }
    if (!f.opening) {
      f.opening = open(f.path, "a+").then((h) => {
        f.handle = h;
        f.opening = null;
        this.#lru.set(f, true);
        this.#evict();
        return h;
      }, (e) => {
        f.opening = null;
        throw e;
      });
    }
    return await f.opening;
  }

  #closeSyncFd(f: LogFile): void {
    if (f.syncFd == null) return;
    try {
      closeSync(f.syncFd);
    } catch {
      // already closed
    }
    f.syncFd = null;
    this.#syncOpen.delete(f);
  }

  #syncFdOf(f: LogFile): number {
    if (f.syncFd != null) return f.syncFd;
    f.syncFd = openSync(f.path, "r");
    this.#syncOpen.add(f);
    for (const old of this.#syncOpen) {
      if (this.#syncOpen.size <= this.maxOpenFiles) break;
      if (old !== f) this.#closeSyncFd(old);
    }
    return f.syncFd;
  }

  /** Removes a dropped file once it is idle. */
  #afterUse(f: LogFile): void {
    if (!f.dropRequested || f.busy > 0 || f.flushing || f.queue.length > 0) return;
    this.#closeSyncFd(f);
    this.#files.forEach((v, k) => {
      if (v === f) this.#files.delete(k);
    });
    const h = f.handle;
    f.handle = null;
    this.#lru.delete(f);
    const removal = (async () => {
      if (h) await h.close().catch(() => {});
      await Deno.remove(f.path).catch(() => {});
    })();
    this.#inFlight.add(removal);
    removal.finally(() => this.#inFlight.delete(removal));
  }

  /** Writes and syncs everything queued for `f`, batch after batch (group commit). */
  async #flush(f: LogFile): Promise<void> {
    f.busy++;
    try {
      while (f.queue.length > 0) {
        const batch = f.queue.splice(0);
        try {
          const parts = batch.map((p) => p.bytes);
          const creating = f.isNew;
          if (creating) parts.unshift(FILE_MAGIC);
          const h = await this.#handleOf(f);
          await writeFully(h, concatBytes(parts));
          await h.datasync();
          if (creating) {
            f.isNew = false;
            await this.dirSync.run();
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
      this.#afterUse(f);
    }
  }
}
