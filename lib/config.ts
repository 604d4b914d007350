/**
 * The one typed configuration of duckserve, its defaults, and `loadConfig()`, which merges
 * (lowest to highest precedence) defaults, a JSON file, environment variables and command-line
 * flags. Nothing else in the program reads `Deno.env`.
 *
 * Every key is one row of {@link CONFIG_KEYS}; README's configuration table mirrors it (a test
 * keeps the two in step).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 * const config = await loadConfig({ env: { DUCKDB_PORT: "9000" }, flags: { threads: "2" } });
 * equal(config.port, 9000);
 * equal(config.threads, 2);
 * ```
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { type Kind, type KindRule, parseKindValue } from "./config_kinds.ts";
import { reservedCatalogClash } from "./catalog_name.ts";
import { finishNetConfig, NET_KEYS, type NetConfig } from "./config_net.ts";
import { formatDuration } from "./units.ts";

/** The effective configuration: the reference's option names, listener keys in {@link NetConfig}. */
export interface Config extends NetConfig {
  host: string;
  port: number;
  route_prefix: string;
  database_path: string;
  auth_database_path: string;
  admin_key_file: string | null;
  auth_enabled: boolean;
  auth_failure_limit: number;
  auth_failure_window: number;
  query_timeout: number;
  max_rows_per_page: number;
  absolute_max_rows: number;
  max_export_rows: number;
  json_big_numbers: "number" | "string";
  compression: boolean;
  compression_min_size: number;
  read_cache_size: number;
  read_cache_max_entry: number;
  threads: number;
  access_mode: "read_write" | "read_only";
  memory_limit: string | null;
  enable_object_cache: boolean;
  temp_directory: string | null;
  allowed_directories: string[];
  max_body_size: number;
  max_upload_size: number;
  log_level: LogLevel;
  shutdown_grace: number;
  streams: boolean;
  streams_prefix: string;
  streams_storage: "memory" | "dir";
  streams_dir: string;
  streams_auth: "keys" | "none";
  long_poll_timeout: number;
  sse_reconnect_interval: number;
  change_feeds: boolean;
}

/** Log verbosity, lowest to highest. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** One configuration key: its type, default, sources and README description. */
export interface ConfigKey extends KindRule {
  key: keyof Config;
  default: Config[keyof Config];
  /** Environment variable (reference names where the reference had one). */
  env: string;
  /** Long command-line flag, without the leading `--`. */
  flag: string;
  description: string;
}

/** Every configuration key, in README order. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  row("host", "string", "0.0.0.0", "Address to listen on."),
  row("port", "int", 8080, "TCP port to listen on; `0` picks a free port.", { min: 0, max: 65535 }),
  row("route_prefix", "string", "/duckdb", "Path prefix of every endpoint (`/` for none)."),
  ...NET_KEYS,
  row(
    "database_path",
    "path",
    "data/main.duckdb",
    "Main database file (relative paths are resolved against the working directory; its " +
      "directory is created), or `:memory:` for a database lost at exit. Names like `Main.db` " +
      "that DuckDB cannot use as a catalog are refused.",
  ),
  row(
    "auth_database_path",
    "path",
    "data/auth.duckdb",
    "Auth database file (relative paths are resolved against the working directory). " +
      "Created with default roles and one printed admin key when missing.",
  ),
  row(
    "admin_key_file",
    "path",
    null,
    "When the first start creates the auth database, write its admin key to this file " +
      "(created with mode `0600`) instead of stderr, and log only where it is (container logs " +
      "keep stderr). May not lie in `allowed_directories`.",
    { nullable: true },
  ),
  row(
    "auth_enabled",
    "bool",
    true,
    "Require API keys. `false` serves every endpoint without a key (for local experiments only).",
  ),
  row(
    "auth_failure_limit",
    "int",
    20,
    "Failed authentications one client address may make per `auth_failure_window` before " +
      "its requests get 429; `0` disables the limit.",
    { min: 0 },
  ),
  row(
    "auth_failure_window",
    "duration",
    60_000,
    "Window of `auth_failure_limit`; a limited address may try again when it ends.",
  ),
  row("query_timeout", "duration", 10_000, "Longest a statement may run before it is interrupted."),
  row(
    "max_rows_per_page",
    "int",
    100,
    "Default and largest page size of paginated reads.",
    { min: 1 },
  ),
  row(
    "absolute_max_rows",
    "int",
    10_000,
    "Most rows an unpaginated read returns; `0` disables the cap.",
    { min: 0 },
  ),
  row(
    "max_export_rows",
    "int",
    0,
    "Most rows an export returns (CSV, NDJSON, Parquet, Arrow, or any format with " +
      "`download=1`) instead of `absolute_max_rows`; `0` means unlimited.",
    { min: 0 },
  ),
  row(
    "json_big_numbers",
    "enum",
    "number",
    "How JSON writes BIGINT, UBIGINT, HUGEINT, UHUGEINT and DECIMAL: exact `number`s, or " +
      "`string`s for JavaScript clients (per request: `big_numbers=`).",
    { values: ["number", "string"] },
  ),
  row(
    "compression",
    "bool",
    true,
    "Compress row responses (zstd, br, gzip) when the client accepts it; never Parquet.",
  ),
  row("compression_min_size", "size", 1024, "Smallest row response body that is compressed."),
  row(
    "read_cache_size",
    "size",
    64 * 1024 * 1024,
    "Memory for cached read answers (`GET /api/{table}` of tables, deterministic raw " +
      "SELECTs); every write the server performs invalidates them. `0` turns the cache off.",
  ),
  row(
    "read_cache_max_entry",
    "size",
    1024 * 1024,
    "Largest single answer the read cache keeps.",
  ),
  row("threads", "int", 4, "DuckDB worker threads; also sizes the connection pool.", {
    min: 1,
    max: 1024,
  }),
  row(
    "access_mode",
    "enum",
    "read_write",
    "`read_only` opens the main database read-only and refuses writes with 403.",
    { values: ["read_write", "read_only"] },
  ),
  row(
    "memory_limit",
    "memory",
    null,
    "DuckDB memory limit such as `4GB` or `512MB` (DuckDB's default: 80% of RAM).",
    { nullable: true },
  ),
  row("enable_object_cache", "bool", false, "Enable DuckDB's object cache."),
  row(
    "temp_directory",
    "path",
    null,
    "Directory for DuckDB spill files and export scratch space (default: a private " +
      "directory under the system temp directory, removed at exit). User SQL may use it, so it " +
      "may not hold the database file, the auth database or stream storage.",
    { nullable: true },
  ),
  row(
    "allowed_directories",
    "list",
    [],
    "Directories user SQL may read and write (comma-separated in the environment and flags). " +
      "Everything else on the file system is out of reach. Directories holding the database " +
      "file, the auth database, stream storage or ACME certificates are refused.",
  ),
  row(
    "max_body_size",
    "size",
    10 * 1024 * 1024,
    "Largest request body accepted, such as `10MB`; larger bodies get 413.",
  ),
  row("max_upload_size", "size", 1024 ** 3, "Largest CSV, NDJSON or Parquet body; more gets 413."),
  row(
    "log_level",
    "enum",
    "info",
    "Structured log verbosity on stderr.",
    { values: ["debug", "info", "warn", "error", "silent"] },
  ),
  row(
    "shutdown_grace",
    "duration",
    10_000,
    "On SIGINT/SIGTERM, how long in-flight requests may still run before their statements are " +
      "interrupted (`0` interrupts at once).",
  ),
  row("streams", "bool", true, "Serve Durable Streams at `streams_prefix`."),
  row(
    "streams_prefix",
    "string",
    "/v1/stream",
    "Path of the streams endpoint, at the server root (not under `route_prefix`).",
  ),
  row(
    "streams_storage",
    "enum",
    "dir",
    "`dir`: durable, crash-safe log files under `streams_dir`; `memory`: lost at exit " +
      "(`deno task dev` uses it).",
    { values: ["dir", "memory"] },
  ),
  row(
    "streams_dir",
    "path",
    "data/streams",
    "Directory of durable stream storage (relative paths are resolved against the working " +
      "directory). Never reachable from user SQL.",
  ),
  row(
    "streams_auth",
    "enum",
    "keys",
    "`keys`: streams need an API key with grants on `stream:<name>`; `none`: open, like the " +
      "reference plugin.",
    { values: ["keys", "none"] },
  ),
  row(
    "long_poll_timeout",
    "duration",
    30_000,
    "How long a `live=long-poll` read waits for data before answering 204.",
  ),
  row(
    "sse_reconnect_interval",
    "duration",
    60_000,
    "How long a `live=sse` response stays open before the server ends it (clients reconnect).",
  ),
  row(
    "change_feeds",
    "bool",
    true,
    "Append an event to `{streams_prefix}/_changes/{table}` for every committed write.",
  ),
];

function row(
  key: keyof Config,
  kind: Kind,
  defaultValue: Config[keyof Config],
  description: string,
  extra: Partial<ConfigKey> = {},
): ConfigKey {
  return {
    key,
    kind,
    default: defaultValue,
    env: `DUCKDB_${key.toUpperCase()}`,
    flag: key.replaceAll("_", "-"),
    description,
    ...extra,
  };
}

/** A configuration value that cannot be used; its message is one line naming key, value, rule. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Where configuration comes from. */
export interface ConfigSources {
  /** A JSON file of `{ key: value }`. */
  file?: string;
  /** Environment variables; defaults to the process environment. */
  env?: Record<string, string>;
  /** Command-line flag values by key (`database_path`) or flag name (`database-path`). */
  flags?: Record<string, string | boolean | undefined>;
  /** Base for relative paths; defaults to the working directory. */
  cwd?: string;
}

/**
 * Builds the effective {@link Config}: defaults, then the file, then the environment, then flags.
 * Throws {@link ConfigError} with one clear line on the first invalid value.
 */
export async function loadConfig(sources: ConfigSources = {}): Promise<Config> {
  const config = Object.fromEntries(CONFIG_KEYS.map((k) => [k.key, k.default])) as Record<
    string,
    unknown
  >;
  if (sources.file) {
    for (const [key, value] of Object.entries(await readConfigFile(sources.file))) {
      const spec = CONFIG_KEYS.find((k) => k.key === key);
      if (!spec) {
        throw new ConfigError(`unknown config key "${key}" in ${sources.file}`);
      }
      config[key] = parseValue(spec, value, `${sources.file}`);
    }
  }
  const env = sources.env ?? Deno.env.toObject();
  for (const spec of CONFIG_KEYS) {
    const value = env[spec.env];
    if (value !== undefined && value !== "") config[spec.key] = parseValue(spec, value, spec.env);
  }
  for (const [name, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    const spec = CONFIG_KEYS.find((k) => k.key === name || k.flag === name);
    if (!spec) throw new ConfigError(`unknown option --${name}`);
    config[spec.key] = parseValue(spec, value, `--${spec.flag}`);
  }
  return finish(config as unknown as Config, sources.cwd ?? Deno.cwd());
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of key: value`);
  }
  return parsed as Record<string, unknown>;
}

function fail(spec: ConfigKey, value: unknown, source: string, rule: string): never {
  throw new ConfigError(
    `invalid ${spec.key} = ${JSON.stringify(value)} (from ${source}): expected ${rule}`,
  );
}

/** Parses one raw value (string from env/flags, or JSON value from the file) for a key. */
function parseValue(spec: ConfigKey, value: unknown, source: string): unknown {
  const parsed = parseKindValue(spec, value);
  if (!parsed.ok) fail(spec, value, source, parsed.expected);
  return parsed.value;
}

function finish(config: Config, cwd: string): Config {
  const prefix = "/" + config.route_prefix.replace(/^\/+|\/+$/g, "");
  if (!/^(\/[A-Za-z0-9._~-]+)*\/?$/.test(prefix)) {
    throw new ConfigError(
      `invalid route_prefix = ${
        JSON.stringify(config.route_prefix)
      }: expected path segments of letters, digits and . _ ~ -`,
    );
  }
  config.route_prefix = prefix === "/" ? "" : prefix;
  config.streams_prefix = finishStreamsPrefix(config.streams_prefix, config.route_prefix);
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  if (config.database_path !== ":memory:") config.database_path = absolute(config.database_path);
  config.auth_database_path = absolute(config.auth_database_path);
  if (config.admin_key_file) config.admin_key_file = absolute(config.admin_key_file);
  config.streams_dir = absolute(config.streams_dir);
  if (config.temp_directory) config.temp_directory = absolute(config.temp_directory);
  config.allowed_directories = config.allowed_directories.map(absolute);
  finishNetConfig(config, cwd, ConfigError);
  checkCatalogName(config.database_path);
  checkAllowedDirectories(config);
  if (config.access_mode === "read_only" && config.database_path === ":memory:") {
    throw new ConfigError(
      'invalid access_mode = "read_only": an in-memory database cannot be read-only; set database_path',
    );
  }
  return Object.freeze(config) as Config;
}

/**
 * User SQL may read and write anywhere below `allowed_directories`, so none of them may hold the
 * main database file (a `COPY … TO` would overwrite it), the auth database or the streams
 * directory (or lie inside the latter): auth and stream data are never reachable from user SQL.
 */
function checkAllowedDirectories(config: Config): void {
  // `dir` has no trailing slash, so the root is "" and holds every absolute path.
  const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
  const durableStreams = config.streams && config.streams_storage === "dir";
  const streams = config.streams_dir.replace(/\/+$/, "");
  // The scratch directory (temp_directory) is open to user SQL too, for exports.
  const open = config.allowed_directories.map((d) => ["allowed_directories", d]);
  if (config.temp_directory) open.push(["temp_directory", config.temp_directory]);
  for (const [key, raw] of open) {
    const dir = raw.replace(/\/+$/, "");
    const fail = (what: string) => {
      throw new ConfigError(
        `invalid ${key} = ${JSON.stringify(raw)}: it would let user SQL reach ` +
          `${what}; choose directories apart from it`,
      );
    };
    // The most sensitive first: the auth database, then stream storage, then the database file.
    if (config.auth_enabled && inside(config.auth_database_path, dir)) {
      fail(`the auth database (auth_database_path ${config.auth_database_path})`);
    }
    if (config.auth_enabled && config.admin_key_file && inside(config.admin_key_file, dir)) {
      fail(`the admin key file (admin_key_file ${config.admin_key_file})`);
    }
    if (durableStreams && (inside(streams, dir) || inside(dir, streams))) {
      fail(`stream storage (streams_dir ${config.streams_dir})`);
    }
    if (config.database_path !== ":memory:" && inside(config.database_path, dir)) {
      // COPY … TO the database file itself would overwrite it.
      fail(`the database file itself (database_path ${config.database_path})`);
    }
  }
}

/**
 * DuckDB names the catalog after the file name up to its first dot. It renames `main`, `temp` and
 * `system` itself, but the same names in another case (`Main.db`) make every statement ambiguous or
 * crash the engine, so they are refused here with a clear line instead.
 */
function checkCatalogName(path: string): void {
  const clash = reservedCatalogClash(path);
  if (!clash) return;
  const { name, reserved } = clash;
  throw new ConfigError(
    `invalid database_path = ${JSON.stringify(path)}: DuckDB names the catalog "${name}", ` +
      `which clashes with its reserved "${reserved}"; rename the file (e.g. ${reserved}.duckdb or data.duckdb)`,
  );
}

/**
 * Normalizes `streams_prefix` (`/v1/stream`, no trailing slash). It must not be the root and must
 * not contain the route prefix's own endpoints (streams are routed before them).
 */
function finishStreamsPrefix(value: string, routePrefix: string): string {
  const prefix = "/" + value.replace(/^\/+|\/+$/g, "");
  const fail = (rule: string) => {
    throw new ConfigError(`invalid streams_prefix = ${JSON.stringify(value)}: ${rule}`);
  };
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    fail("expected one or more path segments of letters, digits and . _ ~ -");
  }
  if (prefix === routePrefix || routePrefix.startsWith(`${prefix}/`)) {
    fail(`it would hide the endpoints under route_prefix ${JSON.stringify(routePrefix)}`);
  }
  return prefix;
}

/** The configuration as printed by `serve --print-config`: durations and sizes as text. */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    CONFIG_KEYS.map((spec) => {
      const value = config[spec.key];
      if (spec.kind === "duration") return [spec.key, formatDuration(value as number)];
      if (spec.key === "route_prefix") return [spec.key, value === "" ? "/" : value];
      return [spec.key, value];
    }),
  );
}
