/**
 * Writes of the table API (`POST`, `PUT`, `DELETE {prefix}/api/{table}`): one statement each
 * (atomic by itself); an insert of many rows goes through a connection-private staging table
 * filled by DuckDB's appender and one `INSERT … SELECT`; several statements (rows with different
 * columns) run in one transaction. Transaction conflicts are retried. The data version is bumped
 * when a write has ended, whether it committed or not.
 *
 * A decorator may take part through {@link WriteHooks} (the change feed does, see
 * `lib/streams/table_feed.ts`): it chooses what each statement also returns (`RETURNING`, in the
 * same statement: a single-row insert stays one driver call) and wraps the commit.
 * @module
 */

import { appendTextRows } from "../db/append.ts";
import type { TableInfo } from "../db/catalog.ts";
import { materializedCell, materializedSource } from "../db/materialized.ts";
import type { Lease } from "../db/pool.ts";
import type { ResultSource } from "../db/rows.ts";
import { type Guard, guarded, inTransaction, retryOnConflict } from "../db/run.ts";
import type { DuckDBMaterializedResult } from "../db/types.ts";
import {
  buildDeleteSql,
  buildInsertStagedSql,
  buildInsertValuesSql,
  buildStageTableSql,
  buildUpdateSql,
  type ReturningPlan,
  returnsRows,
  STAGE_TABLE,
} from "./build_sql.ts";
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
import type { TableRef } from "./_resolve.ts";
import {
  conditionTexts,
  explain,
  type LabeledText,
  runStatement,
  type TableCaller,
  type TableContext,
  type TableWork,
  textOf,
  withTable,
} from "./table_context.ts";
import { paramText } from "./values.ts";
import { bumpTableOf } from "./write_versions.ts";

/** The outcome of a write. */
export type WriteResult =
  | { kind: "changed"; rowsAffected: number }
  | { kind: "rows"; rowsAffected: number; source: ResultSource }
  | { kind: "dry_run"; affectedRows: number };

/** The operation a write performs: an insert that may update existing rows is an `upsert`. */
export type WriteOp = "insert" | "update" | "delete" | "upsert";

/** A write about to run its statements. */
export interface PendingWrite {
  op: WriteOp;
  /** The table as the catalog resolved it. */
  table: TableInfo;
  /** What the statements return. */
  plan: ReturningPlan;
}

/** A committed write: its statements' results and the client's answer. */
export interface CommittedWrite {
  results: DuckDBMaterializedResult[];
  result: Exclude<WriteResult, { kind: "dry_run" }>;
}

/** What a decorator of the table API adds to its writes (dry runs excepted). */
export interface WriteHooks {
  /**
   * What the statements of a write of `rows` rows to `table` also return for the hook (`null`
   * for `rows`: not known before it runs, as for UPDATE and DELETE).
   */
  capture(table: TableInfo, rows: number | null): Capture | null;
  /** Runs `execute` (the statements; resolves once committed) and returns what it gave. */
  commit(write: PendingWrite, execute: () => Promise<CommittedWrite>): Promise<CommittedWrite>;
}

/** Inserts the rows of `request`. */
export function insertRows(
  ctx: TableContext,
  request: InsertRequest,
  guard: Guard,
  caller: TableCaller,
  hooks?: WriteHooks,
): Promise<WriteResult> {
  return writeTable(ctx, guard, request.table, caller, async ({ lease, table, dirty }) => {
    const planned = planInsert(request, table);
    const plan = { ...planned, capture: hooks?.capture(table, planned.rowCount) ?? null };
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
          results.push(await runStatement(lease, guard, buildInsertStagedSql(plan, group)));
        } else {
          for (let r = 0; r < group.rows.length; r++) {
            results.push(
              await runStatement(lease, guard, buildInsertValuesSql(plan, group, r)),
            );
          }
        }
      }
    };
    const op = plan.conflict?.action === "update" ? "upsert" : "insert";
    return await commit({ op, table, plan }, hooks, async () => {
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
  });
}

/** Updates the rows `request` selects. */
export function updateRows(
  ctx: TableContext,
  request: UpdateRequest,
  guard: Guard,
  caller: TableCaller,
  hooks?: WriteHooks,
): Promise<WriteResult> {
  return writeTable(ctx, guard, request.table, caller, async ({ lease, table }) => {
    const plan = {
      ...planUpdate(request, table),
      capture: hooks?.capture(table, null) ?? null,
    };
    const texts = [
      ...request.where.flatMap(conditionTexts),
      ...Object.entries(request.set).map(([k, v]) => ({ label: `set.${k}`, text: textOf(v) })),
    ];
    return await commit({ op: "update", table, plan }, hooks, async () => [
      await retryOnConflict(() => runStatement(lease, guard, buildUpdateSql(plan)))
        .catch((err) => Promise.reject(explain(err, texts))),
    ]);
  });
}

/** Deletes the rows `request` selects (or counts them, for a dry run). */
export function deleteRows(
  ctx: TableContext,
  request: DeleteRequest,
  guard: Guard,
  caller: TableCaller,
  hooks?: WriteHooks,
): Promise<WriteResult> {
  const texts = request.where.flatMap(conditionTexts);
  const execute = (lease: Lease, plan: DeletePlan) =>
    retryOnConflict(() => runStatement(lease, guard, buildDeleteSql(plan)))
      .catch((err) => Promise.reject(explain(err, texts)));
  if (request.dryRun) {
    return withTable(ctx, guard, request.table, caller, async ({ lease, table }) => {
      const counted = await execute(lease, planDelete(request, table));
      return { kind: "dry_run", affectedRows: Number(materializedCell(counted, 0, 0)) };
    });
  }
  return writeTable(ctx, guard, request.table, caller, async ({ lease, table }) => {
    const plan = {
      ...planDelete(request, table),
      capture: hooks?.capture(table, null) ?? null,
    };
    return await commit(
      { op: "delete", table, plan },
      hooks,
      async () => [await execute(lease, plan)],
    );
  });
}

/**
 * Runs a write's `work` on the table `ref` names (leased and resolved by `withTable`); the
 * table's data version is bumped when it has ended, committed or not.
 */
export async function writeTable<T>(
  ctx: TableContext,
  guard: Guard,
  ref: TableRef,
  caller: TableCaller,
  work: (on: TableWork) => Promise<T>,
): Promise<T> {
  try {
    return await withTable(ctx, guard, ref, caller, work);
  } finally {
    bumpTableOf(ctx.pool, ref);
  }
}

/** Runs a write's statements (through the hooks' commit, when given) and answers. */
export async function commit(
  write: PendingWrite,
  hooks: WriteHooks | undefined,
  run: () => Promise<DuckDBMaterializedResult[]>,
): Promise<WriteResult> {
  const execute = async (): Promise<CommittedWrite> => {
    const results = await run();
    return { results, result: writeResult(results, write.plan) };
  };
  return (hooks ? await hooks.commit(write, execute) : await execute()).result;
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

function insertTexts(request: InsertRequest): LabeledText[] {
  return request.rows.flatMap((row, i) =>
    Object.entries(row).map(([key, value]) => ({
      label: `${request.many ? `row ${i}` : "the body"}, column "${key}"`,
      text: textOf(value),
    }))
  );
}
