/**
 * Executes table requests: lease a connection, find the table in the (cached, always current)
 * catalog, plan, build the SQL and run it under the request's guard (query timeout, client
 * disconnect). Designed for few driver calls: a warm point read or a single-row insert is one
 * prepared-statement execution; a page and its total count are one statement (one snapshot).
 *
 * - Reads: an unpaginated read fetches `absolute_max_rows + 1` rows to learn whether the cap cut
 *   it; only then is the read repeated with its count (one statement, so rows and total agree).
 *   Paged reads fetch `limit + 1` rows (has-more without counting) plus, unless `count=none`, the
 *   total as an uncorrelated subquery; an empty page is re-read with its count in one READ ONLY
 *   transaction.
 * - Writes: one statement each (atomic by itself); an insert of many rows goes through a
 *   connection-private staging table filled by DuckDB's appender and one `INSERT … SELECT`;
 *   several statements (rows with different columns) run in one transaction. Transaction
 *   conflicts are retried.
 * - Change feed (when `recordChange` is given): each write's statement also returns what its
 *   event needs (`RETURNING`, in the same statement: a single-row insert stays one driver call;
 *   see `change_capture.ts`), and the event is queued right after the commit. Writes to one
 *   table take turns, from their first statement until their event is queued, so events are
 *   appended in commit order; writes to other tables and reads do not wait.
 * - The lease's owner is the caller's principal, so table functions that authorize per caller
 *   (`read_stream()` in a view) see who is asking.
 * @module
 */

import type { DuckDBMaterializedResult } from "@duckdb/node-api";
import { ApiError } from "../errors.ts";
import { appendTextRows } from "../db/append.ts";
import { bindScalars } from "../db/bind.ts";
import { catalogCache, type TableInfo } from "../db/catalog.ts";
import { materializedCell, materializedSource } from "../db/materialized.ts";
import type { ConnectionPool, Lease } from "../db/pool.ts";
import {
  acquire,
  awaitUnderGuard,
  type Guard,
  guarded,
  inTransaction,
  retryOnConflict,
} from "../db/run.ts";
import { bumpDataVersion } from "../db/versions.ts";
import type { ResultSource } from "../encode/source.ts";
import type { TableChange } from "../streams/changes.ts";
import {
  buildCountSql,
  buildDeleteSql,
  buildInsertStagedSql,
  buildInsertValuesSql,
  buildReadSql,
  buildStageTableSql,
  buildUpdateSql,
  type ReturningPlan,
  returnsRows,
  STAGE_TABLE,
} from "./build_sql.ts";
import { type ChangeOp, chooseCapture, describeChange } from "./change_capture.ts";
import type { Condition } from "./filters.ts";
import { pageMeta, truncationMessage } from "./pagination.ts";
import {
  encodeCursor,
  planRead,
  type ReadLimits,
  type ReadPlan,
  type ReadRequest,
} from "./plan_read.ts";
import {
  type Capture,
  type DeletePlan,
  type DeleteRequest,
  type InsertGroup,
  type InsertRequest,
  planDelete,
  planInsert,
  planUpdate,
  type UpdateRequest,
} from "./plan_write.ts";
import { requireTable, type TableRef } from "./_resolve.ts";
import { paramText, type SqlFragment, stringifyJson } from "./values.ts";

/** The rows of a read and what the response says about them. */
export interface ReadResult {
  /** The rows; null when the read was handed back unexecuted (see `deferred`). */
  source: ResultSource | null;
  /**
   * An uncapped read of every row, not executed: the leased connection and the query, for the
   * response layer to run (and let DuckDB encode). Whoever takes it releases the lease.
   */
  deferred?: { lease: Lease };
  /** The rows came from a base table and are all in memory (a cache may keep the answer). */
  cacheable: boolean;
  /** JSON envelope members after `data` (pagination, _links, next_cursor, truncation). */
  meta: Record<string, unknown>;
  /** Response headers (Link, X-Total-Count, X-Truncated, ...). */
  headers: Record<string, string>;
  /** All matching rows, when counted. */
  totalRows?: number;
  plan: ReadPlan;
  /** The rows' query without internal columns or the look-ahead row (for DuckDB-side exports). */
  sql: SqlFragment;
}

/** A committed write: the client's answer, and its change event becoming durable. */
interface Written {
  result: WriteResult;
  recorded: Promise<void> | null;
}

/** The key of a table's turn among writers: its identity as DuckDB matches names. */
function turnKey(table: { schema?: string; name: string }): string {
  return `${table.schema ?? "main"}\0${table.name}`.toLowerCase();
}

/** The outcome of a write. */
export type WriteResult =
  | { kind: "changed"; rowsAffected: number }
  | { kind: "rows"; rowsAffected: number; source: ResultSource }
  | { kind: "dry_run"; affectedRows: number };

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

/** Options of {@link createTableApi}. */
export interface TableApiOptions {
  /**
   * Records a committed write in its table's change feed (`ChangeFeed.recordChange`): must queue
   * the event before it returns. When set, writes return the rows their event needs and writes
   * to one table take turns (see the module documentation).
   */
  recordChange?: (change: TableChange) => Promise<void>;
}

/** Per-request read settings. */
export interface ReadOptions {
  /** The unpaginated row cap of this read (exports use `max_export_rows`); 0 for none. */
  cap?: number;
}

/** Table requests against one database. */
export interface TableApi {
  /** `path` is the request path, for links. */
  read(
    request: ReadRequest,
    guard: Guard,
    path: string,
    caller?: TableCaller,
    options?: ReadOptions,
  ): Promise<ReadResult>;
  insert(request: InsertRequest, guard: Guard, caller?: TableCaller): Promise<WriteResult>;
  update(request: UpdateRequest, guard: Guard, caller?: TableCaller): Promise<WriteResult>;
  remove(request: DeleteRequest, guard: Guard, caller?: TableCaller): Promise<WriteResult>;
}

/** Creates the executor of table requests on `pool`. */
export function createTableApi(
  pool: ConnectionPool,
  limits: ReadLimits,
  options: TableApiOptions = {},
): TableApi {
  const catalog = catalogCache(pool);
  const { recordChange } = options;
  /** Per table, the end of the last write's turn (writes take turns while feeds are on). */
  const turns = new Map<string, Promise<void>>();

  async function withTable<T>(
    guard: Guard,
    ref: TableRef,
    caller: TableCaller,
    work: (lease: Lease, table: TableInfo, handOff: () => void, dirty: () => void) => Promise<T>,
  ): Promise<T> {
    const lease = await acquire(pool, guard);
    lease.owner = caller.owner;
    let handedOff = false;
    let isDirty = false;
    try {
      const table = requireTable(await catalog.tables(lease, guard), ref);
      return await work(lease, table, () => (handedOff = true), () => (isDirty = true));
    } finally {
      if (!handedOff) lease.release(isDirty);
    }
  }

  /**
   * Runs `work` once the writes that took turn `key` before it are done (waiting under the
   * guard); the next write with that key waits until `work` settles.
   */
  async function inTurn<T>(key: string, guard: Guard, work: () => Promise<T>): Promise<T> {
    const previous = turns.get(key);
    const mine = Promise.withResolvers<void>();
    const tail = previous ? previous.then(() => mine.promise) : mine.promise;
    turns.set(key, tail);
    try {
      if (previous) await awaitUnderGuard(previous, guard);
      return await work();
    } finally {
      mine.resolve();
      tail.then(() => turns.get(key) === tail && turns.delete(key));
    }
  }

  /**
   * A write to the table `ref` names. With a change feed, `body` runs in the table's turn, taken
   * before a connection is leased (so writers waiting for their turn hold no connection); the
   * event is awaited (durable) after the turn has passed on. `body` gets the turn key it holds.
   * The data version is bumped when the write has ended, whether it committed or not.
   */
  async function writing(
    ref: TableRef,
    guard: Guard,
    body: (held: string | null) => Promise<Written>,
  ): Promise<WriteResult> {
    const held = recordChange ? turnKey(ref.candidates[0]) : null;
    let written: Written;
    try {
      written = held === null ? await body(null) : await inTurn(held, guard, () => body(held));
    } finally {
      bumpDataVersion(pool);
    }
    if (written.recorded) await written.recorded;
    return written.result;
  }

  /**
   * Runs a write's statements (`execute` resolves with their results once committed) and queues
   * its event while the table's turn is held: no event for a write that failed or changed
   * nothing. A request that named the table differently than the catalog resolved it also takes
   * the resolved name's turn.
   */
  async function commit(
    table: TableInfo,
    held: string | null,
    guard: Guard,
    caller: TableCaller,
    op: ChangeOp,
    plan: ReturningPlan,
    execute: () => Promise<DuckDBMaterializedResult[]>,
  ): Promise<Written> {
    if (!recordChange) return { result: writeResult(await execute(), plan), recorded: null };
    const record = async (): Promise<Written> => {
      const results = await execute();
      const result = writeResult(results, plan);
      const recorded = result.rowsAffected > 0
        ? recordChange(describeChange(
          op,
          table,
          returnsRows(plan) ? results : null,
          result.rowsAffected,
          caller.requestId ?? "",
        ))
        : null;
      return { result, recorded };
    };
    const key = turnKey(table);
    return key === held ? await record() : await inTurn(key, guard, record);
  }

  return {
    read(request, guard, path, caller = {}, options = {}) {
      return withTable(guard, request.table, caller, async (lease, table, handOff) => {
        const readLimits = options.cap === undefined
          ? limits
          : { ...limits, absoluteMaxRows: options.cap };
        const plan = planRead(request, table, readLimits);
        try {
          const result = plan.mode.kind === "all"
            ? await readAll(lease, guard, plan, handOff)
            : await readPage(lease, guard, plan, {
              path,
              query: request.query,
              after: request.after,
            });
          return { ...result, cacheable: result.cacheable && table.kind === "table" };
        } catch (err) {
          throw explain(err, request.filters.flatMap(conditionTexts));
        }
      });
    },

    insert(request, guard, caller = {}) {
      return writing(
        request.table,
        guard,
        (held) =>
          withTable(guard, request.table, caller, async (lease, table, _handOff, dirty) => {
            const planned = planInsert(request, table);
            const plan = {
              ...planned,
              capture: recordChange ? chooseCapture(table, planned.rowCount) : null,
            };
            const results: DuckDBMaterializedResult[] = [];
            let staged = false;
            const statements = plan.groups.reduce(
              (n, g) => n + (g.columns.length === 0 ? g.rows.length : 1),
              0,
            );
            const attempt = async () => {
              results.length = 0;
              for (const group of plan.groups) {
                if (group.columns.length > 0 && group.rows.length > 1) {
                  staged = true;
                  await stage(lease, guard, group);
                  results.push(await run(lease, guard, buildInsertStagedSql(plan, group)));
                } else {
                  for (let r = 0; r < group.rows.length; r++) {
                    results.push(await run(lease, guard, buildInsertValuesSql(plan, group, r)));
                  }
                }
              }
            };
            const op = plan.conflict?.action === "update" ? "upsert" : "insert";
            return await commit(table, held, guard, caller, op, plan, async () => {
              try {
                await retryOnConflict(() =>
                  statements > 1 ? inTransaction(lease, guard, attempt) : attempt()
                );
              } catch (err) {
                throw explain(err, insertTexts(request));
              } finally {
                if (staged && !(await dropStage(lease))) dirty();
              }
              return results;
            });
          }),
      );
    },

    update(request, guard, caller = {}) {
      return writing(
        request.table,
        guard,
        (held) =>
          withTable(guard, request.table, caller, async (lease, table) => {
            const plan = { ...planUpdate(request, table), capture: captureOf(table) };
            const texts = [
              ...request.where.flatMap(conditionTexts),
              ...Object.entries(request.set).map(([k, v]) => ({
                label: `set.${k}`,
                text: textOf(v),
              })),
            ];
            return await commit(table, held, guard, caller, "update", plan, async () => [
              await retryOnConflict(() => run(lease, guard, buildUpdateSql(plan)))
                .catch((err) => Promise.reject(explain(err, texts))),
            ]);
          }),
      );
    },

    remove(request, guard, caller = {}) {
      const texts = request.where.flatMap(conditionTexts);
      const execute = (lease: Lease, plan: DeletePlan) =>
        retryOnConflict(() => run(lease, guard, buildDeleteSql(plan)))
          .catch((err) => Promise.reject(explain(err, texts)));
      if (request.dryRun) {
        return withTable(guard, request.table, caller, async (lease, table) => {
          const counted = await execute(lease, planDelete(request, table));
          return { kind: "dry_run", affectedRows: Number(materializedCell(counted, 0, 0)) };
        });
      }
      return writing(
        request.table,
        guard,
        (held) =>
          withTable(guard, request.table, caller, async (lease, table) => {
            const plan = { ...planDelete(request, table), capture: captureOf(table) };
            return await commit(
              table,
              held,
              guard,
              caller,
              "delete",
              plan,
              async () => [await execute(lease, plan)],
            );
          }),
      );
    },
  };

  /** What an UPDATE or DELETE returns for its event (its row count is not known beforehand). */
  function captureOf(table: TableInfo): Capture | null {
    return recordChange ? chooseCapture(table, null) : null;
  }
}

/** Prepares (cached by text), binds and runs one statement, materializing its result. */
async function run(
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

async function readAll(
  lease: Lease,
  guard: Guard,
  plan: ReadPlan,
  handOff: () => void,
): Promise<ReadResult> {
  const cap = (plan.mode as { cap: number }).cap;
  const output = plan.columns.length;
  const sql = buildReadSql(plan, { keys: false, count: false, limit: null, offset: null });
  if (cap === 0) {
    // No cap: hand the query back for the response layer to stream (DuckDB may encode it).
    handOff();
    return {
      source: null,
      deferred: { lease },
      cacheable: false,
      meta: {},
      headers: {},
      plan,
      sql,
    };
  }
  const first = await run(
    lease,
    guard,
    buildReadSql(plan, { keys: false, count: false, limit: cap + 1, offset: null }),
  );
  if (first.rowCount <= cap) {
    return {
      source: materializedSource([first], output),
      cacheable: true,
      meta: {},
      headers: {},
      plan,
      sql,
    };
  }
  // Cut by the cap: read again with the total, in one statement (one snapshot).
  const meta: Record<string, unknown> = { truncated: true };
  const headers: Record<string, string> = { "x-truncated": "true" };
  let result = first;
  let totalRows: number | undefined;
  if (plan.count) {
    result = await run(
      lease,
      guard,
      buildReadSql(plan, { keys: false, count: true, limit: cap, offset: null }),
    );
    totalRows = Number(materializedCell(result, 0, output));
    meta.total_available = totalRows;
    headers["x-total-count"] = String(totalRows);
  }
  meta.message = truncationMessage(cap);
  return {
    source: materializedSource([result], output, cap),
    cacheable: true,
    meta,
    headers,
    totalRows,
    plan,
    sql,
  };
}

async function readPage(
  lease: Lease,
  guard: Guard,
  plan: ReadPlan,
  request: { path: string; query: readonly [string, string][]; after: string | null },
): Promise<ReadResult> {
  const mode = plan.mode as { kind: "page" | "cursor"; limit: number; offset?: number };
  const offset = mode.kind === "page" ? mode.offset! : null;
  const keys = plan.cursorKeys?.length ?? 0;
  const output = plan.columns.length;
  const query = buildReadSql(plan, {
    keys: keys > 0,
    count: plan.count,
    limit: mode.limit + 1,
    offset,
  });
  let result = await run(lease, guard, query);
  let total: number | null = null;
  if (plan.count && result.rowCount > 0) {
    total = Number(materializedCell(result, 0, output + keys));
  } else if (plan.count && (offset ?? 1) === 0) {
    total = 0; // the first page is empty: nothing matches
  } else if (plan.count) {
    // An empty page past the start: count, and re-read if rows appeared, in one snapshot.
    const counted = await inTransaction(lease, guard, async () => {
      const n = Number(
        materializedCell(await run(lease, guard, buildCountSql(plan.table, plan.where)), 0, 0),
      );
      const again = n > (offset ?? 0) ? await run(lease, guard, query) : result;
      return { n, again };
    }, "read_only");
    total = counted.n;
    result = counted.again;
  }
  const hasMore = result.rowCount > mode.limit;
  const rows = Math.min(result.rowCount, mode.limit);
  let nextCursor: string | null = null;
  if (hasMore && keys > 0) {
    const values = plan.cursorKeys!.map((_, i) => {
      const v = materializedCell(result, rows - 1, output + i);
      return v === null ? null : String(v);
    });
    nextCursor = encodeCursor(plan.table, plan.cursorKeys!, values);
  }
  const { meta, headers } = pageMeta(plan, { rows, total, hasMore, nextCursor }, request);
  return {
    source: materializedSource([result], output, mode.limit),
    cacheable: true,
    meta,
    headers,
    totalRows: total ?? undefined,
    plan,
    sql: buildReadSql(plan, { keys: false, count: false, limit: mode.limit, offset }),
  };
}

async function stage(lease: Lease, guard: Guard, group: InsertGroup): Promise<void> {
  // Not through the statement cache: DuckDB re-running a prepared CREATE OR REPLACE makes a
  // table without columns.
  const ddl = buildStageTableSql(group.columns.length);
  await guarded(lease, guard, () => lease.connection.run(ddl));
  await appendTextRows(
    lease,
    guard,
    { catalog: "temp", schema: "main", table: STAGE_TABLE },
    group.rows.map((row) => row.map(paramText)),
  );
}

/** Drops the staging table so no request data outlives the request; false when that failed. */
async function dropStage(lease: Lease): Promise<boolean> {
  try {
    await lease.connection.run(`DROP TABLE IF EXISTS temp.main.${STAGE_TABLE}`);
    return true;
  } catch {
    return false;
  }
}

/** The client's answer: the rows with `return=representation`, else how many changed. */
function writeResult(
  results: DuckDBMaterializedResult[],
  plan: ReturningPlan,
): Exclude<WriteResult, { kind: "dry_run" }> {
  // A statement with RETURNING reports its rows, not rowsChanged.
  const rowsAffected = returnsRows(plan)
    ? results.reduce((n, r) => n + r.rowCount, 0)
    : results.reduce((n, r) => n + r.rowsChanged, 0);
  if (plan.returning) {
    return {
      kind: "rows",
      rowsAffected,
      source: materializedSource(results, results[0].columnCount),
    };
  }
  return { kind: "changed", rowsAffected };
}

// --- error messages that name the offending part ---

interface LabeledText {
  label: string;
  text: string;
}

function textOf(value: unknown): string {
  return typeof value === "string" ? value : stringifyJson(value as never);
}

function conditionTexts(condition: Condition): LabeledText[] {
  return condition.values.map((v) => ({
    label: condition.source,
    text: "text" in v ? v.text : textOf(v.json),
  }));
}

function insertTexts(request: InsertRequest): LabeledText[] {
  return request.rows.flatMap((row, i) =>
    Object.entries(row).map(([key, value]) => ({
      label: `${request.many ? `row ${i}` : "the body"}, column "${key}"`,
      text: textOf(value),
    }))
  );
}

/**
 * DuckDB's message without the echo of generated SQL, and for conversion errors prefixed with the
 * request part whose value DuckDB quotes.
 */
function explain(err: unknown, texts: readonly LabeledText[]): unknown {
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
