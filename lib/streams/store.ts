/**
 * The stream store: create / append / close / delete with all protocol validation, and reads,
 * over the instances by path (`instances.ts`: lookups, expiry, deletion, waiters). HTTP-agnostic;
 * persistence goes through a `Journal` (memory or the durable log files). The rules it applies
 * live with their subject: where bytes are and how reads are planned in `read_layout.ts`, fork
 * rules and fork reference counting in `forks.ts`, producer fencing in `producer.ts`, what a
 * write writes in `writes.ts`.
 *
 * Writes are validated synchronously against the *pending* state (so concurrent requests are
 * serialized in arrival order), then become visible to readers only once the journal reports them
 * durable (the *committed* state).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStreamStore } from "./store.ts";
 * const store = await openStreamStore({ storage: { kind: "memory" } });
 * const put = { contentType: "text/plain", ttlSeconds: null, expiresAtMs: null, closed: false, fork: null };
 * await store.create("greetings", put, new TextEncoder().encode("hello"));
 * const inst = store.requireReadable("greetings");
 * const plan = store.planRead(inst, 0, 1024, "byte");
 * const [bytes] = await store.fetchPlan(plan, false);
 * equal(new TextDecoder().decode(bytes), "hello");
 * await store.close();
 * ```
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { ApiError } from "../errors.ts";
import { isJsonType, sameMediaType } from "./content_type.ts";
import { resolveCreate, type ResolvedCreate, sameForkConfig, wantedContentType } from "./forks.ts";
import { StreamInstances } from "./instances.ts";
import { openDirJournal } from "./journal_dir.ts";
import { createMemoryJournal } from "./journal_memory.ts";
import type { Journal, StreamInstance, StreamsEvent, Unit } from "./model.ts";
import { formatOffset } from "./offsets.ts";
import { type Fence, fenceProducer } from "./producer.ts";
import {
  buildUnits,
  type Granularity,
  isBoundary,
  messagesOf,
  planRead,
  type ReadPlan,
  sizeOf,
  validateReadOffset,
} from "./read_layout.ts";
import type { AppendMeta } from "./record.ts";
import type { PostRequest, PutRequest } from "./request.ts";
import type { WaitResult } from "./waiters.ts";
import {
  appendGroups,
  checkStreamSeq,
  closedError,
  createGroups,
  createMeta,
  newInstance,
} from "./writes.ts";

/** Outcome of a PUT. */
export interface CreateOutcome {
  created: boolean;
  inst: StreamInstance;
  /** Tail right after this create (201), or the current tail (200). */
  nextOffset: string;
}

/** Outcome of a POST. */
export interface AppendOutcome {
  status: 200 | 204;
  nextOffset: string;
  closed: boolean;
  producer: { epoch: number; seq: number } | null;
}

/** Options of a {@link StreamStore}. */
export interface StoreOptions {
  journal: Journal;
  now?: () => number;
  onEvent?: (event: StreamsEvent) => void;
}

/** Where a store keeps stream data, and how to open it. */
export interface OpenStoreOptions {
  /** In memory, or durably (crash-safe) under a directory. */
  storage: { kind: "memory" } | { kind: "dir"; dir: string };
  /** Maximum open log-file handles (durable storage). Default 256. */
  maxOpenFiles?: number;
  now?: () => number;
  onEvent?: (event: StreamsEvent) => void;
}

/** Opens a store on its storage: durable storage is recovered first. */
export async function openStreamStore(options: OpenStoreOptions): Promise<StreamStore> {
  const { storage, now, onEvent = () => {} } = options;
  let journal: Journal;
  let recovered: StreamInstance[] = [];
  if (storage.kind === "memory") {
    journal = createMemoryJournal();
  } else if (storage.kind === "dir" && storage.dir) {
    const maxOpenFiles = options.maxOpenFiles ?? 256;
    const opened = await openDirJournal({ dir: storage.dir, maxOpenFiles, onEvent, now });
    journal = opened.journal;
    recovered = opened.instances;
  } else {
    throw new TypeError("streams: storage must be { kind: 'memory' } or { kind: 'dir', dir }");
  }
  const store = new StreamStore({ journal, now, onEvent });
  store.adopt(recovered);
  return store;
}

/** The stream store. */
export class StreamStore {
  readonly #journal: Journal;
  readonly #instances: StreamInstances;

  constructor(options: StoreOptions) {
    this.#journal = options.journal;
    this.#instances = new StreamInstances(options);
  }

  /** Current time (ms). */
  now(): number {
    return this.#instances.now();
  }

  /** The instance at `path` after lazy expiry (live or soft-deleted), if any. */
  lookup(path: string): StreamInstance | undefined {
    return this.#instances.lookup(path);
  }

  /** A committed, live instance for reading; throws 404 / 410 otherwise. */
  requireReadable(path: string): StreamInstance {
    return this.#instances.requireReadable(path);
  }

  /** Resets the sliding TTL (every read and write, never HEAD). */
  touch(inst: StreamInstance): void {
    this.#instances.touch(inst);
  }

  /** Names of live, committed streams. */
  paths(): string[] {
    return this.#instances.paths();
  }

  /** Expires every stream whose TTL or Expires-At has passed (called periodically). */
  sweep(): void {
    this.#instances.sweep();
  }

  /**
   * Waits until the instance changes (append, close, delete) or `timeoutMs` passes or `signal`
   * aborts. Cheap: one entry in a per-stream set plus one timer; no polling.
   */
  waitForChange(
    inst: StreamInstance,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WaitResult> {
    return this.#instances.waitForChange(inst, timeoutMs, signal);
  }

  // ---------------------------------------------------------------- create

  /** PUT: creates a stream (201) or confirms an identical one (200). */
  async create(path: string, req: PutRequest, body: Uint8Array): Promise<CreateOutcome> {
    for (;;) {
      this.#instances.assertOpen();
      const existing = this.lookup(path);
      if (existing) return await this.#confirmExisting(existing, req);
      // Resolve the fork source and everything that depends on it (synchronously).
      const resolved = resolveCreate(req, req.fork ? this.lookup(req.fork.from) : undefined);
      const json = isJsonType(resolved.contentType);
      const groups = createGroups(body, json);
      const { source, prefixPlan } = resolved;
      if (source && prefixPlan) {
        // Materialize a sub-offset prefix (async read); the source is pinned meanwhile.
        source.forkRefs++;
        let prefix: Uint8Array[];
        try {
          prefix = await this.fetchPlan(prefixPlan, json);
        } finally {
          source.forkRefs--;
        }
        if (this.#instances.holds(path) || source.state !== "live") continue; // raced; re-evaluate
        groups.unshift(json ? prefix : [concatBytes(prefix)]);
      }
      return await this.#commitCreate(path, req, resolved, groups);
    }
  }

  /** Registers a new instance and writes its create record; resolves when durable. */
  async #commitCreate(
    path: string,
    req: PutRequest,
    resolved: ResolvedCreate,
    groups: Uint8Array[][],
  ): Promise<CreateOutcome> {
    const { source } = resolved;
    const now = this.#instances.now();
    const inst = newInstance(path, req, resolved, now);
    const units = buildUnits(inst.base, groups, inst.json, now);
    const tail = inst.base + sizeOf(units);
    inst.pendingTail = tail;
    const meta = createMeta(inst, req, units, now);
    this.#instances.register(inst);
    if (source) source.forkRefs++;
    const write = this.#journal.create(inst, meta, units).then(() => {
      inst.units = units;
      inst.tail = tail;
      inst.closed = req.closed;
      inst.committed = true;
    });
    inst.lastWrite = write.catch(() => {});
    try {
      await this.#instances.persist(inst, "create", write);
    } catch (e) {
      this.#instances.unregister(inst);
      if (source) source.forkRefs--;
      throw e;
    }
    return { created: true, inst, nextOffset: formatOffset(tail) };
  }

  async #confirmExisting(inst: StreamInstance, req: PutRequest): Promise<CreateOutcome> {
    if (inst.state !== "live") {
      throw new ApiError("stream_exists", "A deleted stream still holds this path");
    }
    const conflict = (why: string) =>
      new ApiError("stream_exists", `Stream exists with a different ${why}`);
    if (!sameMediaType(wantedContentType(req, inst), inst.contentType)) {
      throw conflict("content type");
    }
    if (req.ttlSeconds !== inst.reqTtl) throw conflict("TTL");
    if (req.expiresAtMs !== inst.reqExp) throw conflict("Expires-At");
    if (req.closed !== inst.pendingClosed) throw conflict("closed state");
    if (!sameForkConfig(req, inst)) throw conflict("fork configuration");
    await inst.lastWrite;
    if (!inst.committed) throw new ApiError("storage_failure", "Stream creation failed");
    return { created: false, inst, nextOffset: formatOffset(inst.tail) };
  }

  /** True when `pos` is a message boundary of `inst` (0 and the tail always are). */
  isBoundary(inst: StreamInstance, pos: number): boolean {
    return isBoundary(inst, pos);
  }

  // ---------------------------------------------------------------- append / close

  /** POST: appends and/or closes. */
  async append(path: string, req: PostRequest, body: Uint8Array): Promise<AppendOutcome> {
    const inst = this.#instances.requireWritable(path);
    if (body.length === 0 && !req.closed) {
      throw new ApiError("empty_body", "Append body must not be empty");
    }
    if (body.length > 0 && req.contentType === null) {
      throw new ApiError("missing_content_type", "Content-Type is required with a body");
    }
    this.#instances.touch(inst);
    let fence: Fence | null = null;
    if (req.producer) {
      fence = fenceProducer(inst, req.producer);
      if (fence.kind === "duplicate") return await this.#settled(inst, fence);
      if (fence.kind === "closed") throw closedError(inst);
    } else if (inst.pendingClosed) {
      if (body.length === 0) return await this.#settled(inst, null);
      throw closedError(inst);
    }
    const groups = appendGroups(inst, req.contentType, body);
    checkStreamSeq(inst, req.streamSeq);
    return await this.#accept(inst, req, groups, fence, body.length > 0);
  }

  /** The answer to an append that writes nothing, once everything before it is durable. */
  async #settled(
    inst: StreamInstance,
    producer: { epoch: number; seq: number } | null,
  ): Promise<AppendOutcome> {
    await inst.lastWrite;
    if (inst.broken) throw new ApiError("storage_failure", "Storage write failed");
    return {
      status: 204,
      nextOffset: formatOffset(inst.pendingTail),
      closed: inst.pendingClosed,
      producer: producer && { epoch: producer.epoch, seq: producer.seq },
    };
  }

  /** Accepted: updates the pending state and enqueues one atomic record. */
  async #accept(
    inst: StreamInstance,
    req: PostRequest,
    groups: Uint8Array[][],
    fence: Fence | null,
    hasBody: boolean,
  ): Promise<AppendOutcome> {
    const ts = this.#instances.now();
    const units = buildUnits(inst.pendingTail, groups, inst.json, ts);
    const meta: AppendMeta = { units: units.map((u) => u.lens ?? [u.end - u.start]), ts };
    const accepted = fence?.kind === "accept" && req.producer ? fence : null;
    if (accepted) {
      meta.prod = [req.producer!.id, accepted.epoch, accepted.seq];
      inst.producers.set(req.producer!.id, { epoch: accepted.epoch, lastSeq: accepted.seq });
    }
    if (req.streamSeq !== null) {
      meta.sseq = req.streamSeq;
      inst.lastStreamSeq = req.streamSeq;
    }
    if (req.closed) {
      meta.closed = true;
      inst.pendingClosed = true;
      if (accepted) inst.closedBy = req.producer;
    }
    const end = inst.pendingTail + sizeOf(units);
    inst.pendingTail = end;
    await this.#enqueueAppend(inst, meta, units);
    return {
      status: accepted && hasBody ? 200 : 204,
      nextOffset: formatOffset(end),
      closed: req.closed,
      producer: accepted ? { epoch: accepted.epoch, seq: accepted.seq } : null,
    };
  }

  #enqueueAppend(inst: StreamInstance, meta: AppendMeta, units: Unit[]): Promise<void> {
    const write = this.#journal.append(inst, meta, units).then(() => {
      for (const u of units) inst.units.push(u);
      if (units.length > 0) inst.tail = units[units.length - 1].end;
      if (meta.closed) inst.closed = true;
      this.#instances.notify(inst);
    });
    inst.lastWrite = write.catch(() => {});
    return this.#instances.persist(inst, "append", write);
  }

  // ---------------------------------------------------------------- delete

  /** DELETE: hard delete, or soft delete while forks reference the stream. */
  async delete(path: string): Promise<void> {
    this.#instances.assertOpen();
    const inst = this.lookup(path);
    if (!inst || !inst.committed) {
      throw new ApiError("stream_not_found", "Stream not found");
    }
    if (inst.state !== "live") throw new ApiError("stream_gone", "Stream was deleted");
    await this.#instances.retire(inst);
  }

  // ---------------------------------------------------------------- reads

  /** Throws 400 unless `from` is a readable position of `inst`. */
  validateReadOffset(inst: StreamInstance, from: number): void {
    validateReadOffset(inst, from);
  }

  /**
   * Plans a read of committed data from `from`, up to about `maxBytes`. Byte granularity may split
   * a message (binary catch-up); message granularity returns whole messages (at least one).
   */
  planRead(
    inst: StreamInstance,
    from: number,
    maxBytes: number,
    granularity: Granularity,
  ): ReadPlan {
    return planRead(inst, from, maxBytes, granularity);
  }

  /**
   * Fetches the bytes of a plan: one entry per message for JSON streams, one per segment
   * otherwise.
   */
  async fetchPlan(plan: ReadPlan, json: boolean): Promise<Uint8Array[]> {
    const unpin = this.#instances.pin([...new Set(plan.segments.map((s) => s.inst))]);
    try {
      const out: Uint8Array[] = [];
      for (const seg of plan.segments) {
        const bytes = await this.#journal.read(
          seg.inst,
          seg.unit,
          seg.begin - seg.unit.start,
          seg.end - seg.unit.start,
        );
        if (!json || !seg.unit.lens) out.push(bytes);
        else for (const m of messagesOf(seg, bytes)) out.push(m.bytes);
      }
      return out;
    } finally {
      unpin();
    }
  }

  /**
   * Reads whole messages from `from` synchronously, for SQL scans (which run inside a DuckDB
   * callback and cannot await): about `maxBytes` per call (at least one message), never past
   * `limit`. Each message comes with its end position and its append time.
   */
  readMessagesSync(
    inst: StreamInstance,
    from: number,
    maxBytes: number,
    limit: number,
  ): { bytes: Uint8Array; end: number; ts: number }[] {
    if (from >= limit) return [];
    const plan = planRead(inst, from, maxBytes, "message");
    const out: { bytes: Uint8Array; end: number; ts: number }[] = [];
    for (const seg of plan.segments) {
      const { unit } = seg;
      const bytes = this.#journal.readSync(
        seg.inst,
        unit,
        seg.begin - unit.start,
        seg.end - unit.start,
      );
      if (!unit.lens) {
        if (seg.end <= limit) out.push({ bytes, end: seg.end, ts: unit.ts });
        continue;
      }
      for (const m of messagesOf(seg, bytes, limit)) out.push({ ...m, ts: unit.ts });
    }
    return out;
  }

  // ---------------------------------------------------------------- recovery and shutdown

  /** Registers recovered instances (durable storage start-up) and collects their garbage. */
  adopt(recovered: StreamInstance[]): void {
    for (const inst of recovered) this.#instances.adopt(inst);
    this.#instances.collectGarbage(recovered);
  }

  /** Ends live reads: wakes every waiter, and later waits return at once. Writes go on. */
  endLive(): void {
    this.#instances.endLive();
  }

  /** Stops accepting requests and wakes every waiter. */
  shutdown(): void {
    this.#instances.shutdown();
  }

  /** Shuts down, then flushes the journal and closes its files. */
  async close(): Promise<void> {
    this.shutdown();
    await this.#journal.close();
  }

  /** True after `endLive()` or `shutdown()`: live readers should finish. */
  get liveEnded(): boolean {
    return this.#instances.liveEnded;
  }
}

export type { Granularity, ReadPlan, Segment } from "./read_layout.ts";
