/**
 * Whether the answer of a raw `SELECT` may be cached until the next write: it must depend only on
 * the data of base tables (which every write the server performs invalidates, see
 * `lib/db/versions.ts`), never on the clock, randomness, sequences, files, streams or the caller.
 * Decided from DuckDB's own parse tree (`json_serialize_sql`), conservatively:
 *
 * - every function (scalar, aggregate, window) must be `CONSISTENT` in `duckdb_functions()`
 *   (user macros, `now()`, `random()`, `nextval()`, `uuid()`... are not);
 * - a bare name that is such a function or a special word (`current_date`, `CURRENT_TIMESTAMP`,
 *   `current_user`) disqualifies;
 * - no table functions at all (`read_csv`, `read_stream`, `range`...), no `USING SAMPLE`;
 * - every table named must be a base table of the catalog (or a CTE of the query): views may read
 *   streams or files.
 *
 * The decision also names the base tables the SELECT reads (by schema and name), whose data
 * versions tag its answer (`validators.ts`). Decisions depend on the catalog alone (which
 * functions are consistent, which names are tables), so they are kept per SQL text until the
 * catalog generation moves (any DDL): a repeated text costs no driver call for them.
 * @module
 */

import type { Lease } from "../db/pool.ts";
import { type Guard, guarded } from "../db/run.ts";
import { catalogCache, findTable } from "../db/catalog.ts";

/** What a cacheable SELECT reads: its base tables as `[schema, name]`. */
export interface SelectFacts {
  tables: [string, string][];
}

interface Decisions {
  generation: number;
  bySql: Map<string, SelectFacts | null>;
  /**
   * Lower-case function name to "every overload is CONSISTENT", as of catalog generation
   * `generation` (a macro may shadow a built-in, so any catalog change makes it stale).
   */
  consistent: { generation: number; map: Map<string, boolean> } | null;
}

const DECISIONS = new WeakMap<object, Decisions>();
const MAX_DECISIONS = 2000;

/** Bare words DuckDB reads as functions of the moment or the session (never cached). */
const SPECIAL_NAMES = new Set([
  "current_date",
  "current_time",
  "current_timestamp",
  "localtime",
  "localtimestamp",
  "current_user",
  "session_user",
  "user",
  "current_role",
  "current_catalog",
  "current_schema",
  "current_database",
  "current_query",
]);

const FUNCTIONS_SQL =
  "SELECT lower(function_name), bool_and(coalesce(stability, '') = 'CONSISTENT') " +
  "FROM system.main.duckdb_functions() GROUP BY 1";

/**
 * True when the single SELECT `sql` reads only base tables through consistent functions, so its
 * answer stays valid until the data version of `owner` (the pool) changes.
 */
export async function isCacheableSelect(
  lease: Lease,
  guard: Guard,
  owner: object,
  sql: string,
): Promise<boolean> {
  return await cacheableSelect(lease, guard, owner, sql) !== null;
}

/**
 * The base tables the single SELECT `sql` reads when its answer may be cached (see
 * {@link isCacheableSelect}), else null.
 */
export async function cacheableSelect(
  lease: Lease,
  guard: Guard,
  owner: object,
  sql: string,
): Promise<SelectFacts | null> {
  const generation = catalogCache(owner).generation;
  let decisions = DECISIONS.get(owner);
  if (!decisions || decisions.generation !== generation) {
    decisions = { generation, bySql: new Map(), consistent: decisions?.consistent ?? null };
    DECISIONS.set(owner, decisions);
  }
  const known = decisions.bySql.get(sql);
  if (known !== undefined) return known;
  const verdict = await decide(lease, guard, owner, sql, decisions).catch(() => null);
  // A decision made while the catalog changed is used once but not kept.
  if (catalogCache(owner).generation !== generation) return verdict;
  if (decisions.bySql.size >= MAX_DECISIONS) decisions.bySql.clear();
  decisions.bySql.set(sql, verdict);
  return verdict;
}

async function decide(
  lease: Lease,
  guard: Guard,
  owner: object,
  sql: string,
  decisions: Decisions,
): Promise<SelectFacts | null> {
  const parsed = await guarded(lease, guard, async () => {
    const statement = await lease.prepare("SELECT system.main.json_serialize_sql($1::VARCHAR)");
    statement.bindVarchar(1, sql);
    const result = await statement.run();
    return JSON.parse(String(result.getChunk(0).getColumnVector(0).getItem(0)));
  });
  if (parsed.error || !Array.isArray(parsed.statements) || parsed.statements.length !== 1) {
    return null;
  }
  const catalog = catalogCache(owner);
  if (decisions.consistent?.generation !== catalog.generation) {
    // Functions change only with DDL (macros), which invalidates the catalog: read them again.
    const generation = catalog.generation;
    const functions = await guarded(lease, guard, async () => {
      const statement = await lease.prepare(FUNCTIONS_SQL);
      return (await statement.runAndReadAll()).getRows();
    });
    const map = new Map(functions.map(([name, ok]) => [String(name), Boolean(ok)]));
    decisions.consistent = { generation, map };
  }
  const tables = await catalog.tables(lease, guard);
  const consistent = decisions.consistent.map;
  const ctes = new Set<string>();
  const named: { schema: string; name: string }[] = [];
  let ok = true;
  const visit = (node: unknown): void => {
    if (!ok || node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const n = node as Record<string, unknown>;
    if (n.cte_map && typeof n.cte_map === "object") {
      for (const entry of (n.cte_map as { map?: { key: string }[] }).map ?? []) {
        ctes.add(String(entry.key).toLowerCase());
      }
    }
    if ("sample" in n && n.sample !== null) ok = false;
    if (n.type === "TABLE_FUNCTION") ok = false;
    if (
      typeof n.function_name === "string" && consistent.get(n.function_name.toLowerCase()) !== true
    ) {
      ok = false;
    }
    if (n.class === "COLUMN_REF" && Array.isArray(n.column_names) && n.column_names.length === 1) {
      const name = String(n.column_names[0]).toLowerCase();
      if (SPECIAL_NAMES.has(name) || (consistent.has(name) && consistent.get(name) !== true)) {
        ok = false;
      }
    }
    if (n.type === "BASE_TABLE") {
      named.push({ schema: String(n.schema_name ?? ""), name: String(n.table_name ?? "") });
      if (n.catalog_name) ok = false;
    }
    for (const value of Object.values(n)) visit(value);
  };
  visit(parsed.statements);
  if (!ok) return null;
  const read: [string, string][] = [];
  for (const { schema, name } of named) {
    if (!schema && ctes.has(name.toLowerCase())) continue;
    const table = findTable(tables, name, schema || undefined);
    if (!table || table.kind !== "table") return null;
    read.push([table.schema, table.name]);
  }
  return { tables: read };
}
