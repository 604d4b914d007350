/**
 * The auth store: a DuckDB file of its own (never the main database) with three tables, `roles`,
 * `api_keys` and `permissions`, plus `duckserve_meta`. Keys are stored only as their SHA-256
 * digest with a short non-secret key id. Every function opens the file for one job and closes it
 * (see `lib/db/file.ts`), so the server and the `auth` CLI can take turns on it while both run.
 * @module
 */

import { dirname } from "node:path";
import { parseRate } from "../units.ts";
import { type DatabaseFile, withDatabaseFile } from "../db/file.ts";
import { ALL_TABLES, AuthInputError, type Operation, OPERATIONS } from "../permissions.ts";
import { generateKey, hashKey, KEY_ID_PATTERN, newKeyId, validateCustomKey } from "./keys.ts";
import { checkGrantOperations, displayTable, parseGrantTable } from "./policy.ts";
import {
  authFileExists,
  AuthStoreError,
  checkSchema,
  migrateSchema,
  SCHEMA,
  SCHEMA_VERSION,
} from "./store_schema.ts";

export { authFileExists, AuthStoreError, SCHEMA_VERSION } from "./store_schema.ts";

/** How long a CLI write waits while the server reads the file (it holds it for milliseconds). */
export const DEFAULT_LOCK_WAIT_MS = 10_000;

/** A role. */
export interface RoleRecord {
  name: string;
  description: string | null;
  /** Requests per key of the role (`50/s`), or null for no limit (schema version 2). */
  rateLimit?: string | null;
  /** The bucket size of `rateLimit` (null: one second's worth). */
  rateBurst?: number | null;
}

/** An API key, without its secret. */
export interface KeyRecord {
  keyId: string;
  /** Hex SHA-256 digest of the key. */
  hash: string;
  role: string;
  description: string | null;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds, or null for never. */
  expiresAt: number | null;
  active: boolean;
}

/** A grant: operations of a role on a table (`*` or a canonical table key). */
export interface PermissionRecord {
  role: string;
  table: string;
  operations: Operation[];
}

/** Everything in the store. */
export interface AuthData {
  roles: RoleRecord[];
  keys: KeyRecord[];
  permissions: PermissionRecord[];
}

/** The roles `auth init` (and the first `serve`) create. */
export const DEFAULT_ROLES: readonly { name: string; description: string; operations: string }[] = [
  { name: "admin", description: "All operations and raw SQL on all tables", operations: "crudq" },
  {
    name: "editor",
    description: "Create, read, update and delete on all tables; no raw SQL",
    operations: "crud",
  },
  { name: "reader", description: "Read all tables", operations: "r" },
];

const ROLE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_DESCRIPTION = 500;

/** Throws a clear error (naming `auth init`) when there is no store at `path`. */
export async function requireAuthFile(path: string): Promise<void> {
  if (!await authFileExists(path)) {
    throw new AuthStoreError(
      `auth database ${path} does not exist (create it with: duckserve auth init -d ${path})`,
    );
  }
}

async function mutate<T>(path: string, work: (db: DatabaseFile) => Promise<T>): Promise<T> {
  await requireAuthFile(path);
  return await withDatabaseFile(
    path,
    { readOnly: false, lockWaitMs: DEFAULT_LOCK_WAIT_MS },
    async (db) => {
      if (await checkSchema(db, path) < SCHEMA_VERSION) await migrateSchema(db);
      return await db.transaction(() => work(db));
    },
  );
}

/**
 * Creates a new store at `path` (and its parent directories) with the default roles unless
 * `defaults` is false. Refuses when the file already exists.
 */
export async function initAuthFile(
  path: string,
  options: { defaults?: boolean; lockWaitMs?: number } = {},
): Promise<void> {
  if (await authFileExists(path)) {
    throw new AuthStoreError(`auth database ${path} already exists`);
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  await withDatabaseFile(path, { readOnly: false, lockWaitMs: options.lockWaitMs }, async (db) => {
    await db.transaction(async () => {
      for (const statement of SCHEMA) await db.run(statement);
      await db.run("INSERT INTO duckserve_meta VALUES ('schema_version', ?)", [
        String(SCHEMA_VERSION),
      ]);
      if (options.defaults ?? true) {
        for (const role of DEFAULT_ROLES) {
          await db.run("INSERT INTO roles (role_name, description) VALUES (?, ?)", [
            role.name,
            role.description,
          ]);
          await insertPermission(db, role.name, ALL_TABLES, [...role.operations] as Operation[]);
        }
      }
    });
  });
  // Only digests are stored, but nobody else needs to read the file either.
  await Deno.chmod(path, 0o600).catch(() => {});
}

/** Reads the whole store (read-only). */
export function readAuthData(path: string, lockWaitMs = 0): Promise<AuthData> {
  return withDatabaseFile(path, { readOnly: true, lockWaitMs }, async (db) => {
    const version = await checkSchema(db, path);
    const limits = version >= 2
      ? "rate_limit, rate_burst"
      : "NULL AS rate_limit, NULL AS rate_burst";
    const roles = (await db.all(
      `SELECT role_name, description, ${limits} FROM roles ORDER BY role_name`,
    )).map((r) => ({
      name: String(r.role_name),
      description: nullableText(r.description),
      rateLimit: nullableText(r.rate_limit),
      rateBurst: r.rate_burst === null ? null : Number(r.rate_burst),
    }));
    const keys = (await db.all(`${KEY_SELECT} ORDER BY created_at, key_id`)).map(keyRecord);
    const permissions = (await db.all(
      `SELECT role_name, table_name, can_create, can_read, can_update, can_delete, can_query
       FROM permissions ORDER BY role_name, table_name`,
    )).map((r) => ({
      role: String(r.role_name),
      table: String(r.table_name),
      operations: OPERATIONS.filter((_, i) =>
        Boolean(
          [r.can_create, r.can_read, r.can_update, r.can_delete, r.can_query][i],
        )
      ),
    }));
    return { roles, keys, permissions };
  });
}

const KEY_SELECT = `SELECT key_id, key_hash, role_name, description, is_active,
    epoch_ms(created_at)::DOUBLE AS created, epoch_ms(expires_at)::DOUBLE AS expires
  FROM api_keys`;

function keyRecord(r: Record<string, unknown>): KeyRecord {
  return {
    keyId: String(r.key_id),
    hash: String(r.key_hash),
    role: String(r.role_name),
    description: nullableText(r.description),
    createdAt: Number(r.created),
    expiresAt: r.expires === null ? null : Number(r.expires),
    active: Boolean(r.is_active),
  };
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Throws {@link AuthInputError} unless `name` is a valid role name. */
export function checkRoleName(name: string): void {
  if (!ROLE_NAME.test(name)) {
    throw new AuthInputError(
      `invalid role name "${name}": use 1-64 letters, digits, '_', '.' or '-'`,
    );
  }
}

function checkDescription(description: string | null | undefined): string | null {
  if (description === undefined || description === null) return null;
  if (description.length > MAX_DESCRIPTION) {
    throw new AuthInputError(`a description may be at most ${MAX_DESCRIPTION} characters`);
  }
  return description;
}

async function roleExists(db: DatabaseFile, name: string): Promise<boolean> {
  return (await db.all("SELECT 1 FROM roles WHERE role_name = ?", [name])).length > 0;
}

async function requireRole(db: DatabaseFile, name: string): Promise<void> {
  if (!await roleExists(db, name)) throw new AuthInputError(`role "${name}" does not exist`);
}

/** A role's rate limit: requests per second per key, and the bucket size (null: default). */
export interface RoleLimit {
  rate: string;
  burst: number | null;
}

/** Adds a role, with a rate limit per key when `limit` is given. */
export async function addRole(
  path: string,
  name: string,
  description?: string | null,
  limit: RoleLimit | null = null,
): Promise<void> {
  checkRoleName(name);
  const text = checkDescription(description);
  checkLimit(limit);
  return await mutate(path, async (db) => {
    if (await roleExists(db, name)) throw new AuthInputError(`role "${name}" already exists`);
    await db.run(
      "INSERT INTO roles (role_name, description, rate_limit, rate_burst) VALUES (?, ?, ?, ?)",
      [name, text, limit?.rate ?? null, limit?.burst ?? null],
    );
  });
}

/** Sets (or with null removes) a role's rate limit; running servers apply it within a second. */
export async function setRoleLimit(
  path: string,
  name: string,
  limit: RoleLimit | null,
): Promise<void> {
  checkLimit(limit);
  return await mutate(path, async (db) => {
    await requireRole(db, name);
    await db.run("UPDATE roles SET rate_limit = ?, rate_burst = ? WHERE role_name = ?", [
      limit?.rate ?? null,
      limit?.burst ?? null,
      name,
    ]);
  });
}

function checkLimit(limit: RoleLimit | null): void {
  if (limit === null) return;
  if (parseRate(limit.rate) === null) {
    throw new AuthInputError(`invalid rate "${limit.rate}": use a rate such as 50/s, 600/m`);
  }
  if (limit.burst !== null && !(Number.isSafeInteger(limit.burst) && limit.burst >= 1)) {
    throw new AuthInputError(`invalid burst ${limit.burst}: use a whole number >= 1`);
  }
}

/**
 * Removes a role. Refuses while keys or grants still use it, unless `force`, which removes
 * them too; returns how many of each went.
 */
export async function removeRole(
  path: string,
  name: string,
  force = false,
): Promise<{ keys: number; permissions: number }> {
  return await mutate(path, async (db) => {
    await requireRole(db, name);
    const [counts] = await db.all(
      `SELECT (SELECT count(*) FROM api_keys WHERE role_name = ?)::INTEGER AS keys,
              (SELECT count(*) FROM permissions WHERE role_name = ?)::INTEGER AS permissions`,
      [name, name],
    );
    const keys = Number(counts.keys);
    const permissions = Number(counts.permissions);
    if ((keys > 0 || permissions > 0) && !force) {
      throw new AuthInputError(
        `role "${name}" still has ${keys} key(s) and ${permissions} permission(s); ` +
          "remove them first or use --force",
      );
    }
    await db.run("DELETE FROM api_keys WHERE role_name = ?", [name]);
    await db.run("DELETE FROM permissions WHERE role_name = ?", [name]);
    await db.run("DELETE FROM roles WHERE role_name = ?", [name]);
    return { keys, permissions };
  });
}

/** Options of {@link addKey}. */
export interface AddKeyOptions {
  role: string;
  /** A custom key (at least 24 characters); generated when absent. */
  key?: string;
  /** Epoch milliseconds; must be in the future. */
  expiresAt?: number | null;
  description?: string | null;
  /** Clock for the expiry check (tests). */
  now?: number;
}

/** A new key: the only moment the secret exists outside the caller's hands. */
export interface NewKey {
  key: string;
  keyId: string;
  role: string;
  description: string | null;
  expiresAt: number | null;
}

/** Adds a key for a role; returns the key (shown once). */
export async function addKey(path: string, options: AddKeyOptions): Promise<NewKey> {
  const description = checkDescription(options.description);
  if (options.key !== undefined) validateCustomKey(options.key);
  const expiresAt = options.expiresAt ?? null;
  if (expiresAt !== null && expiresAt <= (options.now ?? Date.now())) {
    throw new AuthInputError("the expiry is in the past");
  }
  return await mutate(path, async (db) => {
    await requireRole(db, options.role);
    let key = options.key;
    let keyId: string;
    if (key === undefined) {
      ({ key, keyId } = generateKey());
    } else {
      keyId = newKeyId();
    }
    const hash = hashKey(key);
    if ((await db.all("SELECT 1 FROM api_keys WHERE key_hash = ?", [hash])).length) {
      throw new AuthInputError("this key already exists");
    }
    while ((await db.all("SELECT 1 FROM api_keys WHERE key_id = ?", [keyId])).length) {
      if (options.key === undefined) ({ key, keyId } = generateKey());
      else keyId = newKeyId();
    }
    await db.run(
      `INSERT INTO api_keys (key_id, key_hash, role_name, description, expires_at)
       VALUES (?, ?, ?, ?, CASE WHEN ?::DOUBLE IS NULL THEN NULL ELSE to_timestamp(?::DOUBLE / 1000) END)`,
      [keyId, hashKey(key), options.role, description, expiresAt, expiresAt],
    );
    return { key, keyId, role: options.role, description, expiresAt };
  });
}

/** Removes a key named by the key itself or by its key id; returns what was removed. */
export async function removeKey(path: string, keyOrId: string): Promise<KeyRecord> {
  return await mutate(path, async (db) => {
    const byId = KEY_ID_PATTERN.test(keyOrId);
    const rows = await db.all(
      `${KEY_SELECT} WHERE ${byId ? "key_id" : "key_hash"} = ?`,
      [byId ? keyOrId : hashKey(keyOrId)],
    );
    if (rows.length === 0) throw new AuthInputError("no such key (give the key or its key id)");
    const removed = keyRecord(rows[0]);
    await db.run("DELETE FROM api_keys WHERE key_id = ?", [removed.keyId]);
    return removed;
  });
}

async function insertPermission(
  db: DatabaseFile,
  role: string,
  table: string,
  operations: Operation[],
): Promise<void> {
  const has = (op: Operation) => operations.includes(op);
  await db.run(
    `INSERT OR REPLACE INTO permissions
       (role_name, table_name, can_create, can_read, can_update, can_delete, can_query)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [role, table, has("c"), has("r"), has("u"), has("d"), has("q")],
  );
}

/**
 * Grants `operations` on `table` to a role, replacing that role's earlier grant for the same
 * table (however it was spelled). `stream:<name or glob>` grants `r`, `c`, `d` on streams and
 * is stored as written. Returns the stored grant.
 */
export async function setPermission(
  path: string,
  role: string,
  table: string,
  operations: Operation[],
): Promise<PermissionRecord> {
  const key = parseGrantTable(table);
  if (operations.length === 0) throw new AuthInputError("no operations given");
  checkGrantOperations(key, operations);
  return await mutate(path, async (db) => {
    await requireRole(db, role);
    await insertPermission(db, role, key, operations);
    return { role, table: key, operations };
  });
}

/** Removes a role's grant on a table. */
export async function removePermission(path: string, role: string, table: string): Promise<void> {
  const key = parseGrantTable(table);
  return await mutate(path, async (db) => {
    await requireRole(db, role);
    const removed = await db.run(
      "DELETE FROM permissions WHERE role_name = ? AND table_name = ?",
      [role, key],
    );
    if (removed === 0) {
      throw new AuthInputError(`role "${role}" has no permission on table ${displayTable(key)}`);
    }
  });
}

/** Sets a key's active flag (for administrators editing the store directly and for tests). */
export async function setKeyActive(path: string, keyId: string, active: boolean): Promise<void> {
  return await mutate(path, async (db) => {
    const changed = await db.run("UPDATE api_keys SET is_active = ? WHERE key_id = ?", [
      active,
      keyId,
    ]);
    if (changed === 0) throw new AuthInputError(`no key with key id ${keyId}`);
  });
}

/** Roles, grants and keys (as digests) to add to a store, e.g. from another auth database. */
export interface ImportRecords {
  roles: RoleRecord[];
  permissions: PermissionRecord[];
  keys: KeyRecord[];
}

/** What {@link importRecords} changed. */
export interface ImportCounts {
  rolesAdded: number;
  permissionsSet: number;
  keysAdded: number;
  /** Keys whose digest the store already held (left as they were). */
  keysPresent: number;
}

/**
 * Adds validated records in one transaction: missing roles, every grant (replacing the role's
 * grant on the same table), and every key whose digest is new, with its key id, timestamps and
 * active flag as given. A key id already in use fails the whole import.
 */
export async function importRecords(path: string, records: ImportRecords): Promise<ImportCounts> {
  return await mutate(path, async (db) => {
    const counts = { rolesAdded: 0, permissionsSet: 0, keysAdded: 0, keysPresent: 0 };
    for (const role of records.roles) {
      if (await roleExists(db, role.name)) continue;
      await db.run("INSERT INTO roles (role_name, description) VALUES (?, ?)", [
        role.name,
        checkDescription(role.description),
      ]);
      counts.rolesAdded++;
    }
    for (const grant of records.permissions) {
      await insertPermission(db, grant.role, grant.table, grant.operations);
      counts.permissionsSet++;
    }
    for (const key of records.keys) {
      if ((await db.all("SELECT 1 FROM api_keys WHERE key_hash = ?", [key.hash])).length) {
        counts.keysPresent++;
        continue;
      }
      if ((await db.all("SELECT 1 FROM api_keys WHERE key_id = ?", [key.keyId])).length) {
        throw new AuthInputError(`key id ${key.keyId} is already in use; run the import again`);
      }
      await db.run(
        `INSERT INTO api_keys
           (key_id, key_hash, role_name, description, created_at, expires_at, is_active)
         VALUES (?, ?, ?, ?, to_timestamp(?::DOUBLE / 1000),
           CASE WHEN ?::DOUBLE IS NULL THEN NULL ELSE to_timestamp(?::DOUBLE / 1000) END, ?)`,
        [
          key.keyId,
          key.hash,
          key.role,
          key.description,
          key.createdAt,
          key.expiresAt,
          key.expiresAt,
          key.active,
        ],
      );
      counts.keysAdded++;
    }
    return counts;
  });
}
