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
SELECT c.schema_name, c.table_name, (v.view_name IS NOT NULL) AS is_view,
  coalesce(t.estimated_size, 0)::DOUBLE AS estimated_rows,
  c.column_name, c.data_type, c.is_nullable, c.column_default,
  coalesce(pk.cols, []) AS pk_cols
FROM duckdb_columns() c
LEFT JOIN duckdb_tables() t
  ON t.database_oid = c.database_oid AND t.schema_oid = c.schema_oid AND t.table_oid = c.table_oid
LEFT JOIN duckdb_views() v
  ON v.database_oid = c.database_oid AND v.schema_oid = c.schema_oid AND v.view_oid = c.table_oid
LEFT JOIN (
  SELECT table_oid, any_value(constraint_column_names) AS cols
  FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' GROUP BY table_oid
) pk ON pk.table_oid = c.table_oid
WHERE c.database_name = current_database() AND NOT c.internal
ORDER BY c.schema_name, c.table_name, c.column_index`;

/** Reads every user table and view of the main database, in schema and name order. */
export async function readCatalog(lease: Lease, guard: Guard): Promise<TableInfo[]> {
  const statement = await guarded(lease, guard, () => lease.prepare(CATALOG_SQL));
  const reader = await guarded(lease, guard, () => statement.runAndReadAll());
  const tables: TableInfo[] = [];
  let current: TableInfo | null = null;
  for (const row of reader.getRows()) {
    const [schema, name, isView, estimated, column, type, nullable, dflt, pkCols] = row;
    if (!current || current.schema !== schema || current.name !== name) {
      const primaryKey = ((pkCols as { items: unknown[] }).items ?? []).map(String);
      current = {
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
 * when exactly one schema has it.
 */
export function findTable(
  tables: readonly TableInfo[],
  name: string,
  schema?: string,
): TableInfo | null {
  const candidates = tables.filter((t) => schema === undefined || same(t.schema, schema));
  const exact = candidates.filter((t) => t.name === name);
  const loose = exact.length ? exact : candidates.filter((t) => same(t.name, name));
  if (loose.length <= 1) return loose[0] ?? null;
  return loose.find((t) => t.schema === "main") ?? loose.find((t) => same(t.schema, "main")) ??
    null;
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `"schema"."table"`. */
export function qualifiedName(table: TableInfo): string {
  return `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
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
