/**
 * The execution stage of one authorized SELECT (a raw `SELECT`, or a CRUD read built from the
 * catalog): it takes the leased connection and owns it until the answer's body ends or fails.
 *
 * 1. Prepare, inside a `READ ONLY` transaction when the plan asks (GET query URLs).
 * 2. Choose how to answer: DuckDB writes CSV, NDJSON, Parquet and uncapped or export JSON itself
 *    (`COPY … TO` a named pipe, values rendered in SQL by the same rules as the JS encoders; see
 *    `select_copy.ts`); a capped read fetches at most cap+1 rows in one driver call (and counts the
 *    rest only when the cap cuts), through the answer cache when the SELECT is deterministic; other
 *    cases stream the statement's result chunks through the JS encoders.
 * 3. Re-run on the driver's vague streamed-result failure, materialized on the same connection,
 *    so the client gets DuckDB's own error.
 * 4. Release the connection: clean after a read, dirty after a failure.
 *
 * The answer (`answer.ts`) has its first bytes read: errors until then throw `ApiError`s.
 *
 * ```ts ignore
 * const lease = await acquire(engine.pool, guard);
 * const answer = await runSelect(lease, guard, { sql, params }, { format: "csv", cap: 0, ... });
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { quoteIdentifier } from "../sql/mod.ts";
import { leasedSource } from "../db/leased.ts";
import { materializedSource } from "../db/materialized.ts";
import type { Lease } from "../db/pool.ts";
import { beginTransaction, type Guard, guarded, rollback } from "../db/run.ts";
import type { DuckDBPreparedStatement, DuckDBResult } from "../db/types.ts";
import { asSubquery, copyFormatFor, encodeRows } from "../encode/mod.ts";
import { type Answer, bodyAnswer } from "./answer.ts";
import { throughCache } from "./answer_cache.ts";
import { isCacheableSelect } from "./cacheable.ts";
import { runCopy } from "./select_copy.ts";
import {
  bindPlan,
  type HeldLease,
  liftDeadline,
  notReadOnly,
  releaseHeld,
  type SelectOptions,
  type SelectPlan,
  shapeOf,
} from "./_select.ts";

export type { SelectOptions, SelectPlan } from "./_select.ts";
export { notReadOnly } from "./_select.ts";

/**
 * Answers with the rows of one SELECT on `lease`, which this function owns from now on (it is
 * released when the body ends or fails). See the module documentation for the paths.
 */
export async function runSelect(
  lease: Lease,
  guard: Guard,
  plan: SelectPlan,
  options: SelectOptions,
): Promise<Answer> {
  const held: HeldLease = { lease, guard, plan, owned: true };
  try {
    if (plan.readOnly) await beginTransaction(lease, guard, "read_only");
    const statement = await guarded(lease, guard, () => lease.prepare(plan.sql));
    // The statement's shape (several driver calls) matters only where DuckDB may write the answer.
    const copyable = copyFormatFor(options.format, options.cap, options.export ?? false) !== null;
    let shape = copyable ? shapeOf(statement) : null;
    const copied = shape?.typed && options.scratchDirectory
      ? await runCopy(held, shape, options)
      : null;
    if (copied) return copied;
    // A capped read answered by the JS encoders needs at most cap+1 rows: fetch them in one
    // driver call (materialized), and count the rest only when the cap cuts.
    if (options.cap > 0) {
      const capped = await runCapped(held, options);
      if (capped) return capped;
    }
    // Otherwise the JS encoders answer from the statement's own result: streamed (bounded
    // memory), or materialized when the column types depend on parameters.
    bindPlan(statement, plan);
    shape ??= shapeOf(statement);
    if (shape.typed) {
      const result = await guarded(lease, guard, () => statement.stream());
      held.owned = false;
      return await runStreamed(held, result, shape.names, options);
    }
    const result = await guarded(lease, guard, () => statement.run());
    held.owned = false;
    const source = leasedSource(result, lease, guard, {
      beforeRelease: plan.readOnly ? () => rollback(lease) : undefined,
    });
    return bodyAnswer(await encodeRows(source, options), { onStreaming: liftDeadline(guard) });
  } catch (err) {
    if (held.owned) await releaseHeld(held, true);
    throw notReadOnly(err, plan.readOnly);
  }
}

/**
 * Encodes a streamed result. The driver cannot say why a streamed result failed; when that
 * happens before the answer is handed on, the query runs again materialized (with `LIMIT cap+1`
 * when capped) on the same connection, held back meanwhile, so the client gets DuckDB's own error.
 */
async function runStreamed(
  held: HeldLease,
  result: DuckDBResult,
  names: string[],
  options: SelectOptions,
): Promise<Answer> {
  const { lease, guard, plan } = held;
  let ahead = true; // until the answer is handed on
  let parked: boolean | null = null; // a release asked for during the look-ahead (its dirty flag)
  const proxy: Lease = {
    connection: lease.connection,
    prepare: (sql) => lease.prepare(sql),
    release: (dirty = false) => {
      if (ahead) parked = dirty;
      else lease.release(dirty);
    },
    taint: () => lease.taint(),
    get closing() {
      return lease.closing;
    },
    get connectionId() {
      return lease.connectionId;
    },
    get owner() {
      return lease.owner;
    },
    set owner(value) {
      lease.owner = value;
    },
  };
  const source = leasedSource(result, proxy, guard, {
    beforeRelease: plan.readOnly ? () => rollback(lease) : undefined,
  });
  try {
    const encoded = await encodeRows(source, options);
    ahead = false;
    if (parked !== null) lease.release(parked);
    return bodyAnswer(encoded, { onStreaming: liftDeadline(guard) });
  } catch (err) {
    ahead = false;
    await until(() => parked !== null); // the source's close (rollback first) has finished
    if (!(err instanceof ApiError) || err.code !== "result_failed") {
      lease.release(true);
      throw err;
    }
    await rerunForError(held, names, options.cap);
    throw err;
  }
}

/**
 * Runs the plan again materialized (at most cap+1 rows) to throw DuckDB's own error; releases the
 * connection (dirty) in any case. Returns when the statement now succeeds or cannot be wrapped.
 */
async function rerunForError(held: HeldLease, names: string[], cap: number): Promise<void> {
  const { lease, guard, plan } = held;
  try {
    if (plan.readOnly) await beginTransaction(lease, guard, "read_only");
    const limited = await guarded(
      lease,
      guard,
      () => lease.prepare(selectAs(plan.sql, names, cap + 1)),
    ).catch(() => null); // a statement that cannot be a subquery keeps the vague error
    if (limited) {
      bindPlan(limited, plan);
      await guarded(lease, guard, () => limited.run());
    }
  } catch (precise) {
    throw notReadOnly(precise, plan.readOnly);
  } finally {
    if (plan.readOnly) await rollback(lease);
    lease.release(true);
  }
}

/** Resolves once `done()` holds (checked on each macrotask turn). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; !done() && i < 1000; i++) await new Promise((r) => setTimeout(r, 0));
}

/** `SELECT` of the plan's columns under their own names (duplicates allowed), with a LIMIT. */
function selectAs(sql: string, names: readonly string[], limit: number): string {
  const aliases = names.map((_, i) => `c${i + 1}`);
  const columns = aliases.map((a, i) => `q.${a} AS ${quoteIdentifier(names[i])}`).join(", ");
  return `SELECT ${columns} FROM ${asSubquery(sql)} AS q(${aliases.join(", ")})` +
    (limit > 0 ? ` LIMIT ${limit}` : "");
}

/** SQL texts that cannot be wrapped as a subquery, so not tried again. */
const UNWRAPPABLE = new Set<string>();
const UNWRAPPABLE_MAX = 1000;

/**
 * Runs `SELECT * FROM (plan) LIMIT cap+1` materialized: one driver call for the rows, and the
 * connection goes back to the pool before the body is encoded. When the cap cuts, one more
 * statement counts all rows for `total_available`. Deterministic SELECTs go through the answer
 * cache. Returns null when the SQL cannot be wrapped.
 */
async function runCapped(held: HeldLease, options: SelectOptions): Promise<Answer | null> {
  const { lease, guard, plan } = held;
  if (UNWRAPPABLE.has(plan.sql)) return null;
  const slot = options.cache?.cache.enabled ? options.cache : undefined;
  const key = slot && await isCacheableSelect(lease, guard, slot.owner, plan.sql)
    ? answerKey(plan)
    : null;
  const answer = await throughCache(slot, key, async () => {
    let limited: DuckDBPreparedStatement;
    try {
      limited = await guarded(
        lease,
        guard,
        () => lease.prepare(`SELECT * FROM ${asSubquery(plan.sql)} LIMIT ${options.cap + 1}`),
      );
    } catch {
      if (UNWRAPPABLE.size >= UNWRAPPABLE_MAX) UNWRAPPABLE.clear();
      UNWRAPPABLE.add(plan.sql);
      return null;
    }
    bindPlan(limited, plan);
    const result = await guarded(lease, guard, () => limited.run());
    let totalRows = options.totalRows;
    if (totalRows === undefined && result.rowCount > options.cap) {
      totalRows = await countAll(held).catch(() => undefined);
    }
    await releaseHeld(held, false);
    const source = materializedSource([result], result.columnCount);
    const encoded = await encodeRows(source, { ...options, totalRows });
    return bodyAnswer(encoded, { onStreaming: liftDeadline(guard) });
  });
  if (answer?.kind === "stored") await releaseHeld(held, false);
  return answer;
}

/** What makes two raw answers the same (with the slot's representation): the SQL and values. */
function answerKey(plan: SelectPlan): string {
  if (plan.params === undefined) return JSON.stringify(["query", plan.sql, null]);
  return JSON.stringify(
    ["query", plan.sql, plan.params],
    (_key, value) => typeof value === "bigint" ? `${value}n` : value,
  );
}

/** All rows of the plan, counted by DuckDB. */
async function countAll({ lease, guard, plan }: HeldLease): Promise<number> {
  const counter = await guarded(
    lease,
    guard,
    () => lease.prepare(`SELECT count(*) FROM ${asSubquery(plan.sql)}`),
  );
  bindPlan(counter, plan);
  const result = await guarded(lease, guard, () => counter.run());
  return Number(result.getChunk(0).getColumnVector(0).getItem(0));
}
