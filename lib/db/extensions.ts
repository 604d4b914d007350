/**
 * Loads the operator's `extensions` into the main instance at start, on the set-up connection,
 * before the sandbox closes (`LOAD` of a file needs `enable_external_access`, which the engine then
 * turns off and locks). Nothing is installed or downloaded: each name must already be in
 * `extension_directory` (DuckDB's layout, `{dir}/{version}/{platform}/{name}.duckdb_extension`)
 * or be built into DuckDB (`json`, `parquet`, `icu`). Signature checks stay on
 * (`allow_unsigned_extensions=false`), so only DuckDB-signed files load.
 * @module
 */

import type { DuckDBConnection } from "@duckdb/node-api";

/** One loaded extension: its name and where DuckDB loaded it from (`(BUILT-IN)` or a file). */
export interface LoadedExtension {
  name: string;
  path: string;
}

const LOADED_SQL = "SELECT extension_name, install_path FROM duckdb_extensions() " +
  "WHERE loaded AND (extension_name = $name OR list_contains(aliases, $name))";

/**
 * Runs `LOAD` for each name (validated by the configuration as a bare name) and reports where each
 * came from. A name that does not load throws one line naming the `extensions` key, the name, the
 * directory and DuckDB's reason.
 */
export async function loadExtensions(
  connection: DuckDBConnection,
  names: readonly string[],
  directory: string | null,
): Promise<LoadedExtension[]> {
  const loaded: LoadedExtension[] = [];
  for (const name of names) {
    try {
      await connection.run(`LOAD ${name}`);
    } catch (err) {
      const reason = String((err as Error).message).split("\n")[0];
      throw new Error(
        `extensions: cannot load "${name}" from extension_directory ` +
          `${directory ?? "(DuckDB's default, ~/.duckdb/extensions)"}: ${reason} ` +
          `(install it there first, with DuckDB's INSTALL ${name} of the same DuckDB version)`,
        { cause: err },
      );
    }
    const rows = (await connection.runAndReadAll(LOADED_SQL, { name })).getRows();
    loaded.push({ name, path: rows.length > 0 ? String(rows[0][1]) : "" });
  }
  return loaded;
}
