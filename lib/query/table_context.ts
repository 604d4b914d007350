/**
 * What the table API's reads and writes share (`table_read.ts`, `table_write.ts`): the pool, the
 * (cached, always current) catalog and the read limits; leasing a connection and resolving the
 * table; running one statement; and error messages that name the offending request part.
 * @module
 */

import { ApiError } from "../errors.ts";
import { bindScalars } from "../db/bind.ts";
import { type CatalogCache, catalogCache, type TableInfo } from "../db/catalog.ts";
import type { ConnectionPool, Lease } from "../db/pool.ts";
import { acquire, type Guard, guarded } from "../db/run.ts";
import type { DuckDBMaterializedResult } from "../db/types.ts";
import type { Condition } from "./filters.ts";
import type { ReadLimits } from "./plan_read.ts";
import { requireTable, type TableRef } from "./_resolve.ts";
import { type SqlFragment, stringifyJson } from "./values.ts";

/** Who a table request runs for. */
export interface TableCaller {
  /**
   * The request's principal: the owner of the pooled connection while the request runs, so table
   * functions that authorize per caller (`read_stream()` behind a view) check this caller.
   */
  owner?: unknown;
  /** The request's ID, carried by change events. */
  requestId?: string;
}

/** One database as the table API sees it. */
export interface TableContext {
  pool: ConnectionPool;
  catalog: CatalogCache;
  limits: ReadLimits;
}

/** The table context of `pool`. */
export function createTableContext(pool: ConnectionPool, limits: ReadLimits): TableContext {
  return { pool, catalog: catalogCache(pool), limits };
}

/** What {@link withTable} gives its work. */
export interface TableWork {
  lease: Lease;
  table: TableInfo;
  /** The lease now belongs to someone else: do not release it. */
  handOff(): void;
  /** Release the lease as dirty (session state may be left behind). */
  dirty(): void;
}

/**
 * Leases a connection (owned by the caller's principal), resolves the table `ref` names in the
 * catalog and runs `work`; the lease is released afterwards unless handed off.
 */
export async function withTable<T>(
  ctx: TableContext,
  guard: Guard,
  ref: TableRef,
  caller: TableCaller,
  work: (on: TableWork) => Promise<T>,
): Promise<T> {
  const lease = await acquire(ctx.pool, guard);
  lease.owner = caller.owner;
  let handedOff = false;
  let isDirty = false;
  try {
    const table = requireTable(await ctx.catalog.tables(lease, guard), ref);
    return await work({
      lease,
      table,
      handOff: () => (handedOff = true),
      dirty: () => (isDirty = true),
    });
  } finally {
    if (!handedOff) lease.release(isDirty);
  }
}

/**
 * The table `ref` names, from the cached catalog (a connection is leased only when the catalog
 * must be read first); 404 `unknown_table` when there is none.
 */
export async function resolveTable(
  ctx: TableContext,
  guard: Guard,
  ref: TableRef,
): Promise<TableInfo> {
  const cached = ctx.catalog.peek();
  if (cached) return requireTable(cached, ref);
  const lease = await acquire(ctx.pool, guard);
  try {
    return requireTable(await ctx.catalog.tables(lease, guard), ref);
  } finally {
    lease.release();
  }
}

/** Prepares (cached by text), binds and runs one statement, materializing its result. */
export async function runStatement(
  lease: Lease,
  guard: Guard,
  query: SqlFragment,
): Promise<DuckDBMaterializedResult> {
  const statement = await guarded(lease, guard, () => lease.prepare(query.sql));
  return await guarded(lease, guard, () => {
    bindScalars(statement, query.params);
    return statement.run();
  });
}

// --- error messages that name the offending part ---

/** A request value and where it came from (`filter`, `set.name`, `row 2, column "x"`). */
export interface LabeledText {
  label: string;
  text: string;
}

/** A request value as text. */
export function textOf(value: unknown): string {
  return typeof value === "string" ? value : stringifyJson(value as never);
}

/** The values of a filter condition, labeled with their source. */
export function conditionTexts(condition: Condition): LabeledText[] {
  return condition.values.map((v) => ({
    label: condition.source,
    text: "text" in v ? v.text : textOf(v.json),
  }));
}

/**
 * DuckDB's message without the echo of generated SQL, and for conversion errors prefixed with the
 * request part whose value DuckDB quotes.
 */
export function explain(err: unknown, texts: readonly LabeledText[]): unknown {
  if (!(err instanceof ApiError) || err.status >= 500) return err;
  let message = err.message.replace(/\n+LINE \d+:[\s\S]*$/, "").trim();
  if (err.code === "conversion_error") {
    const quoted = [...message.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]);
    const culprit = texts.find((t) => quoted.includes(t.text));
    if (culprit) message = `${culprit.label}: ${message}`;
  }
  if (message === err.message) return err;
  return new ApiError(err.code, message, { headers: err.headers, extra: err.extra, cause: err });
}
