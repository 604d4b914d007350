/**
 * The stream instances by path and their lifecycle: lookups with lazy TTL / Expires-At expiry and
 * the periodic sweep, hard and soft deletion (a tombstone record, then the storage is dropped once
 * no read pins it and no fork needs it), registration of recovered instances and their garbage
 * collection, the live waiters, and the rule that a failed journal write breaks its instance.
 * `StreamStore` (`store.ts`) runs the protocol's operations on top of it.
 * @module
 */

import { ApiError } from "../errors.ts";
import { releaseForkSources } from "./forks.ts";
import type { Journal, StreamInstance, StreamsEvent } from "./model.ts";
import { Waiters, type WaitResult } from "./waiters.ts";

/** Options of {@link StreamInstances}. */
export interface InstancesOptions {
  journal: Journal;
  now?: () => number;
  onEvent?: (event: StreamsEvent) => void;
}

/** The instances of a store. */
export class StreamInstances {
  readonly #journal: Journal;
  readonly #now: () => number;
  readonly #onEvent: (event: StreamsEvent) => void;
  readonly #byPath = new Map<string, StreamInstance>();
  /** Instances with a TTL or Expires-At, for the sweeper. */
  readonly #expiring = new Set<StreamInstance>();
  readonly #waiters = new Waiters();
  #closed = false;

  constructor(options: InstancesOptions) {
    this.#journal = options.journal;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** Current time (ms). */
  now(): number {
    return this.#now();
  }

  /** The instance at `path` after lazy expiry (live or soft-deleted), if any. */
  lookup(path: string): StreamInstance | undefined {
    const inst = this.#byPath.get(path);
    if (inst && inst.state === "live" && this.#isExpired(inst, this.#now())) {
      this.#expire(inst);
      return this.#byPath.get(path);
    }
    return inst;
  }

  /** True when some instance (even a not yet committed one) holds `path`, without expiring it. */
  holds(path: string): boolean {
    return this.#byPath.has(path);
  }

  /** A committed, live instance for reading; throws 404 / 410 otherwise. */
  requireReadable(path: string): StreamInstance {
    const inst = this.lookup(path);
    if (!inst || !inst.committed) {
      throw new ApiError("stream_not_found", "Stream not found");
    }
    if (inst.state !== "live") throw new ApiError("stream_gone", "Stream was deleted");
    return inst;
  }

  /** A live instance that takes writes; throws 404 / 410 / 503 otherwise. */
  requireWritable(path: string): StreamInstance {
    this.assertOpen();
    const inst = this.lookup(path);
    if (!inst) throw new ApiError("stream_not_found", "Stream not found");
    if (inst.state !== "live") throw new ApiError("stream_gone", "Stream was deleted");
    if (inst.broken) {
      throw new ApiError("storage_failure", "Stream storage failed; restart required");
    }
    return inst;
  }

  /** Throws 503 once the store is shut down. */
  assertOpen(): void {
    if (this.#closed) throw new ApiError("unavailable", "Streams service is closed");
  }

  #isExpired(inst: StreamInstance, now: number): boolean {
    if (inst.expiresAtMs !== null && now >= inst.expiresAtMs) return true;
    return inst.ttlSeconds !== null && now >= inst.lastAccessMs + inst.ttlSeconds * 1000;
  }

  /** Resets the sliding TTL (every read and write, never HEAD). */
  touch(inst: StreamInstance): void {
    inst.lastAccessMs = Math.max(inst.lastAccessMs, this.#now());
  }

  /** Names of live, committed streams. */
  paths(): string[] {
    const out: string[] = [];
    for (const [path, inst] of this.#byPath) {
      if (inst.state === "live" && inst.committed && !this.#isExpired(inst, this.#now())) {
        out.push(path);
      }
    }
    return out.sort();
  }

  /** Expires every stream whose TTL or Expires-At has passed (called periodically). */
  sweep(): void {
    const now = this.#now();
    for (const inst of [...this.#expiring]) {
      if (inst.state !== "live") this.#expiring.delete(inst);
      else if (inst.committed && this.#isExpired(inst, now)) this.#expire(inst);
    }
  }

  #expire(inst: StreamInstance): void {
    this.#onEvent({ type: "stream_expired", path: inst.path });
    this.retire(inst).catch(() => {});
  }

  /** Makes a new instance the one at its path (and the sweeper's, with a TTL or expiry). */
  register(inst: StreamInstance): void {
    this.#byPath.set(inst.path, inst);
    if (inst.ttlSeconds !== null || inst.expiresAtMs !== null) this.#expiring.add(inst);
  }

  /** Takes back a new instance whose create failed. */
  unregister(inst: StreamInstance): void {
    this.#forget(inst);
    this.#expiring.delete(inst);
    inst.state = "deleted";
  }

  /**
   * Deletes (hard) or soft-deletes an instance: soft when forks still reference it. Resolves when
   * the tombstone is durable.
   */
  async retire(inst: StreamInstance): Promise<void> {
    this.#expiring.delete(inst);
    if (inst.forkRefs > 0) {
      inst.state = "soft_deleted";
      this.#waiters.notify(inst);
      await this.persist(inst, "tombstone", this.#journal.tombstone(inst, true));
      return;
    }
    inst.state = "deleted";
    this.#forget(inst);
    this.#waiters.notify(inst);
    try {
      await this.persist(inst, "tombstone", this.#journal.tombstone(inst, false));
    } finally {
      this.#release(inst);
    }
  }

  /** Frees the path of an instance that is gone (unless a newer one holds it). */
  #forget(inst: StreamInstance): void {
    if (this.#byPath.get(inst.path) === inst) this.#byPath.delete(inst.path);
  }

  /** Drops a hard-deleted instance's storage and releases its fork sources (cascading GC). */
  #release(inst: StreamInstance): void {
    this.#dropWhenUnpinned(inst);
    for (const source of releaseForkSources(inst)) {
      this.#forget(source);
      this.#dropWhenUnpinned(source);
    }
  }

  #dropWhenUnpinned(inst: StreamInstance): void {
    if (inst.pins === 0) this.#journal.drop(inst);
  }

  /** Marks the start of a data read on every instance of a plan (defers file removal). */
  pin(insts: StreamInstance[]): () => void {
    for (const i of insts) i.pins++;
    return () => {
      for (const i of insts) {
        i.pins--;
        if (i.pins === 0 && i.state === "deleted" && i.forkRefs === 0) this.#journal.drop(i);
      }
    };
  }

  /** Awaits a journal write of `inst`; a failure breaks the instance (503 until restart). */
  async persist(inst: StreamInstance, op: string, write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (e) {
      inst.broken = true;
      this.#onEvent({
        type: "storage_error",
        op,
        stream: inst.path,
        message: e instanceof Error ? e.message : String(e),
      });
      throw new ApiError("storage_failure", "Storage write failed");
    }
  }

  /** Wakes the live readers of `inst`. */
  notify(inst: StreamInstance): void {
    this.#waiters.notify(inst);
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
    return this.#waiters.wait(inst, timeoutMs, signal);
  }

  /** Registers a recovered instance (durable storage start-up). */
  adopt(inst: StreamInstance): void {
    const current = this.#byPath.get(inst.path);
    if (inst.state !== "deleted" && (!current || current.createdMs <= inst.createdMs)) {
      this.#byPath.set(inst.path, inst);
    }
    if (inst.ttlSeconds !== null || inst.expiresAtMs !== null) this.#expiring.add(inst);
  }

  /** Hard-deletes recovered soft-deleted instances that no fork references any more. */
  collectGarbage(all: StreamInstance[]): void {
    for (const inst of all) {
      if (inst.state === "soft_deleted" && inst.forkRefs === 0) {
        inst.state = "deleted";
        this.#forget(inst);
        this.#release(inst);
      }
    }
  }

  /** Ends live reads: wakes every waiter, and later waits return at once. Writes go on. */
  endLive(): void {
    this.#waiters.end(this.#byPath.values());
  }

  /** Stops accepting requests and wakes every waiter. */
  shutdown(): void {
    this.#closed = true;
    this.endLive();
  }

  /** True after `endLive()` or `shutdown()`: live readers should finish. */
  get liveEnded(): boolean {
    return this.#waiters.ended;
  }
}
