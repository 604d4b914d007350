/**
 * How DuckDB names the catalog of a database file: after the file name up to its first dot, with
 * its own names `main`, `temp` and `system` renamed to `<name>_db`. The same names in another case
 * (`Main.db`) make every statement ambiguous or crash the engine: {@link reservedCatalogClash}
 * finds them so the configuration can refuse them with a clear line.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { catalogNameOf, reservedCatalogClash } from "./catalog_name.ts";
 * equal(catalogNameOf("/srv/shop.v2.duckdb"), "shop");
 * equal(catalogNameOf("/srv/main.duckdb"), "main_db");
 * equal(catalogNameOf(":memory:"), "memory");
 * equal(reservedCatalogClash("/srv/Main.db")?.reserved, "main");
 * equal(reservedCatalogClash("/srv/main.db"), null);
 * ```
 * @module
 */

import { basename } from "node:path";

/** Catalog names DuckDB keeps for itself (a file named so gets `<name>_db`). */
const RESERVED_CATALOGS = ["main", "temp", "system"];

/** The name DuckDB gives the catalog of the database at `path`. */
export function catalogNameOf(path: string): string {
  if (path === ":memory:") return "memory";
  const stem = basename(path).split(".")[0];
  return RESERVED_CATALOGS.includes(stem) ? `${stem}_db` : stem;
}

/**
 * The catalog name of the file at `path` when it is a reserved name in another case (`Main`
 * for `main`), with the reserved name it clashes with; `null` when the name is usable.
 */
export function reservedCatalogClash(path: string): { name: string; reserved: string } | null {
  if (path === ":memory:") return null;
  const name = catalogNameOf(path);
  const reserved = name.toLowerCase();
  return RESERVED_CATALOGS.includes(reserved) && name !== reserved ? { name, reserved } : null;
}
