/**
 * The auth store's schema and its versions (kept in `duckserve_meta`): version 1 had roles, keys
 * and grants; version 2 adds each role's rate limit (`rate_limit`, `rate_burst`). A server reads
 * either (it opens the file read-only, so a version 1 file reads with no limits); the first write
 * by the `auth` command upgrades a version 1 file in place. A file of a newer version, or one that
 * is not a duckserve auth database, is refused with a clear line.
 * @module
 */

import type { DatabaseFile } from "../db/file.ts";

/** Version of the store's schema, kept in `duckserve_meta`. */
export const SCHEMA_VERSION = 2;

/** The statements that create a new store (the current version). */
export const SCHEMA = [
  `CREATE TABLE duckserve_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE roles (
     role_name VARCHAR PRIMARY KEY,
     description VARCHAR,
     created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
     rate_limit VARCHAR,
     rate_burst INTEGER)`,
  `CREATE TABLE api_keys (
     key_id VARCHAR PRIMARY KEY,
     key_hash VARCHAR NOT NULL UNIQUE,
     role_name VARCHAR NOT NULL,
     description VARCHAR,
     created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
     expires_at TIMESTAMPTZ,
     is_active BOOLEAN NOT NULL DEFAULT true)`,
  `CREATE TABLE permissions (
     role_name VARCHAR NOT NULL,
     table_name VARCHAR NOT NULL,
     can_create BOOLEAN NOT NULL DEFAULT false,
     can_read BOOLEAN NOT NULL DEFAULT false,
     can_update BOOLEAN NOT NULL DEFAULT false,
     can_delete BOOLEAN NOT NULL DEFAULT false,
     can_query BOOLEAN NOT NULL DEFAULT false,
     PRIMARY KEY (role_name, table_name))`,
];

/** The statements that take a store from version `n - 1` to `n`, by `n`. */
const MIGRATIONS: Record<number, string[]> = {
  2: [
    "ALTER TABLE roles ADD COLUMN rate_limit VARCHAR",
    "ALTER TABLE roles ADD COLUMN rate_burst INTEGER",
  ],
};

/** The store file is missing, malformed or of another kind. */
export class AuthStoreError extends Error {
  override name = "AuthStoreError";
}

/** True when a file exists at `path`. */
export async function authFileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Checks that `db` is a duckserve auth store this version reads; returns its schema version. */
export async function checkSchema(db: DatabaseFile, path: string): Promise<number> {
  const tables = new Set(
    (await db.all("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"))
      .map((r) => String(r.table_name)),
  );
  if (!tables.has("duckserve_meta")) {
    const hint = tables.has("api_keys") && tables.has("roles")
      ? " (it looks like a caddy-duckdb-module auth database, which stores keys in plain text; " +
        "move its roles, grants and keys into a new one with `duckserve auth import --from " +
        `${path} -d NEW_PATH\` and point auth_database_path at NEW_PATH)`
      : "";
    throw new AuthStoreError(`${path} is not a duckserve auth database${hint}`);
  }
  const rows = await db.all("SELECT value FROM duckserve_meta WHERE key = 'schema_version'");
  const version = Number(rows[0]?.value);
  if (!Number.isInteger(version) || version < 1 || version > SCHEMA_VERSION) {
    throw new AuthStoreError(
      `${path} has auth schema version ${
        rows[0]?.value ?? "none"
      }; this duckserve reads versions 1 to ${SCHEMA_VERSION}`,
    );
  }
  return version;
}

/** Upgrades a writable store to {@link SCHEMA_VERSION} in one transaction. */
export async function migrateSchema(db: DatabaseFile): Promise<void> {
  await db.transaction(async () => {
    const rows = await db.all("SELECT value FROM duckserve_meta WHERE key = 'schema_version'");
    for (let version = Number(rows[0]?.value) + 1; version <= SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version] ?? []) await db.run(statement);
    }
    await db.run("UPDATE duckserve_meta SET value = ? WHERE key = 'schema_version'", [
      String(SCHEMA_VERSION),
    ]);
  });
}
