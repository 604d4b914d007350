/**
 * The in-memory model shared by the engine and the journals: stream instances, their append
 * units, the journal interface and the events the module emits.
 * @module
 */

import type { AppendMeta, CreateMeta } from "./record.ts";
import type { ProducerState, ProducerTuple } from "./producer.ts";

/**
 * One append unit (the messages of one POST, one PUT body, or one fork prefix). Binary streams
 * have one message per unit; JSON streams have one message per flattened array element.
 * Positions are logical byte positions in the stream's offset space.
 */
export interface Unit {
  start: number;
  end: number;
  /** JSON streams: byte length of each message; null for non-JSON streams (one message). */
  lens: number[] | null;
  /** Payload bytes when held in memory (memory storage, or not yet durable). */
  bytes: Uint8Array | null;
  /** Position of the payload in the instance's log file (durable storage). */
  filePos: number;
  /** When the unit was appended (ms since the epoch; the record's timestamp). */
  ts: number;
}

/** Fork linkage of an instance. */
export interface ForkLink {
  source: StreamInstance;
  /** Fork offset: data below it is read from `source`. */
  pos: number;
  /** Sub-offset used at creation (0 when absent). */
  sub: number;
  /** Whether Stream-Fork-Offset was explicit at creation. */
  explicit: boolean;
}

/** Lifecycle of an instance. */
export type InstanceState = "live" | "soft_deleted" | "deleted";

/**
 * One incarnation of a stream path. A path deleted and re-created gets a new instance (new id),
 * while forks keep a reference to the exact instance they were forked from.
 */
export interface StreamInstance {
  readonly id: string;
  readonly path: string;
  readonly contentType: string;
  readonly json: boolean;
  readonly ttlSeconds: number | null;
  readonly expiresAtMs: number | null;
  /** TTL / Expires-At as requested at creation (null if inherited), for idempotent PUT. */
  readonly reqTtl: number | null;
  readonly reqExp: number | null;
  readonly createdMs: number;
  fork: ForkLink | null;
  /** Where the instance's own data starts (fork offset, or 0). */
  readonly base: number;
  lastAccessMs: number;
  state: InstanceState;
  /** True once the create record is durable. */
  committed: boolean;
  /** Own committed units, ordered by position. */
  units: Unit[];
  /** Committed tail (what readers see). */
  tail: number;
  /** Committed closed flag (what readers see). */
  closed: boolean;
  /** Tail including accepted-but-not-yet-durable appends (what writers validate against). */
  pendingTail: number;
  pendingClosed: boolean;
  /** Producer tuple that closed the stream, if any. */
  closedBy: ProducerTuple | null;
  producers: Map<string, ProducerState>;
  lastStreamSeq: string | null;
  /** Forks (not hard-deleted) that reference this instance. */
  forkRefs: number;
  /** In-flight reads of this instance's data (defers file removal). */
  pins: number;
  /** Set when storage failed for this instance: it refuses writes until restart. */
  broken: boolean;
  /** Resolves when every write accepted so far is durable (or failed). */
  lastWrite: Promise<void>;
  waiters: Set<() => void>;
}

/** The run-time fields every new or recovered instance starts with. */
export function freshRuntime(): Pick<
  StreamInstance,
  | "closedBy"
  | "producers"
  | "lastStreamSeq"
  | "forkRefs"
  | "pins"
  | "broken"
  | "lastWrite"
  | "waiters"
> {
  return {
    closedBy: null,
    producers: new Map(),
    lastStreamSeq: null,
    forkRefs: 0,
    pins: 0,
    broken: false,
    lastWrite: Promise.resolve(),
    waiters: new Set(),
  };
}

/** Persistence backend: memory (no-op) or durable log files. */
export interface Journal {
  /** Persists a new instance and its initial units; resolves when durable. */
  create(inst: StreamInstance, meta: CreateMeta, units: Unit[]): Promise<void>;
  /** Persists one append/close record; resolves when durable. */
  append(inst: StreamInstance, meta: AppendMeta, units: Unit[]): Promise<void>;
  /** Persists a deletion marker (soft: data kept for forks); resolves when durable. */
  tombstone(inst: StreamInstance, soft: boolean): Promise<void>;
  /** Removes an instance's storage (called when nothing references it any more). */
  drop(inst: StreamInstance): void;
  /** Reads `[begin, end)` of a unit's payload (relative to the unit start). */
  read(inst: StreamInstance, unit: Unit, begin: number, end: number): Promise<Uint8Array>;
  /**
   * Synchronous `read` for callers that cannot await (SQL table functions run inside a DuckDB
   * callback on the JS thread). Throws when the data is gone (stream deleted meanwhile).
   */
  readSync(inst: StreamInstance, unit: Unit, begin: number, end: number): Uint8Array;
  /** Flushes and releases everything. */
  close(): Promise<void>;
}

/** Events the module emits (logging and metrics decide what to do with them). */
export type StreamsEvent =
  | { type: "recovery_done"; streams: number; records: number; truncated: number; ms: number }
  | { type: "recovery_truncated"; file: string; at: number; size: number }
  | { type: "recovery_dropped"; file: string; reason: string }
  | { type: "storage_error"; op: string; stream: string; message: string }
  | { type: "stream_expired"; path: string }
  | { type: "internal_error"; method: string; path: string; message: string };
