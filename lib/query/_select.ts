/**
 * What the paths of the SELECT stage share (`run_select.ts`, `select_copy.ts`): the plan, the
 * held connection, the statement's shape, binding and release.
 * @module
 */

import { ApiError } from "../errors.ts";
import { bindParams, type Params } from "../db/bind.ts";
import type { Lease } from "../db/pool.ts";
import { type Guard, rollback } from "../db/run.ts";
import { type DuckDBPreparedStatement, type DuckDBType, DuckDBTypeId } from "../db/types.ts";
import type { EncodeOptions } from "../encode/mod.ts";
import type { CacheSlot } from "./answer_cache.ts";

/** One SELECT to answer with (raw SQL, or a CRUD read built from the catalog). */
export interface SelectPlan {
  sql: string;
  /** Request values for the placeholders (bound with `bindParams`)… */
  params?: Params;
  /** …or a binder of the caller's own, applied to every statement that embeds `sql`. */
  bind?: (statement: DuckDBPreparedStatement) => void;
  /** Run inside a READ ONLY transaction (GET query URLs). */
  readOnly?: boolean;
}

/** How to answer a SELECT: the encoding, and the answer cache for capped reads. */
export interface SelectOptions extends EncodeOptions {
  /** Where a deterministic capped answer may be cached (`cacheable.ts` decides). */
  cache?: CacheSlot;
}

/** The connection of one SELECT, and whether this stage still has to release it. */
export interface HeldLease {
  lease: Lease;
  guard: Guard;
  plan: SelectPlan;
  /** False once something else (a body's producer) releases the lease. */
  owned: boolean;
}

/** The columns of a prepared statement, as far as they are known before execution. */
export interface SelectShape {
  names: string[];
  /** False when some column type depends on parameters (known only after execution). */
  typed: boolean;
  types: DuckDBType[];
}

/** Ends the read (a READ ONLY transaction is rolled back) and returns the connection. */
export async function releaseHeld(held: HeldLease, dirty: boolean): Promise<void> {
  held.owned = false;
  if (held.plan.readOnly) await rollback(held.lease);
  held.lease.release(dirty);
}

/** Lifts the guard's deadline once streaming begins (the headers are out). */
export function liftDeadline(guard: Guard): () => void {
  return () => {
    guard.deadline = Infinity;
  };
}

/** Binds the plan's values to a statement that embeds its SQL. */
export function bindPlan(statement: DuckDBPreparedStatement, plan: SelectPlan): void {
  if (plan.bind) plan.bind(statement);
  else bindParams(statement, plan.params);
}

/** The refusal of a write attempted under READ ONLY, as the GET endpoint words it. */
export function notReadOnly(err: unknown, readOnly = true): unknown {
  if (readOnly && err instanceof ApiError && err.code === "read_only") {
    return new ApiError(
      "not_read_only",
      "GET requests can only execute read-only queries; this statement writes. " +
        "Use POST {prefix}/query.",
    );
  }
  return err;
}

/** The columns of a prepared statement (names; types when they do not depend on parameters). */
export function shapeOf(statement: DuckDBPreparedStatement): SelectShape {
  const count = statement.columnCount;
  const names = Array.from({ length: count }, (_, i) => statement.columnName(i));
  // Column types that depend on parameters are unknown until execution: run it as it is.
  const typed = Array.from({ length: count }, (_, i) => statement.columnTypeId(i))
    .every((id) => id !== DuckDBTypeId.INVALID);
  const types = typed ? Array.from({ length: count }, (_, i) => statement.columnType(i)) : [];
  return { names, typed, types };
}
