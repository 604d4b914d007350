/**
 * Which data versions a finished write moves (`lib/db/versions.ts`): the tables a raw SQL request
 * wrote when they are known for sure, else every table; the table of a table API write.
 *
 * A raw request's tables are known when every statement DuckDB typed was a query or plain DML
 * (`INSERT`, `UPDATE`, `DELETE`: no DDL, `COPY`, `PRAGMA`, `CALL`, `EXPLAIN ANALYZE`, ...) and
 * the text's write targets (`lib/sql/write_targets.ts`) name one table for each DML statement.
 *
 * @example
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { StatementType } from "../db/types.ts";
 * import { tableVersion } from "../db/versions.ts";
 * import { bumpAfterRaw } from "./write_versions.ts";
 * const pool = {};
 * const [a, b] = [tableVersion(pool, "a"), tableVersion(pool, "b")];
 * bumpAfterRaw(pool, "INSERT INTO a VALUES (1)", [StatementType.INSERT]);
 * notEqual(tableVersion(pool, "a"), a);
 * equal(tableVersion(pool, "b"), b);
 * bumpAfterRaw(pool, "CREATE TABLE c (x INT)", [StatementType.CREATE]);
 * notEqual(tableVersion(pool, "b"), b);
 * ```
 * @module
 */

import { findWriteTargets, type WriteTarget } from "../sql/mod.ts";
import { StatementType } from "../db/types.ts";
import { bumpDataVersion, bumpTableVersions } from "../db/versions.ts";
import type { TableRef } from "./_resolve.ts";

const DML = new Set<StatementType>([
  StatementType.INSERT,
  StatementType.UPDATE,
  StatementType.DELETE,
]);

/**
 * Moves the versions a raw request may have changed: `types` are the statement types DuckDB gave
 * the statements that were authorized to run (in order).
 */
export function bumpAfterRaw(owner: object, sql: string, types: readonly StatementType[]): void {
  const dml = types.filter((t) => DML.has(t)).length;
  const onlyData = types.every((t) => t === StatementType.SELECT || DML.has(t));
  const targets = onlyData ? writeTargetsOf(sql) : null;
  const known = targets !== null && targets.length === dml &&
    targets.every((t) =>
      t.tables.length === 1 && ["INSERT", "UPDATE", "DELETE"].includes(t.statement)
    );
  if (known) bumpTableVersions(owner, targets.map((t) => t.tables[0]));
  else bumpDataVersion(owner);
}

const TARGETS = new Map<string, WriteTarget[] | null>();
const MAX_TARGETS = 512;

/** The write targets of a SQL text (they depend on the text alone: remembered per text). */
function writeTargetsOf(sql: string): WriteTarget[] | null {
  let targets = TARGETS.get(sql);
  if (targets === undefined) {
    targets = findWriteTargets(sql);
    if (TARGETS.size >= MAX_TARGETS) TARGETS.delete(TARGETS.keys().next().value!);
    if (sql.length <= 64 * 1024) TARGETS.set(sql, targets);
  }
  return targets;
}

/** Moves the version of the table a table API request named (each reading of its name). */
export function bumpTableOf(owner: object, ref: TableRef): void {
  bumpTableVersions(owner, ref.candidates.map((c) => c.name));
}
