/**
 * The configuration's keys: the one typed {@link Config} and {@link CONFIG_KEYS}, its key table
 * (type, default, environment variable, flag, description, and whether a change needs a
 * restart), with the listener keys (`config_net.ts`) and the operations keys (`config_ops.ts`)
 * spliced in. README's configuration table mirrors the table (a test keeps the two in step);
 * `lib/config.ts` loads and checks values against it.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { CONFIG_KEYS } from "./config_keys.ts";
 * equal(CONFIG_KEYS.find((k) => k.key === "database_path")?.restart, true);
 * equal(CONFIG_KEYS.find((k) => k.key === "query_timeout")?.restart, undefined);
 * ```
 * @module
 */

import type { DatabaseMap } from "./config_databases.ts";
import { type KeyRow, keyRow } from "./config_kinds.ts";
import { NET_KEYS, type NetConfig } from "./config_net.ts";
import { OPS_KEYS, type OpsConfig } from "./config_ops.ts";

/**
 * The effective configuration: the reference's option names, listener keys in {@link NetConfig},
 * operations keys in {@link OpsConfig}.
 */
export interface Config extends NetConfig, OpsConfig {
  host: string;
  port: number;
  route_prefix: string;
  database_path: string;
  databases: DatabaseMap;
  auth_database_path: string;
  admin_key_file: string | null;
  auth_enabled: boolean;
  auth_failure_limit: number;
  auth_failure_window: number;
  public_schema: boolean;
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
  extensions: string[];
  extension_directory: string | null;
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
export type ConfigKey = KeyRow<keyof Config & string, Config[keyof Config]>;

const row = keyRow<Config>;

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
    { restart: true },
  ),
  row(
    "databases",
    "map",
    {},
    "More databases attached beside the main one, by name: `{path, access_mode, options, " +
      "hosts, rate_limit}` (JSON in `DUCKDB_DATABASES` and `--databases`; see Several " +
      "databases). Their tables are `{db}.{table}` and `{db}.{schema}.{table}`. While serving, " +
      "`POST {prefix}/admin/databases` attaches and detaches.",
    { restart: true },
  ),
  row(
    "auth_database_path",
    "path",
    "data/auth.duckdb",
    "Auth database file (relative paths are resolved against the working directory). " +
      "Created with default roles and one printed admin key when missing.",
    { restart: true },
  ),
  row(
    "admin_key_file",
    "path",
    null,
    "When the first start creates the auth database, write its admin key to this file " +
      "(created with mode `0600`) instead of stderr, and log only where it is (container logs " +
      "keep stderr). May not lie in `allowed_directories`.",
    { nullable: true, restart: true },
  ),
  row(
    "auth_enabled",
    "bool",
    true,
    "Require API keys. `false` serves every endpoint without a key (for local experiments only).",
    { restart: true },
  ),
  row(
    "auth_failure_limit",
    "int",
    20,
    "Failed authentications one client address may make per `auth_failure_window` before " +
      "its requests get 429; `0` disables the limit.",
    { min: 0, restart: true },
  ),
  row(
    "auth_failure_window",
    "duration",
    60_000,
    "Window of `auth_failure_limit`; a limited address may try again when it ends.",
    { restart: true },
  ),
  row(
    "public_schema",
    "bool",
    false,
    "Show every table in `/openapi.json` and `/docs` to callers without a key (the " +
      "reference's behaviour). `false`: without a key they list no tables; with a key, the " +
      "tables that key may use. Without `auth_enabled` every caller sees every table.",
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
  row(
    "compression_min_size",
    "size",
    1024,
    "Smallest row response body that is compressed.",
  ),
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
    restart: true,
  }),
  row(
    "access_mode",
    "enum",
    "read_write",
    "`read_only` opens the main database read-only and refuses writes with 403.",
    { values: ["read_write", "read_only"], restart: true },
  ),
  row(
    "memory_limit",
    "memory",
    null,
    "DuckDB memory limit such as `4GB` or `512MB` (DuckDB's default: 80% of RAM).",
    { nullable: true, restart: true },
  ),
  row("enable_object_cache", "bool", false, "Enable DuckDB's object cache.", { restart: true }),
  row(
    "temp_directory",
    "path",
    null,
    "Directory for DuckDB spill files and export scratch space (default: a private " +
      "directory under the system temp directory, removed at exit). User SQL may use it, so it " +
      "may not hold the database file, the auth database or stream storage.",
    { nullable: true, restart: true },
  ),
  row(
    "allowed_directories",
    "list",
    [],
    "Directories user SQL may read and write (comma-separated in the environment and flags). " +
      "Everything else on the file system is out of reach. Directories holding the database " +
      "file, the auth database, stream storage or ACME certificates are refused.",
    { restart: true },
  ),
  row(
    "extensions",
    "list",
    [],
    "DuckDB extensions (names such as `ducklake`, `httpfs`, `postgres`) loaded from " +
      "`extension_directory` at start, before the sandbox closes; one that does not load " +
      "stops the start naming it. Nothing is downloaded, and user SQL can never `INSTALL` or " +
      "`LOAD` (comma-separated in the environment and flags).",
    { restart: true },
  ),
  row(
    "extension_directory",
    "path",
    null,
    "Where `extensions` are looked up, as DuckDB lays it out (`{dir}/{duckdb version}/" +
      "{platform}/{name}.duckdb_extension`); default DuckDB's own `~/.duckdb/extensions`, where " +
      "DuckDB's `INSTALL` puts them. May not overlap `allowed_directories` or `temp_directory`.",
    { nullable: true, restart: true },
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
  row("streams", "bool", true, "Serve Durable Streams at `streams_prefix`.", { restart: true }),
  row(
    "streams_prefix",
    "string",
    "/v1/stream",
    "Path of the streams endpoint, at the server root (not under `route_prefix`).",
    { restart: true },
  ),
  row(
    "streams_storage",
    "enum",
    "dir",
    "`dir`: durable, crash-safe log files under `streams_dir`; `memory`: lost at exit " +
      "(`deno task dev` uses it).",
    { values: ["dir", "memory"], restart: true },
  ),
  row(
    "streams_dir",
    "path",
    "data/streams",
    "Directory of durable stream storage (relative paths are resolved against the working " +
      "directory). Never reachable from user SQL.",
    { restart: true },
  ),
  row(
    "streams_auth",
    "enum",
    "keys",
    "`keys`: streams need an API key with grants on `stream:<name>`; `none`: open, like the " +
      "reference plugin.",
    { values: ["keys", "none"], restart: true },
  ),
  row(
    "long_poll_timeout",
    "duration",
    30_000,
    "How long a `live=long-poll` read waits for data before answering 204.",
    { restart: true },
  ),
  row(
    "sse_reconnect_interval",
    "duration",
    60_000,
    "How long a `live=sse` response stays open before the server ends it (clients reconnect).",
    { restart: true },
  ),
  row(
    "change_feeds",
    "bool",
    true,
    "Append an event to `{streams_prefix}/_changes/{table}` for every committed write.",
    { restart: true },
  ),
  ...OPS_KEYS,
];
