/**
 * The `databases` key: more databases attached under their own names beside the main one
 * (DuckDB `ATTACH`), each `{path, access_mode, options, hosts, rate_limit}`. In a configuration
 * document it is a mapping; in the environment (`DUCKDB_DATABASES`) and on the command line
 * (`--databases`) it is the same mapping written as JSON. `lib/config.ts` calls
 * {@link finishDatabases}, which checks every entry and normalizes it into a
 * {@link DatabaseSpec}; `POST {prefix}/admin/databases` checks an entry with {@link checkDatabase}.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { attachTarget, checkDatabase } from "./config_databases.ts";
 * const problems: string[] = [];
 * const spec = checkDatabase("sales", { path: "sales.duckdb" }, "/srv", (p) => problems.push(p));
 * deepEqual(problems, []);
 * equal(spec?.path, "/srv/sales.duckdb");
 * equal(attachTarget("md:my_db"), true);
 * equal(attachTarget("/srv/a.duckdb"), false);
 * ```
 * @module
 */

import { resolve } from "node:path";
import { parseRate } from "./units.ts";

/** One attached database, normalized. */
export interface DatabaseSpec {
  /** An absolute file path, `:memory:`, or a DuckDB attach string (`ducklake:…`, `md:…`). */
  path: string;
  access_mode: "read_write" | "read_only";
  /** Extra `ATTACH` options passed through (`TYPE`, `DATA_PATH`, …), name → value. */
  options: Record<string, string | number | boolean>;
  /** `Host` names whose requests see this database as their default catalog (lower case). */
  hosts: string[];
  /** The tenant's own rate limit per client address (`50/s`), or null. */
  rate_limit: string | null;
}

/** The `databases` map: catalog name → entry. */
export type DatabaseMap = Record<string, DatabaseSpec>;

/** Names DuckDB keeps for itself, or that the server uses for the main catalog. */
const RESERVED = ["main", "temp", "system", "memory", "information_schema", "pg_catalog"];

const ENTRY_KEYS = new Set(["path", "access_mode", "options", "hosts", "rate_limit"]);

/** True when `path` is a DuckDB attach string (`ducklake:…`, `md:…`) rather than a file. */
export function attachTarget(path: string): boolean {
  return path !== ":memory:" && /^[A-Za-z][A-Za-z0-9_]+:/.test(path);
}

/** A database name the configuration accepts: a plain identifier, not a reserved name. */
export function databaseNameProblem(name: string, mainCatalog: string): string | null {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return "expected a name of letters, digits and _ (not starting with a digit)";
  }
  const folded = name.toLowerCase();
  if (RESERVED.includes(folded)) return `"${folded}" is reserved by DuckDB`;
  if (folded.startsWith("__ducklake_metadata_")) return "DuckLake keeps its metadata under it";
  if (folded === mainCatalog.toLowerCase()) return "it is the main database's catalog name";
  return null;
}

/**
 * Checks one entry named `name` (`value` as written) and returns it normalized, or null after
 * reporting each problem (one line each, naming `databases.<name>`).
 */
export function checkDatabase(
  name: string,
  value: unknown,
  cwd: string,
  report: (line: string) => void,
): DatabaseSpec | null {
  const at = `databases.${name}`;
  const entry = typeof value === "string" ? { path: value } : value;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    report(`invalid ${at}: expected {path, access_mode?, options?, hosts?, rate_limit?}`);
    return null;
  }
  const raw = entry as Record<string, unknown>;
  let ok = true;
  const fail = (line: string) => {
    ok = false;
    report(`invalid ${at}${line}`);
  };
  for (const key of Object.keys(raw)) {
    if (!ENTRY_KEYS.has(key)) fail(`: unknown key "${key}"`);
  }
  const path = raw.path;
  if (typeof path !== "string" || path === "") fail(".path: expected a file path or attach string");
  const mode = raw.access_mode ?? "read_write";
  if (mode !== "read_write" && mode !== "read_only") {
    fail(".access_mode: expected read_write or read_only");
  }
  if (path === ":memory:" && mode === "read_only") {
    fail(".access_mode: an in-memory database cannot be read-only");
  }
  const options = checkOptions(raw.options, fail);
  const hosts = raw.hosts ?? [];
  if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== "string" || !/^[^\s/:]+$/.test(h))) {
    fail(".hosts: expected a list of host names");
  }
  const rate = raw.rate_limit ?? null;
  if (rate !== null && parseRate(rate) === null) {
    fail(".rate_limit: expected a rate such as 50/s, 600/m or 3600/h");
  }
  if (!ok) return null;
  const text = path as string;
  const file = text !== ":memory:" && !attachTarget(text);
  return {
    // `resolve` also normalizes an absolute path (`/a/../b` is `/b`) before it is compared.
    path: file ? resolve(cwd, text) : text,
    access_mode: mode as DatabaseSpec["access_mode"],
    options,
    hosts: (hosts as string[]).map((h) => h.toLowerCase()),
    rate_limit: rate === null ? null : String(rate).replace(/\s+/g, ""),
  };
}

function checkOptions(
  value: unknown,
  fail: (line: string) => void,
): Record<string, string | number | boolean> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(".options: expected a mapping of ATTACH option names to values");
    return {};
  }
  const options: Record<string, string | number | boolean> = {};
  for (const [key, option] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(`.options: invalid option name "${key}"`);
    else if (!["string", "number", "boolean"].includes(typeof option)) {
      fail(`.options.${key}: expected a string, number or boolean`);
    } else if (key.toLowerCase() === "read_only" || key.toLowerCase() === "access_mode") {
      fail(`.options.${key}: use access_mode`);
    } else options[key] = option as string | number | boolean;
  }
  return options;
}

const SECRET_NAME = /token|secret|password|passwd|credential|key/i;

/**
 * The `databases` map as printed (`duckserve config`, `GET {prefix}/admin/config`,
 * `GET {prefix}/admin/databases`): option values whose names look secret (`TOKEN`, `PASSWORD`,
 * `SECRET`, `KEY`, …) and such parameters of an attach string (`md:db?motherduck_token=…`) show
 * `REDACTED`.
 */
export function describeDatabases(
  databases: ReadonlyMap<string, DatabaseSpec> | DatabaseMap,
): Record<string, DatabaseSpec> {
  const entries = databases instanceof Map ? [...databases] : Object.entries(databases);
  return Object.fromEntries(entries.map(([name, spec]) => [name, {
    ...spec,
    path: spec.path.replace(
      /([?&;][^=&;]*(?:token|secret|password|key)[^=&;]*=)[^&;]*/gi,
      "$1REDACTED",
    ),
    options: Object.fromEntries(
      Object.entries(spec.options).map(([k, v]) => [k, SECRET_NAME.test(k) ? "REDACTED" : v]),
    ),
  }]));
}

/** The files and directories the configuration keeps apart from attached database files. */
export interface ProtectedPaths {
  mainCatalog: string;
  database_path: string;
  auth_database_path: string;
  /** Directories user SQL may reach (`allowed_directories`, `temp_directory`). */
  open: string[];
}

/**
 * Checks the whole `databases` map (already parsed as a mapping): every entry, unique names and
 * paths and hosts, and no file inside a directory user SQL may reach. Returns the normalized map.
 */
export function finishDatabases(
  value: Record<string, unknown>,
  paths: ProtectedPaths,
  cwd: string,
  report: (line: string) => void,
): DatabaseMap {
  const result: DatabaseMap = {};
  const names = new Set<string>();
  const files = new Map<string, string>();
  const hosts = new Map<string, string>();
  for (const [name, entry] of Object.entries(value)) {
    const problem = databaseNameProblem(name, paths.mainCatalog);
    if (problem) {
      report(`invalid databases.${name}: ${problem}`);
      continue;
    }
    if (names.has(name.toLowerCase())) {
      report(`invalid databases.${name}: another entry has this name in another case`);
      continue;
    }
    names.add(name.toLowerCase());
    const spec = checkDatabase(name, entry, cwd, report);
    if (!spec) continue;
    const twice = files.has(spec.path) && spec.path !== ":memory:";
    const clash = pathProblem(spec.path, paths) ??
      (twice ? `databases.${files.get(spec.path)} attaches it already` : null);
    if (clash) report(`invalid databases.${name}.path = ${JSON.stringify(spec.path)}: ${clash}`);
    files.set(spec.path, name);
    for (const host of spec.hosts) {
      if (hosts.has(host)) {
        report(`invalid databases.${name}.hosts: ${host} is also a host of ${hosts.get(host)}`);
      }
      hosts.set(host, name);
    }
    result[name] = spec;
  }
  return result;
}

/** Why a database file may not be attached at `path` (or null): see {@link ProtectedPaths}. */
export function pathProblem(path: string, paths: ProtectedPaths): string | null {
  if (path === ":memory:" || attachTarget(path)) return null;
  if (path === paths.database_path) return "it is the main database (database_path)";
  if (path === paths.auth_database_path) return "it is the auth database";
  for (const raw of paths.open) {
    const dir = raw.replace(/\/+$/, "");
    if (path === dir || path.startsWith(`${dir}/`)) {
      return `it lies in ${dir}, which user SQL may reach (allowed_directories or temp_directory)`;
    }
  }
  return null;
}
