/**
 * `auth import`: moves the roles, grants and keys of a caddy-duckdb-module auth database (the
 * reference's `roles`, `api_keys` with plain-text keys, `permissions` with `can_*` flags) into a
 * duckserve auth database, keeping what each key may do:
 *
 * - keys are hashed (SHA-256) on the way; the plain text is never written or printed. Keys shorter
 *   than duckserve's custom-key minimum are accepted with a warning; keys no request could present
 *   (empty, too long, control characters, edge spaces) are refused. Expiry, creation time and the
 *   active flag are kept.
 * - grants keep their operations. Two reference rules that duckserve cannot express are handled
 *   explicitly: a per-table `can_query` granted nothing in the reference (raw SQL was checked
 *   against `*` only), so it is dropped with a warning; and a per-table row that allows less than
 *   the role's `*` row was a denial there, while duckserve's grants add up, so such a row stops the
 *   import unless `allowWidening` is given.
 * - the reference compared table names case-sensitively; two rows that name one duckserve table
 *   with different operations stop the import too.
 *
 * {@link planImport} is pure: it validates everything before anything is written.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { planImport } from "./import.ts";
 * const plan = planImport({
 *   roles: [{ name: "reader", description: null }],
 *   permissions: [{ role: "reader", table: "*", operations: ["r"] }],
 *   keys: [{ key: "short-key", role: "reader", createdAt: 0, expiresAt: null, active: true }],
 * }, { source: "auth.db" });
 * deepEqual(plan.errors, []);
 * equal(plan.records.keys.length, 1);
 * equal(plan.warnings.length, 1); // the key is shorter than 24 characters
 * ```
 * @module
 */

import { withDatabaseFile } from "../db/file.ts";
import { ALL_TABLES, type Operation, OPERATIONS } from "../permissions.ts";
import { hashKey, MAX_KEY_LENGTH, MIN_CUSTOM_KEY_LENGTH, newKeyId } from "./keys.ts";
import { displayTable, parseGrantTable } from "./policy.ts";
import {
  authFileExists,
  AuthStoreError,
  checkRoleName,
  type ImportCounts,
  type ImportRecords,
  importRecords,
  initAuthFile,
} from "./store.ts";

/** The contents of a reference auth database. */
export interface ReferenceAuth {
  roles: { name: string; description: string | null }[];
  permissions: { role: string; table: string; operations: Operation[] }[];
  /** Plain-text keys; times in epoch ms (the reference's naive timestamps read as UTC). */
  keys: {
    key: string;
    role: string;
    createdAt: number | null;
    expiresAt: number | null;
    active: boolean;
  }[];
}

/** Options of {@link planImport}. */
export interface PlanOptions {
  /** Shown in the imported keys' description. */
  source: string;
  /** Import per-table denials as the wider grants duckserve will make of them. */
  allowWidening?: boolean;
}

/** What an import will write, and what it found on the way. */
export interface ImportPlan {
  records: ImportRecords;
  /** Imported with a caveat (short keys, dropped dead grants, ...). */
  warnings: string[];
  /** Stop the import: nothing is written while there is one. */
  errors: string[];
}

const FLAGS = ["can_create", "can_read", "can_update", "can_delete", "can_query"];

/** Reads a reference auth database (read-only); throws when `path` is not one. */
export async function readReferenceAuth(path: string): Promise<ReferenceAuth> {
  if (!await authFileExists(path)) throw new AuthStoreError(`${path} does not exist`);
  return await withDatabaseFile(path, { readOnly: true }, async (db) => {
    const columns = new Set(
      (await db.all(
        "SELECT table_name || '.' || column_name AS c FROM duckdb_columns() WHERE schema_name = 'main'",
      )).map((r) => String(r.c)),
    );
    if (columns.has("duckserve_meta.key")) {
      throw new AuthStoreError(`${path} is already a duckserve auth database`);
    }
    const needed = [
      ...["roles.role_name", "roles.description", "permissions.role_name"],
      ...["api_keys.key", "api_keys.role_name", "api_keys.created_at", "api_keys.expires_at"],
      ...["api_keys.is_active", "permissions.table_name"],
      ...FLAGS.map((f) => `permissions.${f}`),
    ];
    const missing = needed.filter((c) => !columns.has(c));
    if (missing.length) {
      throw new AuthStoreError(
        `${path} is not a caddy-duckdb-module auth database (no ${missing.join(", ")})`,
      );
    }
    const roles = (await db.all("SELECT role_name, description FROM roles ORDER BY role_name"))
      .map((r) => ({ name: String(r.role_name), description: text(r.description) }));
    const permissions = (await db.all(
      `SELECT role_name, table_name, ${FLAGS.join(", ")} FROM permissions
       ORDER BY role_name, table_name`,
    )).map((r) => ({
      role: String(r.role_name),
      table: String(r.table_name),
      operations: OPERATIONS.filter((_, i) => r[FLAGS[i]] === true),
    }));
    const keys = (await db.all(
      `SELECT key, role_name, coalesce(is_active, true) AS active,
         epoch_ms(created_at::TIMESTAMP)::DOUBLE AS created,
         epoch_ms(expires_at::TIMESTAMP)::DOUBLE AS expires
       FROM api_keys ORDER BY created_at, role_name`,
    )).map((r) => ({
      key: String(r.key),
      role: String(r.role_name),
      createdAt: r.created === null ? null : Number(r.created),
      expiresAt: r.expires === null ? null : Number(r.expires),
      active: Boolean(r.active),
    }));
    return { roles, permissions, keys };
  });
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Validates and converts a reference auth database's contents (see the module notes). */
export function planImport(ref: ReferenceAuth, options: PlanOptions): ImportPlan {
  const warnings: string[] = [];
  const errors: string[] = [];
  const roles = new Set(ref.roles.map((r) => r.name));
  for (const role of ref.roles) {
    try {
      checkRoleName(role.name);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  const permissions = planGrants(ref, options, warnings, errors);
  const keys: ImportRecords["keys"] = [];
  const now = Date.now();
  for (const [i, k] of ref.keys.entries()) {
    const keyId = newKeyId();
    const what = `key ${i + 1} (role ${k.role}, new key id ${keyId})`;
    if (!roles.has(k.role)) errors.push(`${what}: its role does not exist`);
    const problem = keyProblem(k.key);
    if (problem) {
      errors.push(`${what}: ${problem}, so no request could present it`);
      continue;
    }
    if (k.key.length < MIN_CUSTOM_KEY_LENGTH) {
      warnings.push(
        `${what} is only ${k.key.length} characters (duckserve asks for ${MIN_CUSTOM_KEY_LENGTH}); ` +
          `it is imported, but replace it: auth key add -r ${k.role}, then auth key remove -k ${keyId}`,
      );
    }
    keys.push({
      keyId,
      hash: hashKey(k.key),
      role: k.role,
      description: `imported from ${options.source}`,
      createdAt: k.createdAt ?? now,
      expiresAt: k.expiresAt,
      active: k.active,
    });
  }
  return { records: { roles: ref.roles, permissions, keys }, warnings, errors };
}

/** Why a key could never be presented in a header, or null. */
function keyProblem(key: string): string | null {
  if (key.length === 0) return "it is empty";
  if (key.length > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} characters`;
  if (key.trim() !== key) return "it starts or ends with white space";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(key)) return "it holds control characters";
  return null;
}

/** The grants, with the reference's dead and denying rows handled (see the module notes). */
function planGrants(
  ref: ReferenceAuth,
  options: PlanOptions,
  warnings: string[],
  errors: string[],
): ImportRecords["permissions"] {
  const out = new Map<string, { role: string; table: string; operations: Operation[] }>();
  const wild = new Map<string, Set<Operation>>();
  for (const p of ref.permissions) {
    if (p.table === ALL_TABLES) wild.set(p.role, new Set(p.operations));
  }
  for (const p of ref.permissions) {
    let table: string;
    try {
      table = parseGrantTable(p.table);
    } catch (err) {
      errors.push(`role ${p.role}: ${(err as Error).message}`);
      continue;
    }
    let ops = [...p.operations];
    if (table !== ALL_TABLES) {
      if (ops.includes("q")) {
        warnings.push(
          `role ${p.role}: query on table ${p.table} granted nothing in the reference (raw SQL ` +
            "was checked against * only); it is not imported",
        );
        ops = ops.filter((op) => op !== "q");
      }
      const denied = [...(wild.get(p.role) ?? [])].filter((op) => op !== "q" && !ops.includes(op));
      if (denied.length) {
        const message = `role ${p.role}: the row for table ${p.table} denied ${denied.join("")} ` +
          "that its * row allows; duckserve has no denials (grants add up)";
        if (options.allowWidening) {
          warnings.push(`${message}: imported anyway, the role may now do them on ${p.table}`);
        } else errors.push(`${message}; rerun with --allow-widening to accept`);
      }
    }
    const key = `${p.role}\u0000${table}`;
    const earlier = out.get(key);
    if (earlier && earlier.operations.join("") !== ops.join("")) {
      errors.push(
        `role ${p.role}: two rows name table ${displayTable(table)} (duckserve compares table ` +
          "names without case) with different operations",
      );
    }
    if (ops.length) out.set(key, { role: p.role, table, operations: ops });
  }
  for (const [role, ops] of wild) {
    if (ops.has("q") && !ops.has("r")) {
      warnings.push(
        `role ${role}: query on * without read; duckserve's raw SQL also needs the operation's ` +
          `own letter (read for SELECT): grant it with auth permission add -r ${role} -t '*' -o rq`,
      );
    }
  }
  return [...out.values()];
}

/** Options of {@link importReferenceAuth}. */
export interface ImportOptions {
  allowWidening?: boolean;
}

/** The outcome of {@link importReferenceAuth}. */
export interface ImportReport extends ImportCounts {
  /** The target store did not exist and was created (with no default roles). */
  created: boolean;
  warnings: string[];
}

/**
 * Imports the reference auth database at `from` into the duckserve store at `to` (created when
 * missing), all or nothing. Throws `AuthInputError`-like errors listing every problem found.
 */
export async function importReferenceAuth(
  from: string,
  to: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const ref = await readReferenceAuth(from);
  const plan = planImport(ref, { source: from, allowWidening: options.allowWidening });
  if (plan.errors.length) {
    throw new AuthStoreError(
      `nothing imported: ${plan.errors.length} problem(s): ${plan.errors.join("; ")}`,
    );
  }
  const created = !await authFileExists(to);
  if (created) await initAuthFile(to, { defaults: false });
  const counts = await importRecords(to, plan.records);
  return { ...counts, created, warnings: plan.warnings };
}
