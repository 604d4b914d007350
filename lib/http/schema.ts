/**
 * The schema feature: `GET {prefix}/tables` and `GET {prefix}/tables/{table}` describe the tables
 * and views of the live catalog that the caller's role may read (`r`). Permission is checked
 * before existence, so a key learns nothing about tables it may not read.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { describeTable } from "./schema.ts";
 * const info = describeTable({
 *   schema: "main", name: "users", kind: "table", primaryKey: ["id"], estimatedRows: 2,
 *   columns: [{ name: "id", type: "INTEGER", nullable: false, default: null, primaryKey: true }],
 * });
 * equal(info.row_count_estimate, 2);
 * equal(info.columns[0].primary_key, true);
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import { readCatalog, type TableInfo } from "../db/catalog.ts";
import { lookupTable } from "../query/mod.ts";
import type { ConnectionPool } from "../db/pool.ts";
import { acquire, createGuard, type Guard } from "../db/run.ts";
import { type Endpoint, tableDisplayName } from "../openapi/mod.ts";
import type { AppContext } from "./context.ts";
import { createFeature, type Feature } from "./feature.ts";
import { jsonWithEtag } from "./revalidate.ts";
import { tenantTable } from "./tenants.ts";

const LIST_TABLES: Endpoint = {
  method: "GET",
  route: "/tables",
  path: "/tables",
  operationId: "listTables",
  tag: "Schema",
  summary: "Tables and views the key may read",
  description: "Columns, types, nullability, primary key and DuckDB's row count estimate of " +
    "every table and view the caller's role may read (`r`); others are left out.",
  responses: [{
    status: 200,
    description: "The tables.",
    body: { kind: "json", schema: "TableList" },
  }],
  errors: [],
};

const DESCRIBE_TABLE: Endpoint = {
  method: "GET",
  route: "/tables/:table",
  path: "/tables/{table}",
  pathParameters: { table: "table" },
  operationId: "describeTable",
  tag: "Schema",
  summary: "One table or view",
  description: "403 when the role may not read the table, checked before its existence " +
    "(so no key learns which tables exist); 404 for an unknown table.",
  responses: [{
    status: 200,
    description: "The table.",
    body: { kind: "json", schema: "TableInfo" },
  }],
  errors: ["unknown_table"],
};

/** The schema routes (relative to the route prefix, behind the key check). */
export function schemaRoutes(ctx: AppContext): Feature {
  const { config, engine, auth } = ctx;
  const feature = createFeature();
  feature.route(LIST_TABLES, async (c) => {
    const catalog = await loadCatalog(
      engine.pool,
      createGuard(config.query_timeout, c.req.raw.signal),
    );
    return jsonWithEtag(c, { tables: readableTables(catalog, auth, c.get("principal")) });
  });
  feature.route(DESCRIBE_TABLE, async (c) => {
    const catalog = await loadCatalog(
      engine.pool,
      createGuard(config.query_timeout, c.req.raw.signal),
    );
    const requested = tenantTable(ctx, c, c.req.param("table") ?? "");
    const table = findReadableTable(catalog, requested, auth, c.get("principal"));
    return jsonWithEtag(c, table);
  });
  return feature;
}

/** A table as the schema endpoints show it. */
export interface TableDescription {
  /** The attached database (absent for the main database's tables). */
  database?: string;
  schema: string;
  name: string;
  kind: "table" | "view";
  columns: {
    name: string;
    type: string;
    nullable: boolean;
    default: string | null;
    primary_key: boolean;
  }[];
  primary_key: string[];
  /** DuckDB's estimate; null for views (DuckDB has none). */
  row_count_estimate: number | null;
}

/** The wire shape of a catalog table. */
export function describeTable(table: TableInfo): TableDescription {
  return {
    ...(!table.database ? {} : { database: table.database }),
    schema: table.schema,
    name: table.name,
    kind: table.kind,
    columns: table.columns.map((c) => ({
      name: c.name,
      type: c.type,
      nullable: c.nullable,
      default: c.default,
      primary_key: c.primaryKey,
    })),
    primary_key: table.primaryKey,
    row_count_estimate: table.kind === "view" ? null : table.estimatedRows,
  };
}

/** Reads the live catalog on a pooled connection under the guard. */
export async function loadCatalog(pool: ConnectionPool, guard: Guard): Promise<TableInfo[]> {
  const lease = await acquire(pool, guard);
  try {
    return await readCatalog(lease, guard);
  } finally {
    lease.release();
  }
}

/** True when `principal` may do `op` on `table` (the auth stage throws `forbidden` otherwise). */
export function allowed(
  auth: Auth,
  principal: Principal | null,
  op: Parameters<Auth["authorize"]>[1],
  table: TableInfo,
): boolean {
  if (!principal) return false;
  try {
    auth.authorize(principal, op, tableDisplayName(table));
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "forbidden") return false;
    throw err;
  }
}

/** The tables of `catalog` that `principal` may read. */
export function readableTables(
  catalog: readonly TableInfo[],
  auth: Auth,
  principal: Principal,
): TableDescription[] {
  return catalog.filter((t) => allowed(auth, principal, "r", t)).map(describeTable);
}

/**
 * One table by the name in the request (`name` or `schema.name`, matched as DuckDB matches
 * identifiers). Authorizes `r` first, under the catalog's spelling when the table exists and the
 * requested one otherwise, so 403 comes before 404 for a role that may not read it.
 */
export function findReadableTable(
  catalog: readonly TableInfo[],
  requested: string,
  auth: Auth,
  principal: Principal,
): TableDescription {
  const table = lookupTable(catalog, requested);
  auth.authorize(principal, "r", table ? tableDisplayName(table) : requested);
  if (!table) {
    throw new ApiError("unknown_table", `Table '${requested}' does not exist.`);
  }
  return describeTable(table);
}
