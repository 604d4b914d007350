/**
 * The one typed configuration of duckserve, its defaults, and `loadConfig()`, which merges
 * (lowest to highest precedence) defaults, a configuration document (a JSON, YAML or TOML file,
 * or a document posted to the admin endpoint), environment variables and command-line flags,
 * and checks the whole result: every problem is collected, so one {@link ConfigError} lists them
 * all. Nothing else in the program reads `Deno.env`.
 *
 * Every key is one row of {@link CONFIG_KEYS} (`config_keys.ts`); README's configuration table
 * mirrors it (a test keeps the two in step). {@link changedKeys} and {@link restartKeys} tell a
 * live reload what changed and what cannot change while the server runs.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { changedKeys, loadConfig } from "./config.ts";
 * const config = await loadConfig({ env: { DUCKDB_PORT: "9000" }, flags: { threads: "2" } });
 * equal(config.port, 9000);
 * equal(config.threads, 2);
 * const next = await loadConfig({ env: {}, document: { port: 9001, threads: 2 } });
 * deepEqual(changedKeys(config, next), ["port"]);
 * ```
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { parseKindValue } from "./config_kinds.ts";
import { catalogNameOf, reservedCatalogClash } from "./catalog_name.ts";
import { describeDatabases, finishDatabases } from "./config_databases.ts";
import { ConfigDocumentError, readConfigDocument } from "./config_file.ts";
import { type Config, CONFIG_KEYS, type ConfigKey } from "./config_keys.ts";
import { finishNetConfig } from "./config_net.ts";
import { finishOpsConfig } from "./config_ops.ts";
import { formatDuration } from "./units.ts";

export { type Config, CONFIG_KEYS, type ConfigKey, type LogLevel } from "./config_keys.ts";

/**
 * A configuration that cannot be used. `problems` lists every problem, each one line naming key,
 * value, source and rule; the message is those lines.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("\n"));
    this.problems = list;
  }
}

/** Where configuration comes from. */
export interface ConfigSources {
  /** A JSON, YAML or TOML file of `key: value` pairs (by extension). */
  file?: string;
  /** A document already parsed (the admin endpoint's body); used instead of `file`. */
  document?: Record<string, unknown>;
  /** Environment variables; defaults to the process environment. */
  env?: Record<string, string>;
  /** Command-line flag values by key (`database_path`) or flag name (`database-path`). */
  flags?: Record<string, string | boolean | undefined>;
  /** Base for relative paths; defaults to the working directory. */
  cwd?: string;
}

const BY_KEY = new Map<string, ConfigKey>(CONFIG_KEYS.map((k) => [k.key, k]));

/**
 * Builds the effective {@link Config}: defaults, then the document, then the environment, then
 * flags. Throws {@link ConfigError} listing every invalid value and every broken rule.
 */
export async function loadConfig(sources: ConfigSources = {}): Promise<Config> {
  const config = Object.fromEntries(CONFIG_KEYS.map((k) => [k.key, k.default])) as Record<
    string,
    unknown
  >;
  const problems: string[] = [];
  const set = (spec: ConfigKey, value: unknown, source: string) => {
    const parsed = parseKindValue(spec, value);
    if (parsed.ok) config[spec.key] = parsed.value;
    else {
      problems.push(
        `invalid ${spec.key} = ${
          JSON.stringify(value)
        } (from ${source}): expected ${parsed.expected}`,
      );
    }
  };
  const { document, source } = await documentOf(sources);
  for (const [key, value] of Object.entries(document)) {
    const spec = BY_KEY.get(key);
    if (spec) set(spec, value, source);
    else problems.push(`unknown config key "${key}" in ${source}`);
  }
  const env = sources.env ?? Deno.env.toObject();
  for (const spec of CONFIG_KEYS) {
    const value = env[spec.env];
    if (value !== undefined && value !== "") set(spec, value, spec.env);
  }
  for (const [name, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    const spec = CONFIG_KEYS.find((k) => k.key === name || k.flag === name);
    if (spec) set(spec, value, `--${spec.flag}`);
    else problems.push(`unknown option --${name}`);
  }
  finish(config as unknown as Config, sources.cwd ?? Deno.cwd(), (line) => problems.push(line));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as unknown as Config;
}

/** The document layer and how problems name it. */
async function documentOf(
  sources: ConfigSources,
): Promise<{ document: Record<string, unknown>; source: string }> {
  if (sources.document) return { document: sources.document, source: "the document" };
  if (!sources.file) return { document: {}, source: "" };
  try {
    return { document: await readConfigDocument(sources.file), source: sources.file };
  } catch (err) {
    if (err instanceof ConfigDocumentError) throw new ConfigError(err.message);
    throw err;
  }
}

/** Normalizes paths and prefixes and checks every cross-key rule; `report` gets each problem. */
function finish(config: Config, cwd: string, report: (line: string) => void): void {
  const prefix = "/" + config.route_prefix.replace(/^\/+|\/+$/g, "");
  if (!/^(\/[A-Za-z0-9._~-]+)*\/?$/.test(prefix)) {
    report(
      `invalid route_prefix = ${
        JSON.stringify(config.route_prefix)
      }: expected path segments of letters, digits and . _ ~ -`,
    );
  } else config.route_prefix = prefix === "/" ? "" : prefix;
  config.streams_prefix = finishStreamsPrefix(config.streams_prefix, config.route_prefix, report);
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  if (config.database_path !== ":memory:") config.database_path = absolute(config.database_path);
  config.auth_database_path = absolute(config.auth_database_path);
  if (config.admin_key_file) config.admin_key_file = absolute(config.admin_key_file);
  config.streams_dir = absolute(config.streams_dir);
  if (config.temp_directory) config.temp_directory = absolute(config.temp_directory);
  config.allowed_directories = config.allowed_directories.map(absolute);
  if (config.extension_directory) {
    config.extension_directory = absolute(config.extension_directory);
  }
  finishNetConfig(config, cwd, report);
  finishOpsConfig(config, cwd, report);
  checkCatalogName(config.database_path, report);
  checkAllowedDirectories(config, report);
  checkExtensions(config, report);
  config.databases = finishDatabases(
    config.databases,
    {
      mainCatalog: catalogNameOf(config.database_path),
      database_path: config.database_path,
      auth_database_path: config.auth_database_path,
      open: [
        ...config.allowed_directories,
        ...(config.temp_directory ? [config.temp_directory] : []),
      ],
    },
    cwd,
    report,
  );
  if (config.access_mode === "read_only" && config.database_path === ":memory:") {
    report(
      'invalid access_mode = "read_only": an in-memory database cannot be read-only; set database_path',
    );
  }
}

/**
 * User SQL may read and write anywhere below `allowed_directories`, so none of them may hold the
 * main database file (a `COPY … TO` would overwrite it), the auth database or the streams
 * directory (or lie inside the latter): auth and stream data are never reachable from user SQL.
 */
function checkAllowedDirectories(config: Config, report: (line: string) => void): void {
  // `dir` has no trailing slash, so the root is "" and holds every absolute path.
  const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
  const durableStreams = config.streams && config.streams_storage === "dir";
  const streams = config.streams_dir.replace(/\/+$/, "");
  // The scratch directory (temp_directory) is open to user SQL too, for exports.
  const open = config.allowed_directories.map((d) => ["allowed_directories", d]);
  if (config.temp_directory) open.push(["temp_directory", config.temp_directory]);
  for (const [key, raw] of open) {
    const dir = raw.replace(/\/+$/, "");
    const reach = (what: string) =>
      `invalid ${key} = ${JSON.stringify(raw)}: it would let user SQL reach ` +
      `${what}; choose directories apart from it`;
    // The most sensitive first: the auth database, then stream storage, then the database file.
    if (config.auth_enabled && inside(config.auth_database_path, dir)) {
      report(reach(`the auth database (auth_database_path ${config.auth_database_path})`));
    } else if (config.auth_enabled && config.admin_key_file && inside(config.admin_key_file, dir)) {
      report(reach(`the admin key file (admin_key_file ${config.admin_key_file})`));
    } else if (durableStreams && (inside(streams, dir) || inside(dir, streams))) {
      report(reach(`stream storage (streams_dir ${config.streams_dir})`));
    } else if (config.database_path !== ":memory:" && inside(config.database_path, dir)) {
      // COPY … TO the database file itself would overwrite it.
      report(reach(`the database file itself (database_path ${config.database_path})`));
    }
  }
}

/**
 * `extensions` are bare names (`LOAD {name}` looks them up in `extension_directory`; a path
 * would bypass it). User SQL may not write where extensions are loaded from: an
 * `allowed_directories` entry or `temp_directory` overlapping `extension_directory` is refused
 * (DuckDB refuses unsigned files anyway; this keeps the directory out of reach altogether).
 */
function checkExtensions(config: Config, report: (line: string) => void): void {
  for (const name of config.extensions) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
      report(
        `invalid extensions entry ${JSON.stringify(name)}: expected an extension name ` +
          "(letters, digits, _) such as ducklake, httpfs or postgres, not a path",
      );
    }
  }
  if (!config.extension_directory) return;
  const ext = config.extension_directory.replace(/\/+$/, "");
  const overlap = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
  const open = config.allowed_directories.map((d) => ["allowed_directories", d]);
  if (config.temp_directory) open.push(["temp_directory", config.temp_directory]);
  for (const [key, raw] of open) {
    const dir = raw.replace(/\/+$/, "");
    if (overlap(ext, dir) || overlap(dir, ext)) {
      report(
        `invalid ${key} = ${JSON.stringify(raw)}: it would let user SQL write where ` +
          `extensions are loaded from (extension_directory ${config.extension_directory}); ` +
          "choose directories apart from it",
      );
    }
  }
}

/**
 * DuckDB names the catalog after the file name up to its first dot. It renames `main`, `temp` and
 * `system` itself, but the same names in another case (`Main.db`) make every statement ambiguous or
 * crash the engine, so they are refused here with a clear line instead.
 */
function checkCatalogName(path: string, report: (line: string) => void): void {
  const clash = reservedCatalogClash(path);
  if (!clash) return;
  const { name, reserved } = clash;
  report(
    `invalid database_path = ${JSON.stringify(path)}: DuckDB names the catalog "${name}", ` +
      `which clashes with its reserved "${reserved}"; rename the file (e.g. ${reserved}.duckdb or data.duckdb)`,
  );
}

/**
 * Normalizes `streams_prefix` (`/v1/stream`, no trailing slash). It must not be the root and must
 * not contain the route prefix's own endpoints (streams are routed before them).
 */
function finishStreamsPrefix(
  value: string,
  routePrefix: string,
  report: (line: string) => void,
): string {
  const prefix = "/" + value.replace(/^\/+|\/+$/g, "");
  const fail = (rule: string) =>
    report(`invalid streams_prefix = ${JSON.stringify(value)}: ${rule}`);
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    fail("expected one or more path segments of letters, digits and . _ ~ -");
  } else if (prefix === routePrefix || routePrefix.startsWith(`${prefix}/`)) {
    fail(`it would hide the endpoints under route_prefix ${JSON.stringify(routePrefix)}`);
  }
  return prefix;
}

/**
 * The configuration as printed by `serve --print-config`, `duckserve config` and
 * `GET {prefix}/admin/config`: durations and sizes as text. No key holds a secret (API keys live
 * hashed in the auth database; TLS keys and the first admin key are files named by path; secret
 * `databases` options are shown redacted).
 */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    CONFIG_KEYS.map((spec) => {
      const value = config[spec.key];
      if (spec.kind === "duration") return [spec.key, formatDuration(value as number)];
      if (spec.key === "route_prefix") return [spec.key, value === "" ? "/" : value];
      if (spec.key === "databases") return [spec.key, describeDatabases(config.databases)];
      return [spec.key, value];
    }),
  );
}

/** The keys whose effective values differ between `before` and `after`, in table order. */
export function changedKeys(before: Config, after: Config): string[] {
  return CONFIG_KEYS.filter((spec) =>
    JSON.stringify(before[spec.key]) !== JSON.stringify(after[spec.key])
  ).map((spec) => spec.key);
}

/** Which of `keys` cannot change while the server runs. */
export function restartKeys(keys: readonly string[]): string[] {
  return keys.filter((key) => BY_KEY.get(key)?.restart === true);
}
