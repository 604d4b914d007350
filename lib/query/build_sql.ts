/**
 * SQL text from plans: pure functions returning `{ sql, params }` with `?` placeholders. Table and
 * column names come from the catalog (quoted), types from the catalog, operators from the
 * registry; request values only ever appear in `params`. The same request shape always gives the
 * same text, so each connection's prepared-statement cache hits.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { buildCountSql } from "./build_sql.ts";
 * const table = { schema: "main", name: "t", kind: "table" as const, columns: [], primaryKey: [],
 *   estimatedRows: 0 };
 * const q = buildCountSql(table, [{ sql: `"a" = ?`, params: ["x"] }]);
 * deepEqual(q, { sql: `SELECT count(*) FROM "main"."t" WHERE "a" = ?`, params: ["x"] });
 * ```
 * @module
 */

import { qualifiedName, type TableInfo } from "../db/catalog.ts";
import { quoteIdentifier } from "../sql/mod.ts";
import type { OrderKey, ReadPlan } from "./plan_read.ts";
import { cursorKeySql } from "./plan_read.ts";
import type { SqlFragment, SqlParam } from "./values.ts";
import type { Capture, DeletePlan, InsertGroup, InsertPlan, UpdatePlan } from "./plan_write.ts";

function whereClause(where: readonly SqlFragment[]): SqlFragment {
  if (where.length === 0) return { sql: "", params: [] };
  return {
    sql: ` WHERE ${where.map((w) => w.sql).join(" AND ")}`,
    params: where.flatMap((w) => w.params),
  };
}

/** `SELECT count(*) FROM table WHERE ...`. */
export function buildCountSql(table: TableInfo, where: readonly SqlFragment[]): SqlFragment {
  const w = whereClause(where);
  return { sql: `SELECT count(*) FROM ${qualifiedName(table)}${w.sql}`, params: w.params };
}

/** Options of {@link buildReadSql}. */
export interface ReadSqlOptions {
  /** Add the key columns of the order as text, after the output columns (for cursors). */
  keys: boolean;
  /** Add the total count of matching rows as the last column. */
  count: boolean;
  /** `LIMIT ?` (null: none). */
  limit: number | null;
  /** `OFFSET ?` (null: none). */
  offset: number | null;
  /**
   * Render the cursor keys as text after the LIMIT (in an outer query over the page), so only the
   * page's rows are cast, not every matching row the top-N looks at.
   */
  lateKeys?: boolean;
}

/** Prefix of the hidden columns of a page read with late keys. */
const HIDDEN = "duckserve_";

/**
 * The read query: output columns, then (hidden) cursor key texts and the total count as one
 * uncorrelated subquery (the same snapshot as the rows, one round trip), the WHERE with the
 * keyset condition, ORDER BY, LIMIT and OFFSET as parameters.
 */
export function buildReadSql(plan: ReadPlan, options: ReadSqlOptions): SqlFragment {
  const keys = options.keys ? plan.cursorKeys ?? [] : [];
  const hidden = plan.table.columns.some((c) => c.name.toLowerCase().startsWith(HIDDEN));
  if (options.lateKeys && keys.length && !hidden) return buildPageSql(plan, options, keys);
  const output = plan.star ? "*" : plan.columns.map((c) => quoteIdentifier(c.name)).join(", ");
  return selectSql(plan, options, [output, ...keys.map(cursorKeySql)], "");
}

/**
 * `SELECT <items>[, (count)<countAlias>] FROM table WHERE … ORDER BY … LIMIT ? OFFSET ?`, the
 * count's parameters first, then the conditions', then LIMIT and OFFSET.
 */
function selectSql(
  plan: ReadPlan,
  options: ReadSqlOptions,
  items: string[],
  countAlias: string,
): SqlFragment {
  const select = [...items];
  const params: SqlParam[] = [];
  if (options.count) {
    const count = buildCountSql(plan.table, plan.where);
    select.push(`(${count.sql})${countAlias}`);
    params.push(...count.params);
  }
  const where = [...plan.where];
  if (plan.mode.kind === "cursor" && plan.mode.after) where.push(plan.mode.after);
  const w = whereClause(where);
  params.push(...w.params);
  let sql = `SELECT ${select.join(", ")} FROM ${qualifiedName(plan.table)}${w.sql}`;
  if (plan.order.length) sql += ` ORDER BY ${orderBy(plan.order)}`;
  if (options.limit !== null) {
    sql += " LIMIT ?";
    params.push(BigInt(options.limit));
  }
  if (options.offset !== null) {
    sql += " OFFSET ?";
    params.push(BigInt(options.offset));
  }
  return { sql, params };
}

function orderBy(keys: readonly OrderKey[]): string {
  return keys.map((k) => `${k.sql} ${k.direction.toUpperCase()} NULLS LAST`).join(", ");
}

/**
 * A page with its cursor keys rendered after the LIMIT: the inner query selects the output
 * columns, the raw keys and the count, ordered and limited; the outer one casts the keys of the
 * page's rows only and keeps the order. Same columns and parameters as {@link buildReadSql}.
 */
function buildPageSql(
  plan: ReadPlan,
  options: ReadSqlOptions,
  keys: readonly OrderKey[],
): SqlFragment {
  const names = plan.columns.map((c) => quoteIdentifier(c.name));
  const aliases = keys.map((k, i) => ({ ...k, sql: quoteIdentifier(`${HIDDEN}key_${i + 1}`) }));
  const raw = keys.map((k, i) => `${k.sql} AS ${aliases[i].sql}`);
  const total = `"${HIDDEN}total"`;
  const inner = selectSql(plan, options, [...names, ...raw], ` AS ${total}`);
  const select = [...names, ...aliases.map(cursorKeySql), ...(options.count ? [total] : [])];
  return {
    sql: `SELECT ${select.join(", ")} FROM (${inner.sql}) AS "${HIDDEN}page" ` +
      `ORDER BY ${orderBy(aliases)}`,
    params: inner.params,
  };
}

/** The parts of a write plan that decide its `RETURNING` clause. */
export interface ReturningPlan {
  returning: boolean;
  capture?: Capture | null;
  table: TableInfo;
}

/**
 * True when the write's statements return rows (`RETURNING`): every column when the client
 * (`return=representation`) or the change feed (`capture: "rows"`) wants them, the primary key
 * for `capture: "keys"`.
 */
export function returnsRows(plan: ReturningPlan): boolean {
  return plan.returning || plan.capture === "rows" ||
    (plan.capture === "keys" && plan.table.primaryKey.length > 0);
}

function returning(plan: ReturningPlan): string {
  if (!returnsRows(plan)) return "";
  if (plan.returning || plan.capture === "rows") return " RETURNING *";
  return ` RETURNING ${plan.table.primaryKey.map(quoteIdentifier).join(", ")}`;
}

function conflictClause(plan: InsertPlan, group: InsertGroup): string {
  if (!plan.conflict) return "";
  const target = plan.conflict.target.map((c) => quoteIdentifier(c.name)).join(", ");
  const updates = group.columns.filter((c) => !plan.conflict!.target.includes(c));
  if (plan.conflict.action === "nothing" || updates.length === 0) {
    return ` ON CONFLICT (${target}) DO NOTHING`;
  }
  const set = updates.map((c) =>
    `${quoteIdentifier(c.name)} = EXCLUDED.${quoteIdentifier(c.name)}`
  );
  return ` ON CONFLICT (${target}) DO UPDATE SET ${set.join(", ")}`;
}

/**
 * One row: `INSERT INTO t (cols) VALUES (...)` with only the given columns (so DEFAULTs and
 * sequences fill the rest), or `DEFAULT VALUES` for an empty object.
 */
export function buildInsertValuesSql(plan: InsertPlan, group: InsertGroup, row = 0): SqlFragment {
  const table = qualifiedName(plan.table);
  const tail = conflictClause(plan, group) + returning(plan);
  if (group.columns.length === 0) {
    return { sql: `INSERT INTO ${table} DEFAULT VALUES${tail}`, params: [] };
  }
  const names = group.columns.map((c) => quoteIdentifier(c.name)).join(", ");
  const exprs = group.sql.join(", ");
  return {
    sql: `INSERT INTO ${table} (${names}) VALUES (${exprs})${tail}`,
    params: group.rows[row],
  };
}

/** The name of the per-connection staging table of bulk inserts. */
export const STAGE_TABLE = "duckserve_stage";

/** `CREATE OR REPLACE TEMP TABLE` of `width` VARCHAR columns `c1..cN` for a bulk insert. */
export function buildStageTableSql(width: number): string {
  const columns = Array.from({ length: width }, (_, i) => `"c${i + 1}" VARCHAR`).join(", ");
  return `CREATE OR REPLACE TEMP TABLE ${STAGE_TABLE} (${columns})`;
}

/**
 * Many rows from the staging table: `INSERT INTO t (cols) SELECT <typed c1>, ... FROM stage`,
 * each column typed by the same expression a single-row insert binds.
 */
export function buildInsertStagedSql(plan: InsertPlan, group: InsertGroup): SqlFragment {
  const table = qualifiedName(plan.table);
  const names = group.columns.map((c) => quoteIdentifier(c.name)).join(", ");
  const exprs = group.sql.map((expr, i) => expr.replace("?", `"c${i + 1}"`)).join(", ");
  return {
    sql: `INSERT INTO ${table} (${names}) SELECT ${exprs} FROM temp.main.${STAGE_TABLE}` +
      conflictClause(plan, group) + returning(plan),
    params: [],
  };
}

/**
 * Rows of an upload from its staging table `stage` (columns `c1..cN`, already of the column
 * types): `INSERT INTO t (cols) SELECT c1, ... FROM stage`, with the insert's conflict clause and
 * `RETURNING`.
 */
export function buildInsertFromSql(plan: InsertPlan, group: InsertGroup, stage: string): string {
  const table = qualifiedName(plan.table);
  const names = group.columns.map((c) => quoteIdentifier(c.name)).join(", ");
  const exprs = group.columns.map((_, i) => `"c${i + 1}"`).join(", ");
  return `INSERT INTO ${table} (${names}) SELECT ${exprs} FROM temp.main.${stage}` +
    conflictClause(plan, group) + returning(plan);
}

/** `UPDATE t SET col = ?, ... WHERE ...`. */
export function buildUpdateSql(plan: UpdatePlan): SqlFragment {
  const set = plan.set.map((s) => `${quoteIdentifier(s.column.name)} = ${s.value.sql}`);
  const w = whereClause(plan.where);
  return {
    sql: `UPDATE ${qualifiedName(plan.table)} SET ${set.join(", ")}${w.sql}` +
      returning(plan),
    params: [...plan.set.flatMap((s) => s.value.params), ...w.params],
  };
}

/** `DELETE FROM t WHERE ...` (or, for a dry run, the count of rows it would delete). */
export function buildDeleteSql(plan: DeletePlan): SqlFragment {
  if (plan.dryRun) return buildCountSql(plan.table, plan.where);
  const w = whereClause(plan.where);
  return {
    sql: `DELETE FROM ${qualifiedName(plan.table)}${w.sql}${returning(plan)}`,
    params: w.params,
  };
}
