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
 * @module
 */

import type { DuckDBMaterializedResult } from "@duckdb/node-api";
import { ApiError } from "../errors.ts";
import { appendTextRows } from "../db/append.ts";
import { bindScalars } from "../db/bind.ts";
import { catalogCache, type TableInfo } from "../db/catalog.ts";
import { materializedCell, materializedSource } from "../db/materialized.ts";
import type { ConnectionPool, Lease } from "../db/pool.ts";
import { acquire, type Guard, guarded, inTransaction, retryOnConflict } from "../db/run.ts";
import { resultSource } from "../db/source.ts";
import type { ResultSource } from "../encode/source.ts";
import {
  buildCountSql,
  buildDeleteSql,
  buildInsertStagedSql,
  buildInsertValuesSql,
  buildReadSql,
  buildStageTableSql,
  buildUpdateSql,
  STAGE_TABLE,
} from "./build_sql.ts";
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
  source: ResultSource;
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

/** The outcome of a write. */
export type WriteResult =
  | { kind: "changed"; rowsAffected: number }
  | { kind: "rows"; rowsAffected: number; source: ResultSource }
  | { kind: "dry_run"; affectedRows: number };

/** Table requests against one database. */
export interface TableApi {
  /** `path` is the request path, for links. */
  read(request: ReadRequest, guard: Guard, path: string): Promise<ReadResult>;
  insert(request: InsertRequest, guard: Guard): Promise<WriteResult>;
  update(request: UpdateRequest, guard: Guard): Promise<WriteResult>;
  remove(request: DeleteRequest, guard: Guard): Promise<WriteResult>;
}

/** Creates the executor of table requests on `pool`. */
export function createTableApi(pool: ConnectionPool, limits: ReadLimits): TableApi {
  const catalog = catalogCache(pool);

  async function withTable<T>(
    guard: Guard,
    ref: TableRef,
    work: (lease: Lease, table: TableInfo, handOff: () => void, dirty: () => void) => Promise<T>,
  ): Promise<T> {
    const lease = await acquire(pool, guard);
    let handedOff = false;
    let isDirty = false;
    try {
      const table = requireTable(await catalog.tables(lease, guard), ref);
      return await work(lease, table, () => (handedOff = true), () => (isDirty = true));
    } finally {
      if (!handedOff) lease.release(isDirty);
    }
  }

  return {
    read(request, guard, path) {
      return withTable(guard, request.table, async (lease, table, handOff) => {
        const plan = planRead(request, table, limits);
        try {
          return plan.mode.kind === "all"
            ? await readAll(lease, guard, plan, handOff)
            : await readPage(lease, guard, plan, {
              path,
              query: request.query,
              after: request.after,
            });
        } catch (err) {
          throw explain(err, request.filters.flatMap(conditionTexts));
        }
      });
    },

    insert(request, guard) {
      return withTable(guard, request.table, async (lease, table, _handOff, dirty) => {
        const plan = planInsert(request, table);
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
        try {
          await retryOnConflict(() =>
            statements > 1 ? inTransaction(lease, guard, attempt) : attempt()
          );
        } catch (err) {
          throw explain(err, insertTexts(request));
        } finally {
          if (staged && !(await dropStage(lease))) dirty();
        }
        return writeResult(results, plan.returning);
      });
    },

    update(request, guard) {
      return withTable(guard, request.table, async (lease, table) => {
        const plan = planUpdate(request, table);
        const texts = [
          ...request.where.flatMap(conditionTexts),
          ...Object.entries(request.set).map(([k, v]) => ({ label: `set.${k}`, text: textOf(v) })),
        ];
        const result = await retryOnConflict(() => run(lease, guard, buildUpdateSql(plan)))
          .catch((err) => Promise.reject(explain(err, texts)));
        return writeResult([result], plan.returning);
      });
    },

    remove(request, guard) {
      return withTable(guard, request.table, async (lease, table) => {
        const plan = planDelete(request, table);
        const texts = request.where.flatMap(conditionTexts);
        const result = await retryOnConflict(() => run(lease, guard, buildDeleteSql(plan)))
          .catch((err) => Promise.reject(explain(err, texts)));
        if (plan.dryRun) {
          return { kind: "dry_run", affectedRows: Number(materializedCell(result, 0, 0)) };
        }
        return writeResult([result], plan.returning);
      });
    },
  };
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
    // No cap: stream, however large; the source returns the connection when done.
    const statement = await guarded(lease, guard, () => lease.prepare(sql.sql));
    const result = await guarded(lease, guard, () => {
      bindScalars(statement, sql.params);
      return statement.stream();
    });
    handOff();
    return { source: resultSource(result, lease, guard), meta: {}, headers: {}, plan, sql };
  }
  const first = await run(
    lease,
    guard,
    buildReadSql(plan, { keys: false, count: false, limit: cap + 1, offset: null }),
  );
  if (first.rowCount <= cap) {
    return { source: materializedSource([first], output), meta: {}, headers: {}, plan, sql };
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
  return { source: materializedSource([result], output, cap), meta, headers, totalRows, plan, sql };
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

function writeResult(results: DuckDBMaterializedResult[], returning: boolean): WriteResult {
  if (returning) {
    const rowsAffected = results.reduce((n, r) => n + r.rowCount, 0);
    return {
      kind: "rows",
      rowsAffected,
      source: materializedSource(results, results[0].columnCount),
    };
  }
  return { kind: "changed", rowsAffected: results.reduce((n, r) => n + r.rowsChanged, 0) };
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
