/**
 * Running statements safely: every engine call of a request happens under a {@link Guard} that
 * interrupts the connection at the request's deadline (`query_timeout`), when the client goes
 * away, or when the query is canceled (`DELETE {prefix}/queries/{id}`: the guard's `cancel`
 * signal), and turns engine errors into {@link ApiError}s. Writes that hit a transaction conflict are
 * retried with backoff before the conflict reaches the client.
 * @module
 */

import { ApiError, classifyDuckDBError, isTransactionConflict } from "../errors.ts";
import type { ConnectionPool, Lease } from "./pool.ts";

/** Bounds one request's use of the database. */
export interface Guard {
  /** Absolute deadline in `performance.now()` milliseconds. */
  deadline: number;
  /** Aborted when the client disconnects. */
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
  /** Aborted when the query is canceled; its reason is the error the request answers. */
  readonly cancel?: AbortSignal;
  /** The lease of the latest guarded run (its connection's progress is the query's). */
  lease?: Lease;
}

/** Why a run was interrupted: the deadline, the client gone, or a cancel. */
export type InterruptReason = "timeout" | "closed" | "canceled";

/**
 * Makes a guard that expires `timeoutMs` from now (0 means never); `cancel` cancels the query
 * (abort it with the {@link ApiError} to answer, see {@link canceledError}).
 */
export function createGuard(timeoutMs: number, signal?: AbortSignal, cancel?: AbortSignal): Guard {
  const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
  return { deadline, signal, timeoutMs, cancel };
}

/** The error of a canceled run: the cancel signal's reason when it is one, else a generic one. */
export function canceledError(signal?: AbortSignal): ApiError {
  const reason = signal?.reason;
  return reason instanceof ApiError ? reason : new ApiError("query_canceled");
}

/** DuckDB's progress of the guard's query: `0..1`, or null where DuckDB does not report it. */
export function progressOf(guard: Guard): number | null {
  const lease = guard.lease;
  if (!lease) return null;
  try {
    const percentage = lease.connection.progress.percentage;
    return percentage >= 0 ? Math.min(percentage / 100, 1) : null;
  } catch {
    return null;
  }
}

function timeoutError(guard: Guard): ApiError {
  return new ApiError(
    "query_timeout",
    `The statement was interrupted after query_timeout (${guard.timeoutMs} ms).`,
  );
}

function shuttingDownError(): ApiError {
  return new ApiError(
    "unavailable",
    "The server is shutting down; the statement was interrupted.",
    {
      headers: { "retry-after": "1" },
    },
  );
}

function closedError(): ApiError {
  return new ApiError("client_closed_request", "The client closed the connection.");
}

/**
 * Throws when the guard's time is up (504 `query_timeout`) or its client left (499): for work
 * of a request that runs in JavaScript (reading its params, say), which no interrupt can stop.
 */
export function checkGuard(guard: Guard): void {
  if (guard.signal?.aborted) throw closedError();
  if (performance.now() >= guard.deadline) throw timeoutError(guard);
}

/** Acquires a connection, counting the wait against the guard. */
export async function acquire(pool: ConnectionPool, guard: Guard): Promise<Lease> {
  const remaining = guard.deadline - performance.now();
  if (remaining <= 0) throw timeoutError(guard);
  if (guard.signal?.aborted) throw closedError();
  if (guard.cancel?.aborted) throw canceledError(guard.cancel);
  const free = pool.tryAcquire();
  if (free) return free;
  try {
    return await pool.acquire({ signals: [guard.signal, guard.cancel], timeoutMs: remaining });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (guard.signal?.aborted) throw closedError();
    if (guard.cancel?.aborted) throw canceledError(guard.cancel);
    throw timeoutError(guard);
  }
}

/** A statement being run under a guard, watched for its deadline. */
interface Watched {
  deadline: number;
  interrupt(why: InterruptReason): void;
}

const WATCH_INTERVAL_MS = 20;
const watched = new Set<Watched>();
let watchdog: ReturnType<typeof setInterval> | undefined;

/**
 * One timer for every running statement (instead of a timer per engine call): every
 * {@link WATCH_INTERVAL_MS} it interrupts those past their deadline, and it stops when none run.
 */
function watch(entry: Watched): void {
  watched.add(entry);
  if (watchdog !== undefined) return;
  watchdog = setInterval(() => {
    const now = performance.now();
    for (const w of watched) if (w.deadline <= now) w.interrupt("timeout");
    if (watched.size === 0) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }, WATCH_INTERVAL_MS);
  Deno.unrefTimer(watchdog as unknown as number);
}

/**
 * Runs `work` on the lease's connection under the guard: the connection is interrupted when the
 * deadline passes or the client disconnects, and any engine error becomes an {@link ApiError}.
 */
export async function guarded<T>(lease: Lease, guard: Guard, work: () => Promise<T>): Promise<T> {
  let cause: InterruptReason | null = null;
  const interrupt = (why: InterruptReason) => {
    if (cause) return;
    cause = why;
    lease.connection.interrupt();
  };
  const failure = (): ApiError | null =>
    cause === "timeout"
      ? timeoutError(guard)
      : cause === "closed"
      ? closedError()
      : cause === "canceled"
      ? canceledError(guard.cancel)
      : lease.closing
      ? shuttingDownError()
      : null;
  if (guard.signal?.aborted) throw closedError();
  if (guard.cancel?.aborted) throw canceledError(guard.cancel);
  guard.lease = lease;
  if (lease.closing) throw shuttingDownError();
  const remaining = guard.deadline - performance.now();
  if (remaining <= 0) throw timeoutError(guard);
  // The deadline is read when the watchdog ticks, so lifting it (streaming began) takes effect.
  const entry: Watched | null = Number.isFinite(remaining)
    ? {
      get deadline() {
        return guard.deadline;
      },
      interrupt,
    }
    : null;
  if (entry) watch(entry);
  const onAbort = () => interrupt("closed");
  const onCancel = () => interrupt("canceled");
  guard.signal?.addEventListener("abort", onAbort, { once: true });
  guard.cancel?.addEventListener("abort", onCancel, { once: true });
  try {
    const result = await work();
    // An interrupt between result chunks ends the stream early instead of failing: never let a
    // cut-short result pass for a complete one.
    const failed = failure();
    if (failed) throw failed;
    return result;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw failure() ?? classifyDuckDBError(err);
  } finally {
    if (entry) watched.delete(entry);
    guard.signal?.removeEventListener("abort", onAbort);
    guard.cancel?.removeEventListener("abort", onCancel);
  }
}

const RETRY_DELAYS_MS = [25, 75];

/**
 * Runs `attempt` up to three times while it fails with a transaction conflict, sleeping with
 * jittered backoff between tries; the last conflict surfaces as `transaction_conflict` (409).
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await attempt();
    } catch (err) {
      const conflict = isTransactionConflict(err) ||
        (err instanceof ApiError && err.code === "transaction_conflict");
      if (!conflict) throw err;
      if (i >= RETRY_DELAYS_MS.length) {
        throw new ApiError(
          "transaction_conflict",
          `A concurrent write conflicted with this one ${i + 1} times: ${
            err instanceof Error ? err.message : err
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[i] * (0.5 + Math.random())));
    }
  }
}

/**
 * Opens a transaction on the lease (optionally `READ ONLY`, so any write fails); the caller
 * commits or rolls back. Prefer {@link inTransaction} when the work fits in one callback.
 */
export async function beginTransaction(
  lease: Lease,
  guard: Guard,
  mode: "read_write" | "read_only" = "read_write",
): Promise<void> {
  const begin = mode === "read_only" ? "BEGIN TRANSACTION READ ONLY" : "BEGIN TRANSACTION";
  await guarded(lease, guard, async () => (await lease.prepare(begin)).run());
}

/**
 * Runs `work` inside `BEGIN` … `COMMIT` on the lease (optionally `READ ONLY`), rolling back on any
 * failure so the connection goes back to the pool clean.
 */
export async function inTransaction<T>(
  lease: Lease,
  guard: Guard,
  work: () => Promise<T>,
  mode: "read_write" | "read_only" = "read_write",
): Promise<T> {
  await beginTransaction(lease, guard, mode);
  try {
    const result = await work();
    await guarded(lease, guard, async () => (await lease.prepare("COMMIT")).run());
    return result;
  } catch (err) {
    await rollback(lease);
    throw err;
  }
}

/** Rolls back whatever transaction the connection has open; harmless when there is none. */
export async function rollback(lease: Lease): Promise<void> {
  try {
    await lease.connection.run("ROLLBACK");
  } catch {
    // no transaction was open
  }
}

/**
 * Waits for `promise` (e.g. a turn in a queue) under the guard: rejects with `query_timeout` at
 * the deadline and `client_closed_request` when the client goes away.
 */
export async function awaitUnderGuard<T>(promise: Promise<T>, guard: Guard): Promise<T> {
  if (guard.signal?.aborted) throw closedError();
  if (guard.cancel?.aborted) throw canceledError(guard.cancel);
  const remaining = guard.deadline - performance.now();
  if (remaining <= 0) throw timeoutError(guard);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  let onCancel: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (Number.isFinite(remaining)) {
      timer = setTimeout(() => reject(timeoutError(guard)), remaining);
    }
    onAbort = () => reject(closedError());
    onCancel = () => reject(canceledError(guard.cancel));
    guard.signal?.addEventListener("abort", onAbort, { once: true });
    guard.cancel?.addEventListener("abort", onCancel, { once: true });
  });
  try {
    return await Promise.race([promise, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) guard.signal?.removeEventListener("abort", onAbort);
    if (onCancel) guard.cancel?.removeEventListener("abort", onCancel);
  }
}
