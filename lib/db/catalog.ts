/**
 * The live catalog of the main database: user tables and views with their columns, types,
 * nullability, defaults and primary keys. Identifiers named in requests are checked against it
 * before they are quoted into SQL.
 * @module
 */

import { quoteIdentifier } from "../sql/mod.ts";
import type { ConnectionPool, Lease } from "./pool.ts";
import { type Guard, guarded } from "./run.ts";

/** One column of a table or view. */
export interface ColumnInfo {
  name: string;
  /** DuckDB's type text, e.g. `BIGINT`, `DECIMAL(10,2)`, `VARCHAR[]`. */
  type: string;
  nullable: boolean;
  /** The DEFAULT expression text, or null. */
  default: string | null;
  primaryKey: boolean;
}

/** A table or view. */
export interface TableInfo {
  /** The attached database (`databases`) it lives in; null (or absent) for the main database. */
  database?: string | null;
  schema: string;
  name: string;
  kind: "table" | "view";
  columns: ColumnInfo[];
  /** Primary key column names in key order (empty when none). */
  primaryKey: string[];
  /** DuckDB's row count estimate (0 for views). */
  estimatedRows: number;
}

const CATALOG_SQL = `
SELECT c.database_name = current_database() AS is_main, c.database_name,
  c.schema_name, c.table_name, (v.view_name IS NOT NULL) AS is_view,
  coalesce(t.estimated_size, 0)::DOUBLE AS estimated_rows,
  c.column_name, c.data_type, c.is_nullable, c.column_default,
  coalesce(pk.cols, []) AS pk_cols
FROM duckdb_columns() c
LEFT JOIN duckdb_tables() t
  ON t.database_oid = c.database_oid AND t.schema_oid = c.schema_oid AND t.table_oid = c.table_oid
LEFT JOIN duckdb_views() v
  ON v.database_oid = c.database_oid AND v.schema_oid = c.schema_oid AND v.view_oid = c.table_oid
LEFT JOIN (
  SELECT database_oid, table_oid, any_value(constraint_column_names) AS cols
  FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'
  GROUP BY database_oid, table_oid
) pk ON pk.database_oid = c.database_oid AND pk.table_oid = c.table_oid
WHERE c.database_name NOT IN ('system', 'temp') AND NOT c.internal
  AND NOT starts_with(c.database_name, '__ducklake_metadata_')
ORDER BY is_main DESC, c.database_name, c.schema_name, c.table_name, c.column_index`;

/**
 * Reads every user table and view of the main database and the attached ones: the main
 * database's first, then each attached database's, in schema and name order.
 */
export async function readCatalog(lease: Lease, guard: Guard): Promise<TableInfo[]> {
  const statement = await guarded(lease, guard, () => lease.prepare(CATALOG_SQL));
  const reader = await guarded(lease, guard, () => statement.runAndReadAll());
  const tables: TableInfo[] = [];
  let current: TableInfo | null = null;
  for (const row of reader.getRows()) {
    const [isMain, db, schema, name, isView, estimated, column, type, nullable, dflt, pkCols] = row;
    const database = isMain ? null : String(db);
    if (
      !current || current.database !== database || current.schema !== schema ||
      current.name !== name
    ) {
      const primaryKey = ((pkCols as { items: unknown[] }).items ?? []).map(String);
      current = {
        database,
        schema: String(schema),
        name: String(name),
        kind: isView ? "view" : "table",
        columns: [],
        primaryKey,
        estimatedRows: Number(estimated),
      };
      tables.push(current);
    }
    current.columns.push({
      name: String(column),
      type: String(type),
      nullable: Boolean(nullable),
      default: dflt === null ? null : String(dflt),
      primaryKey: current.primaryKey.includes(String(column)),
    });
  }
  return tables;
}

/**
 * Finds a table the way DuckDB resolves an identifier: an exact (case-sensitive) match first,
 * then a case-insensitive one; an unqualified name looks in `main` first, then in any schema
 * when exactly one schema has it. `database` names an attached database (matched without case);
 * without it only the main database's tables are candidates.
 */
export function findTable(
  tables: readonly TableInfo[],
  name: string,
  schema?: string,
  database: string | null = null,
): TableInfo | null {
  const candidates = tables.filter((t) =>
    (database === null ? !t.database : !!t.database && same(t.database, database)) &&
    (schema === undefined || same(t.schema, schema))
  );
  const exact = candidates.filter((t) => t.name === name);
  const loose = exact.length ? exact : candidates.filter((t) => same(t.name, name));
  if (loose.length <= 1) return loose[0] ?? null;
  return loose.find((t) => t.schema === "main") ?? loose.find((t) => same(t.schema, "main")) ??
    null;
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `"schema"."table"`, or `"db"."schema"."table"` in an attached database. */
export function qualifiedName(table: TableInfo): string {
  const name = `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
  return !table.database ? name : `${quoteIdentifier(table.database)}.${name}`;
}

/**
 * How requests name a table: `users` for `main.users` and `sales.orders` otherwise in the main
 * database; `{db}.{table}` (schema `main`) or `{db}.{schema}.{table}` in an attached database.
 */
export function tableDisplayName(table: Pick<TableInfo, "database" | "schema" | "name">): string {
  const local = table.schema === "main" ? table.name : `${table.schema}.${table.name}`;
  return !table.database ? local : `${table.database}.${local}`;
}

/** The identifier parts of a table (`[db?, schema, name]`), for keys and change events. */
export function tableParts(table: Pick<TableInfo, "database" | "schema" | "name">): string[] {
  return !table.database ? [table.schema, table.name] : [table.database, table.schema, table.name];
}

/**
 * The catalog of one database, cached between requests and always correct: the server is the only
 * process that can change the catalog (DuckDB's file lock and the sandbox see to that), so the
 * cache is dropped by {@link invalidateCatalog} whenever the server runs anything but
 * SELECT/INSERT/UPDATE/DELETE. A read that raced with an invalidation is used once but not kept.
 */
export interface CatalogCache {
  /** The tables and views, read from the database when the cache is empty. */
  tables(lease: Lease, guard: Guard): Promise<readonly TableInfo[]>;
  /** The cached tables and views, or null when they must be read first. */
  peek(): readonly TableInfo[] | null;
  /** Forgets the cached catalog; the next {@link CatalogCache.tables} reads it again. */
  invalidate(): void;
  /** Counts invalidations: anything derived from the catalog is stale once it moves on. */
  readonly generation: number;
}

const CACHES = new WeakMap<object, CatalogCache>();

function createCatalogCache(): CatalogCache {
  let generation = 0;
  let cached: readonly TableInfo[] | null = null;
  return {
    async tables(lease, guard) {
      if (cached) return cached;
      const seen = generation;
      const tables = await readCatalog(lease, guard);
      if (seen === generation) cached = tables;
      return tables;
    },
    peek: () => cached,
    invalidate() {
      generation++;
      cached = null;
    },
    get generation() {
      return generation;
    },
  };
}

/**
 * The catalog cache of the database behind `owner` (its connection pool): one per pool, shared
 * by every module that reads or changes the catalog.
 */
export function catalogCache(owner: object): CatalogCache {
  let cache = CACHES.get(owner);
  if (!cache) CACHES.set(owner, cache = createCatalogCache());
  return cache;
}

/**
 * Drops the cached catalog of the database behind `owner` (and the prepared statements of its
 * pool's connections). Call it after any statement that may have changed the catalog (DDL, `ALTER`, `DROP`, `COMMENT`, `CREATE SEQUENCE`, ...) has ended,
 * whether it succeeded or not.
 */
export function invalidateCatalog(owner: object): void {
  catalogCache(owner).invalidate();
  (owner as Partial<ConnectionPool>).expireStatements?.call(owner);
}
