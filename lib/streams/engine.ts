/**
 * The stream engine: instances by path, create / append / close / delete with all protocol
 * validation, read planning across fork chains, TTL expiry, fork reference counting and
 * per-stream waiter lists for live readers. HTTP-agnostic; persistence goes through a `Journal`.
 *
 * Writes are validated synchronously against the *pending* state (so concurrent requests are
 * serialized in arrival order), then become visible to readers only once the journal reports them
 * durable (the *committed* state).
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { DEFAULT_CONTENT_TYPE, isJsonType, sameMediaType } from "./content_type.ts";
import { ApiError } from "../errors.ts";
import { H } from "./http_headers.ts";
import { parseJsonMessages } from "./json_mode.ts";
import {
  freshRuntime,
  type Journal,
  type StreamInstance,
  type StreamsEvent,
  type Unit,
} from "./model.ts";
import { formatOffset } from "./offsets.ts";
import { decideProducer, type ProducerTuple } from "./producer.ts";
import type { AppendMeta, CreateMeta } from "./record.ts";
import type { PostRequest, PutRequest } from "./request.ts";

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

/** Engine options. */
export interface EngineOptions {
  journal: Journal;
  now?: () => number;
  onEvent?: (event: StreamsEvent) => void;
}

const encoder = new TextEncoder();

/**
 * The whole messages of a segment's `bytes` (read from `seg.begin` to `seg.end` of a unit with
 * message lengths) that end by `limit`, with the offset each ends at.
 */
function messagesOf(
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

/** How the server creates the JSON streams it writes itself (change feeds): no TTL, open. */
export const SYSTEM_JSON_STREAM = {
  contentType: "application/json",
  ttlSeconds: null,
  expiresAtMs: null,
  closed: false,
  fork: null,
} as const;

/** Refuses an instance that is live but not a JSON stream. */
export function requireJsonStream(inst: StreamInstance, path: string): void {
  if (inst.state === "live" && !inst.json) {
    throw new ApiError("content_type_mismatch", `${path} is not a JSON stream`);
  }
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function sizeOf(units: Unit[]): number {
  let n = 0;
  for (const u of units) n += u.end - u.start;
  return n;
}

/** Builds units from per-unit message lists, starting at `start`. */
function buildUnits(start: number, groups: Uint8Array[][], json: boolean, ts: number): Unit[] {
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
function messageEnds(unit: Unit): number[] {
  const ends = [unit.start];
  let p = unit.start;
  for (const len of unit.lens ?? [unit.end - unit.start]) {
    p += len;
    ends.push(p);
  }
  return ends;
}

/** The layers of a fork chain, root first: each instance and the position range it serves. */
function layersOf(inst: StreamInstance): { inst: StreamInstance; from: number; to: number }[] {
  const layers: { inst: StreamInstance; from: number; to: number }[] = [];
  let cur: StreamInstance | null = inst;
  let cap = inst.tail;
  while (cur) {
    layers.unshift({ inst: cur, from: cur.base, to: Math.min(cap, cur.tail) });
    cap = cur.base;
    cur = cur.fork ? cur.fork.source : null;
  }
  return layers;
}

/** The stream engine. */
export class StreamEngine {
  readonly #journal: Journal;
  readonly #now: () => number;
  readonly #onEvent: (event: StreamsEvent) => void;
  readonly #byPath = new Map<string, StreamInstance>();
  /** Instances with a TTL or Expires-At, for the sweeper. */
  readonly #expiring = new Set<StreamInstance>();
  #closed = false;
  #liveEnded = false;

  constructor(options: EngineOptions) {
    this.#journal = options.journal;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** Current time (ms). */
  now(): number {
    return this.#now();
  }

  // ---------------------------------------------------------------- lookup and lifecycle

  /** The instance at `path` after lazy expiry (live or soft-deleted), if any. */
  lookup(path: string): StreamInstance | undefined {
    const inst = this.#byPath.get(path);
    if (inst && inst.state === "live" && this.#isExpired(inst, this.#now())) {
      this.#expire(inst);
      return this.#byPath.get(path);
    }
    return inst;
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

  #requireWritable(path: string): StreamInstance {
    this.#assertOpen();
    const inst = this.lookup(path);
    if (!inst) throw new ApiError("stream_not_found", "Stream not found");
    if (inst.state !== "live") throw new ApiError("stream_gone", "Stream was deleted");
    if (inst.broken) {
      throw new ApiError("storage_failure", "Stream storage failed; restart required");
    }
    return inst;
  }

  #assertOpen(): void {
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
    this.#retire(inst).catch(() => {});
  }

  /**
   * Deletes (hard) or soft-deletes an instance: soft when forks still reference it. Resolves when
   * the tombstone is durable.
   */
  async #retire(inst: StreamInstance): Promise<void> {
    this.#expiring.delete(inst);
    if (inst.forkRefs > 0) {
      inst.state = "soft_deleted";
      this.#notify(inst);
      await this.#persist(inst, "tombstone", this.#journal.tombstone(inst, true));
      return;
    }
    inst.state = "deleted";
    if (this.#byPath.get(inst.path) === inst) this.#byPath.delete(inst.path);
    this.#notify(inst);
    try {
      await this.#persist(inst, "tombstone", this.#journal.tombstone(inst, false));
    } finally {
      this.#release(inst);
    }
  }

  /** Drops a hard-deleted instance's storage and releases its fork source (cascading GC). */
  #release(inst: StreamInstance): void {
    this.#dropWhenUnpinned(inst);
    const source = inst.fork?.source;
    if (!source) return;
    source.forkRefs--;
    if (source.forkRefs === 0 && source.state === "soft_deleted") {
      source.state = "deleted";
      if (this.#byPath.get(source.path) === source) this.#byPath.delete(source.path);
      this.#release(source);
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

  async #persist(inst: StreamInstance, op: string, write: Promise<void>): Promise<void> {
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

  // ---------------------------------------------------------------- waiters

  #notify(inst: StreamInstance): void {
    const waiters = [...inst.waiters];
    inst.waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Waits until the instance changes (append, close, delete) or `timeoutMs` passes or `signal`
   * aborts. Cheap: one entry in a per-stream set plus one timer; no polling.
   */
  waitForChange(
    inst: StreamInstance,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<"changed" | "timeout" | "aborted"> {
    if (this.#liveEnded || signal?.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const done = (result: "changed" | "timeout" | "aborted") => {
        clearTimeout(timer);
        inst.waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const wake = () => done(this.#liveEnded ? "aborted" : "changed");
      const onAbort = () => done("aborted");
      const timer = setTimeout(() => done("timeout"), timeoutMs);
      inst.waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  // ---------------------------------------------------------------- create

  /** PUT: creates a stream (201) or confirms an identical one (200). */
  async create(path: string, req: PutRequest, body: Uint8Array): Promise<CreateOutcome> {
    for (;;) {
      this.#assertOpen();
      const existing = this.lookup(path);
      if (existing) return await this.#confirmExisting(existing, req);

      // Resolve the fork source and everything that depends on it (synchronously).
      let source: StreamInstance | null = null;
      let contentType = req.contentType ?? DEFAULT_CONTENT_TYPE;
      let forkPos = 0;
      let prefixPlan: ReadPlan | null = null;
      let ttl = req.ttlSeconds;
      let exp = req.expiresAtMs;
      if (req.fork) {
        source = this.lookup(req.fork.from) ?? null;
        if (!source || !source.committed) {
          throw new ApiError("fork_source_not_found", "Fork source stream not found");
        }
        if (source.state !== "live") {
          throw new ApiError("fork_source_gone", "Fork source stream was deleted");
        }
        if (req.contentType !== null && !sameMediaType(req.contentType, source.contentType)) {
          throw new ApiError(
            "content_type_mismatch",
            "Fork content type differs from the source's",
          );
        }
        contentType = req.contentType ?? source.contentType;
        forkPos = req.fork.offset ?? source.tail;
        if (forkPos > source.tail || !this.isBoundary(source, forkPos)) {
          throw new ApiError(
            "fork_offset_invalid",
            "Stream-Fork-Offset is beyond the source tail or not a message boundary",
          );
        }
        if (req.fork.sub > 0) prefixPlan = this.#planSubOffset(source, forkPos, req.fork.sub);
        if (ttl === null && exp === null) {
          ttl = source.ttlSeconds;
          exp = source.expiresAtMs;
        }
      }
      const json = isJsonType(contentType);
      const groups: Uint8Array[][] = [];
      if (body.length > 0) {
        if (json) {
          const parsed = parseJsonMessages(body, true);
          if (!parsed.ok) throw new ApiError("invalid_json", "Body is not valid JSON");
          if (parsed.messages.length > 0) groups.push(parsed.messages);
        } else {
          groups.push([body]);
        }
      }

      // Materialize a sub-offset prefix (async read); the source is pinned meanwhile.
      if (source && prefixPlan) {
        source.forkRefs++;
        let prefix: Uint8Array[];
        try {
          prefix = await this.fetchPlan(prefixPlan, json);
        } finally {
          source.forkRefs--;
        }
        if (this.#byPath.has(path) || source.state !== "live") continue; // raced; re-evaluate
        groups.unshift(json ? prefix : [concatBytes(prefix)]);
      }

      const now = this.#now();
      const units = buildUnits(forkPos, groups, json, now);
      const tail = forkPos + sizeOf(units);
      const inst: StreamInstance = {
        id: randomId(),
        path,
        contentType,
        json,
        ttlSeconds: ttl,
        expiresAtMs: exp,
        reqTtl: req.ttlSeconds,
        reqExp: req.expiresAtMs,
        createdMs: now,
        fork: source && req.fork
          ? { source, pos: forkPos, sub: req.fork.sub, explicit: req.fork.offset !== null }
          : null,
        base: forkPos,
        lastAccessMs: now,
        state: "live",
        committed: false,
        units: [],
        tail: forkPos,
        closed: false,
        pendingTail: tail,
        pendingClosed: req.closed,
        ...freshRuntime(),
      };
      const meta: CreateMeta = {
        id: inst.id,
        path,
        ct: contentType,
        ttl,
        exp,
        reqTtl: req.ttlSeconds,
        reqExp: req.expiresAtMs,
        closed: req.closed,
        fork: inst.fork
          ? {
            src: inst.fork.source.id,
            pos: forkPos,
            sub: inst.fork.sub,
            explicit: inst.fork.explicit,
          }
          : null,
        units: units.map((u) => u.lens ?? [u.end - u.start]),
        ts: now,
      };
      this.#byPath.set(path, inst);
      if (source) source.forkRefs++;
      if (ttl !== null || exp !== null) this.#expiring.add(inst);
      const write = this.#journal.create(inst, meta, units).then(() => {
        inst.units = units;
        inst.tail = tail;
        inst.closed = req.closed;
        inst.committed = true;
      });
      inst.lastWrite = write.catch(() => {});
      try {
        await this.#persist(inst, "create", write);
      } catch (e) {
        if (this.#byPath.get(path) === inst) this.#byPath.delete(path);
        this.#expiring.delete(inst);
        inst.state = "deleted";
        if (source) source.forkRefs--;
        throw e;
      }
      return { created: true, inst, nextOffset: formatOffset(tail) };
    }
  }

  async #confirmExisting(inst: StreamInstance, req: PutRequest): Promise<CreateOutcome> {
    if (inst.state !== "live") {
      throw new ApiError("stream_exists", "A deleted stream still holds this path");
    }
    const conflict = (why: string) =>
      new ApiError("stream_exists", `Stream exists with a different ${why}`);
    const wantType = req.contentType ??
      (req.fork && inst.fork ? inst.contentType : DEFAULT_CONTENT_TYPE);
    if (!sameMediaType(wantType, inst.contentType)) throw conflict("content type");
    if (req.ttlSeconds !== inst.reqTtl) throw conflict("TTL");
    if (req.expiresAtMs !== inst.reqExp) throw conflict("Expires-At");
    if (req.closed !== inst.pendingClosed) throw conflict("closed state");
    if ((req.fork === null) !== (inst.fork === null)) throw conflict("fork configuration");
    if (req.fork && inst.fork) {
      const sameSource = req.fork.from === inst.fork.source.path;
      const sameOffset = req.fork.offset === null
        ? !inst.fork.explicit
        : req.fork.offset === inst.fork.pos;
      if (!sameSource || !sameOffset || req.fork.sub !== inst.fork.sub) {
        throw conflict("fork configuration");
      }
    }
    await inst.lastWrite;
    if (!inst.committed) throw new ApiError("storage_failure", "Stream creation failed");
    return { created: false, inst, nextOffset: formatOffset(inst.tail) };
  }

  /** Plans the sub-offset prefix: the first `sub` bytes / messages of the unit at `pos`. */
  #planSubOffset(source: StreamInstance, pos: number, sub: number): ReadPlan {
    const bad = (why: string) => new ApiError("fork_sub_offset_invalid", why);
    const seg = this.#unitAt(source, pos);
    if (!seg) throw bad("No append unit follows the fork offset");
    let end: number;
    if (seg.unit.lens) {
      const ends = messageEnds(seg.unit).filter((e) => e > pos && e <= seg.to);
      if (sub > ends.length) throw bad("Stream-Fork-Sub-Offset exceeds the message count");
      end = ends[sub - 1];
    } else {
      if (sub > Math.min(seg.unit.end, seg.to) - pos) {
        throw bad("Stream-Fork-Sub-Offset exceeds the unit length");
      }
      end = pos + sub;
    }
    return {
      from: pos,
      next: end,
      segments: [{ inst: seg.inst, unit: seg.unit, begin: pos, end }],
      upToDate: false,
      closedAtEnd: false,
    };
  }

  /** The unit (in the fork chain) containing position `pos`, with the layer's upper bound. */
  #unitAt(
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
  isBoundary(inst: StreamInstance, pos: number): boolean {
    if (pos === 0 || pos === inst.tail) return true;
    if (pos > inst.tail) return false;
    const hit = this.#unitAt(inst, pos);
    if (!hit) return true;
    if (hit.unit.start === pos) return true;
    return hit.unit.lens !== null && messageEnds(hit.unit).includes(pos);
  }

  // ---------------------------------------------------------------- append / close

  /** POST: appends and/or closes. */
  async append(path: string, req: PostRequest, body: Uint8Array): Promise<AppendOutcome> {
    const inst = this.#requireWritable(path);
    const closing = req.closed;
    if (body.length === 0 && !closing) {
      throw new ApiError("empty_body", "Append body must not be empty");
    }
    if (body.length > 0 && req.contentType === null) {
      throw new ApiError("missing_content_type", "Content-Type is required with a body");
    }
    this.touch(inst);
    const closedHeaders = () => ({
      [H.closed]: "true",
      [H.nextOffset]: formatOffset(inst.pendingTail),
    });
    const settled = async (
      status: 204,
      producer: { epoch: number; seq: number } | null,
    ): Promise<AppendOutcome> => {
      await inst.lastWrite;
      if (inst.broken) throw new ApiError("storage_failure", "Storage write failed");
      return {
        status,
        nextOffset: formatOffset(inst.pendingTail),
        closed: inst.pendingClosed,
        producer,
      };
    };

    let producerNext: { tuple: ProducerTuple; epoch: number; seq: number } | null = null;
    const p = req.producer;
    if (p) {
      const state = inst.producers.get(p.id);
      const decision = decideProducer(state, p);
      if (inst.pendingClosed) {
        const by = inst.closedBy;
        if (by && by.id === p.id && by.epoch === p.epoch && by.seq === p.seq) {
          return settled(204, { epoch: by.epoch, seq: by.seq });
        }
        if (decision.kind === "stale_epoch") {
          throw new ApiError("producer_stale_epoch", "Stale producer epoch", {
            headers: {
              [H.producerEpoch]: String(decision.currentEpoch),
            },
          });
        }
        if (decision.kind === "duplicate") {
          return settled(204, { epoch: decision.state.epoch, seq: decision.state.lastSeq });
        }
        throw new ApiError("stream_closed", "Stream is closed", { headers: closedHeaders() });
      }
      switch (decision.kind) {
        case "stale_epoch":
          throw new ApiError("producer_stale_epoch", "Stale producer epoch", {
            headers: {
              [H.producerEpoch]: String(decision.currentEpoch),
            },
          });
        case "epoch_seq_not_zero":
          throw new ApiError(
            "producer_epoch_seq",
            "A new producer epoch must start at Producer-Seq 0",
          );
        case "gap":
          throw new ApiError("producer_seq_gap", "Producer sequence gap", {
            headers: {
              [H.producerExpectedSeq]: String(decision.expected),
              [H.producerReceivedSeq]: String(decision.received),
            },
          });
        case "duplicate":
          return settled(204, { epoch: decision.state.epoch, seq: decision.state.lastSeq });
        case "accept":
          producerNext = { tuple: p, epoch: decision.next.epoch, seq: decision.next.lastSeq };
      }
    } else if (inst.pendingClosed) {
      if (body.length === 0) return settled(204, null);
      throw new ApiError("stream_closed", "Stream is closed", { headers: closedHeaders() });
    }

    let groups: Uint8Array[][] = [];
    if (body.length > 0) {
      if (!sameMediaType(req.contentType!, inst.contentType)) {
        throw new ApiError("content_type_mismatch", `Stream content type is ${inst.contentType}`);
      }
      if (inst.json) {
        const parsed = parseJsonMessages(body, false);
        if (!parsed.ok) {
          throw parsed.reason === "empty_array"
            ? new ApiError("empty_json_array", "Appending an empty JSON array is invalid")
            : new ApiError("invalid_json", "Body is not valid JSON");
        }
        groups = [parsed.messages];
      } else {
        groups = [[body]];
      }
    }
    if (req.streamSeq !== null && inst.lastStreamSeq !== null) {
      if (!(req.streamSeq > inst.lastStreamSeq)) {
        throw new ApiError("seq_conflict", "Stream-Seq must increase", {
          headers: {
            [H.nextOffset]: formatOffset(inst.pendingTail),
          },
        });
      }
    }

    // Accepted: update the pending state and enqueue one atomic record.
    const ts = this.#now();
    const units = buildUnits(inst.pendingTail, groups, inst.json, ts);
    const meta: AppendMeta = { units: units.map((u) => u.lens ?? [u.end - u.start]), ts };
    if (producerNext) {
      meta.prod = [producerNext.tuple.id, producerNext.epoch, producerNext.seq];
      inst.producers.set(producerNext.tuple.id, {
        epoch: producerNext.epoch,
        lastSeq: producerNext.seq,
      });
    }
    if (req.streamSeq !== null) {
      meta.sseq = req.streamSeq;
      inst.lastStreamSeq = req.streamSeq;
    }
    if (closing) {
      meta.closed = true;
      inst.pendingClosed = true;
      if (producerNext) inst.closedBy = producerNext.tuple;
    }
    const end = inst.pendingTail + sizeOf(units);
    inst.pendingTail = end;
    await this.#enqueueAppend(inst, meta, units);
    return {
      status: producerNext && body.length > 0 ? 200 : 204,
      nextOffset: formatOffset(end),
      closed: closing,
      producer: producerNext ? { epoch: producerNext.epoch, seq: producerNext.seq } : null,
    };
  }

  #enqueueAppend(inst: StreamInstance, meta: AppendMeta, units: Unit[]): Promise<void> {
    const write = this.#journal.append(inst, meta, units).then(() => {
      for (const u of units) inst.units.push(u);
      if (units.length > 0) inst.tail = units[units.length - 1].end;
      if (meta.closed) inst.closed = true;
      this.#notify(inst);
    });
    inst.lastWrite = write.catch(() => {});
    return this.#persist(inst, "append", write);
  }

  /**
   * System append of already-serialized JSON messages (table change feeds): creates the stream
   * (application/json, no TTL) when missing. Returns the new tail offset once durable.
   */
  async appendSystemJson(path: string, message: Uint8Array): Promise<string> {
    // wrap in an array so a message that is itself an array stays one message
    const body = concatBytes([encoder.encode("["), message, encoder.encode("]")]);
    for (;;) {
      const existing = this.lookup(path);
      if (!existing) {
        const created = await this.create(path, SYSTEM_JSON_STREAM, body);
        if (created.created) return created.nextOffset;
        continue; // someone else created it first: append to theirs
      }
      requireJsonStream(existing, path);
      const out = await this.append(path, {
        contentType: "application/json",
        closed: false,
        streamSeq: null,
        producer: null,
      }, body);
      return out.nextOffset;
    }
  }

  // ---------------------------------------------------------------- delete

  /** DELETE: hard delete, or soft delete while forks reference the stream. */
  async delete(path: string): Promise<void> {
    this.#assertOpen();
    const inst = this.lookup(path);
    if (!inst || !inst.committed) {
      throw new ApiError("stream_not_found", "Stream not found");
    }
    if (inst.state !== "live") throw new ApiError("stream_gone", "Stream was deleted");
    await this.#retire(inst);
  }

  // ---------------------------------------------------------------- reads

  /** Throws 400 unless `from` is a readable position of `inst`. */
  validateReadOffset(inst: StreamInstance, from: number): void {
    if (from > inst.tail) {
      throw new ApiError("bad_offset", "Offset is beyond the stream tail");
    }
    if (inst.json && !this.isBoundary(inst, from)) {
      throw new ApiError("bad_offset", "Offset is not a message boundary");
    }
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
    this.validateReadOffset(inst, from);
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
        let end = unitEnd;
        if (granularity === "byte") {
          end = Math.min(unitEnd, pos + budget);
        } else if (unit.lens) {
          // whole messages that fit the budget (at least one per read)
          const ends = messageEnds(unit).filter((e) => e > pos && e <= unitEnd);
          let chosen = -1;
          for (const e of ends) {
            if (e - pos <= budget || (chosen < 0 && segments.length === 0)) chosen = e;
            else break;
          }
          if (chosen < 0) break outer;
          end = chosen;
        } else if (end - pos > budget && segments.length > 0) {
          break outer;
        }
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
   * Fetches the bytes of a plan: one entry per message for JSON streams, one per segment
   * otherwise.
   */
  async fetchPlan(plan: ReadPlan, json: boolean): Promise<Uint8Array[]> {
    const unpin = this.pin([...new Set(plan.segments.map((s) => s.inst))]);
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
    const plan = this.planRead(inst, from, maxBytes, "message");
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
        if (this.#byPath.get(inst.path) === inst) this.#byPath.delete(inst.path);
        this.#release(inst);
      }
    }
  }

  /** Ends live reads: wakes every waiter, and later waits return at once. Writes go on. */
  endLive(): void {
    this.#liveEnded = true;
    for (const inst of this.#byPath.values()) this.#notify(inst);
  }

  /** Stops accepting requests and wakes every waiter. */
  shutdown(): void {
    this.#closed = true;
    this.endLive();
  }

  /** True after `endLive()` or `shutdown()`: live readers should finish. */
  get liveEnded(): boolean {
    return this.#liveEnded;
  }
}
