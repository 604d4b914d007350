/**
 * A request's default catalog: a tenant's database (`lib/http/tenants.ts`), which unqualified
 * names in its raw SQL mean. The statements run on a connection switched to it with `USE`; that
 * connection is replaced when the request ends (its cached prepared statements were bound under
 * the tenant's catalog). The authorizer and the change feed read names the same way
 * ({@link qualifyParts}).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { qualifyParts } from "./default_catalog.ts";
 * const known = (n: string) => n === "other";
 * deepEqual(qualifyParts(["orders"], "acme", known), ["acme", "orders"]);
 * deepEqual(qualifyParts(["s1", "orders"], "acme", known), ["acme", "s1", "orders"]);
 * deepEqual(qualifyParts(["other", "orders"], "acme", known), ["other", "orders"]);
 * ```
 * @module
 */

import type { Lease } from "../db/pool.ts";
import { type Guard, guarded } from "../db/run.ts";
import { quoteIdentifier } from "../sql/mod.ts";

/** The default catalog of a request and how it reads table names. */
export interface DefaultCatalog {
  /** The attached database unqualified names mean. */
  database: string;
  /** Identifies this reading (the database and the attached names): part of cache keys. */
  key: string;
  /** Table name parts as written in SQL, read in this catalog (`orders` → `acme.orders`). */
  qualify(parts: readonly string[]): string[];
}

/**
 * Table name parts read with `database` as the current catalog: one part is a table of it; two
 * parts are a table of another database when the first names one (`isDatabase`), else a schema
 * of `database`; three parts are complete.
 */
export function qualifyParts(
  parts: readonly string[],
  database: string,
  isDatabase: (name: string) => boolean,
): string[] {
  if (parts.length === 1) return [database, parts[0]];
  if (parts.length === 2 && !isDatabase(parts[0])) return [database, ...parts];
  return [...parts];
}

/** The default catalog `database` among the attached `databases` (matched without case). */
export function defaultCatalog(database: string, databases: readonly string[]): DefaultCatalog {
  const names = databases.map((n) => n.toLowerCase());
  const isDatabase = (name: string) => names.includes(name.toLowerCase());
  return {
    database,
    key: `${database}\0${names.join(",")}`,
    qualify: (parts) => qualifyParts(parts, database, isDatabase),
  };
}

/** Switches the lease's connection to `catalog` (and marks it for replacement at release). */
export async function useCatalog(
  lease: Lease,
  guard: Guard,
  catalog: DefaultCatalog,
): Promise<void> {
  lease.taint();
  await guarded(
    lease,
    guard,
    () => lease.connection.run(`USE ${quoteIdentifier(catalog.database)}`),
  );
}
