/**
 * Opens the main DuckDB instance inside its sandbox. Before any user statement runs, the instance
 * is configured so user SQL cannot reach the file system outside `allowed_directories` (plus the
 * server's own scratch directory), cannot install or load extensions from disk or network, and
 * cannot change any setting (`lock_configuration`). The operator's `extensions` are loaded and
 * the configured `databases` attached just before the sandbox closes (`extensions.ts`,
 * `attach.ts`). The auth store never lives in this instance.
 * @module
 */

import { dirname } from "node:path";
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
} from "@duckdb/node-api";
import type { Config } from "../config.ts";
import type { DatabaseSpec } from "../config_databases.ts";
import { attachDatabase, detachDatabase } from "./attach.ts";
import { invalidateCatalog } from "./catalog.ts";
import { bumpDataVersion } from "./versions.ts";
import { quoteIdentifier, sqlString } from "../sql/mod.ts";
import { type LoadedExtension, loadExtensions } from "./extensions.ts";
import { isLockError } from "./file.ts";
import { ConnectionPool } from "./pool.ts";
import { createTableFunction, type TableFunctionSpec } from "./table_function.ts";
import { openUploads, type Uploads } from "./upload.ts";

/** The opened main database. */
export interface Engine {
  readonly pool: ConnectionPool;
  /** The server's private scratch directory (inside the sandbox's allowed directories). */
  readonly scratchDirectory: string;
  /** Uploaded files and their private reader (outside the sandbox, see `upload.ts`). */
  readonly uploads: Uploads;
  /** DuckDB's version string, e.g. `v1.5.5`. */
  readonly duckdbVersion: string;
  /** The configured `extensions`, loaded, with where each came from. */
  readonly extensions: readonly LoadedExtension[];
  /** Runs a trivial statement; throws when the database does not answer. */
  ping(signal?: AbortSignal): Promise<void>;
  /**
   * DuckDB's memory use by tag (`duckdb_memory()`) and its spill files
   * (`duckdb_temporary_files()`), read on the probe connection; at `signal` the query is
   * interrupted and the promise rejects.
   */
  memoryStats(signal: AbortSignal): Promise<EngineMemory>;
  /**
   * Makes a table function available to every connection (DuckDB keeps it in the instance's
   * system catalog, so once is enough; user SQL cannot drop or replace it).
   */
  registerTableFunction<B>(spec: TableFunctionSpec<B>): Promise<void>;
  /** The attached databases (`databases`, and those attached while serving), by name. */
  readonly databases: ReadonlyMap<string, DatabaseSpec>;
  /** Attaches a database while serving (throws `AttachError`); see `attach.ts`. */
  attach(name: string, spec: DatabaseSpec): Promise<void>;
  /** Detaches the attached database `name` (checkpointed first when writable). */
  detach(name: string): Promise<void>;
  /** Checkpoints (when writable and file-backed) and closes everything. */
  close(): Promise<void>;
}

/** DuckDB's own memory figures. */
export interface EngineMemory {
  memory: { tag: string; memoryBytes: number; temporaryBytes: number }[];
  temporaryFiles: number;
  temporaryFileBytes: number;
}

/**
 * `duckdb_memory()` by tag, and a last row without a tag holding the count and bytes of
 * `duckdb_temporary_files()`: one prepared statement, so a scrape is one short query.
 */
const MEMORY_SQL = "SELECT tag, memory_usage_bytes, temporary_storage_bytes " +
  "FROM duckdb_memory() UNION ALL " +
  "SELECT NULL, count(*)::BIGINT, coalesce(sum(size), 0)::BIGINT FROM duckdb_temporary_files()";

/**
 * The probe connection's work: pings (concurrent ones share one `SELECT 1`) and DuckDB's memory
 * figures, taking turns on the one connection; {@link Engine.memoryStats} interrupts its query
 * when its signal aborts.
 */
function createProbe(probe: DuckDBConnection) {
  let probing: Promise<void> | null = null;
  let turn: Promise<unknown> = Promise.resolve();
  let memorySql: Promise<DuckDBPreparedStatement> | null = null;
  const onProbe = <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work, work);
    turn = result.catch(() => {});
    return result;
  };
  const readMemory = async (signal: AbortSignal): Promise<EngineMemory> => {
    signal.throwIfAborted();
    const onAbort = () => probe.interrupt();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      memorySql ??= probe.prepare(MEMORY_SQL).catch((err) => {
        memorySql = null; // tried again at the next scrape
        throw err;
      });
      const rows = (await (await memorySql).runAndReadAll()).getRows();
      const [, files, bytes] = rows.find((row) => row[0] === null)!;
      const memory = rows.filter((row) => row[0] !== null).map((row) => ({
        tag: String(row[0]),
        memoryBytes: Number(row[1]),
        temporaryBytes: Number(row[2]),
      }));
      return { memory, temporaryFiles: Number(files), temporaryFileBytes: Number(bytes) };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  };
  return {
    async ping(signal?: AbortSignal): Promise<void> {
      probing ??= onProbe(() => probe.run("SELECT 1")).then(() => {}).finally(() => probing = null);
      await untilAborted(probing, signal);
    },
    memoryStats: (signal: AbortSignal) => untilAborted(onProbe(() => readMemory(signal)), signal),
    async close(): Promise<void> {
      await turn;
      if (memorySql) (await memorySql.catch(() => null))?.destroySync();
      probe.closeSync();
    },
  };
}

/** Opens the main database described by `config`, sandboxed. */
export async function openEngine(config: Config): Promise<Engine> {
  const ownScratch = config.temp_directory === null;
  const scratchDirectory = ownScratch
    ? await Deno.makeTempDir({ prefix: "duckserve-" })
    : config.temp_directory!;
  await Deno.mkdir(scratchDirectory, { recursive: true });
  const scratch = await Deno.realPath(scratchDirectory);
  const instance = await createInstance(config, scratch).catch(async (err) => {
    if (ownScratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
    throw err;
  });
  const allowed = [`${scratch}/`, ...config.allowed_directories.map((d) => d.replace(/\/?$/, "/"))];
  const setup = await instance.connect();
  let duckdbVersion: string, extensions: LoadedExtension[], pool: ConnectionPool | undefined;
  try {
    // Opened before the lock: DuckDB's query progress is a per-connection setting.
    pool = await ConnectionPool.open(instance, config.threads, {
      spares: config.threads * SPARES_PER_THREAD,
      onConnect: reportProgress,
    });
    ({ duckdbVersion, extensions } = await closeSandbox(setup, config, allowed));
  } catch (err) {
    pool?.close();
    setup.closeSync();
    instance.closeSync();
    if (ownScratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
    throw err;
  }
  // The set-up connection stays open as the probe connection: health checks never wait behind
  // user queries for a pooled connection.
  const probe = createProbe(setup);
  const reachable = await Promise.all(
    allowed.map((d) => Deno.realPath(d).then((real) => `${real.replace(/\/$/, "")}/`, () => d)),
  );
  const uploads = await openUploads(config.threads, reachable);
  // Registered functions stay referenced for the instance's lifetime (their callbacks live in JS).
  const functions: unknown[] = [];
  const attached = attachedDatabases(instance, pool, config);

  return {
    pool,
    scratchDirectory: scratch,
    uploads,
    duckdbVersion,
    extensions,
    ping: probe.ping,
    memoryStats: probe.memoryStats,
    ...attached,
    async registerTableFunction(spec) {
      const connection = await instance.connect();
      try {
        const fn = createTableFunction(spec, (id) => pool.ownerOf(id));
        connection.registerTableFunction(fn);
        functions.push(fn);
      } finally {
        connection.closeSync();
      }
    },
    async close() {
      pool.close();
      await pool.settled();
      await probe.close();
      await onConnection(instance, (c) => checkpointAll(c, config, attached.databases));
      instance.closeSync();
      await uploads.close();
      if (ownScratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Connections kept aside per worker thread to replace dirty ones with progress reporting on
 * (connections opened after the configuration is locked cannot turn it on).
 */
const SPARES_PER_THREAD = 16;

/**
 * Turns on DuckDB's query progress for `connection` (read by `GET /queries`), without its
 * terminal bar; fails once the configuration is locked.
 */
async function reportProgress(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    "SET enable_progress_bar = true; SET enable_progress_bar_print = false; " +
      "SET progress_bar_time = 0",
  );
}

/**
 * Loads the operator's `extensions`, attaches the configured databases (an attach string such as
 * `ducklake:…` needs its extension loaded first), then closes the sandbox; returns DuckDB's
 * version and the loaded extensions. Order matters: extensions and databases while files
 * anywhere can still be opened, allowed paths before closing external access, the lock last.
 */
async function closeSandbox(
  setup: DuckDBConnection,
  config: Config,
  allowed: readonly string[],
): Promise<{ duckdbVersion: string; extensions: LoadedExtension[] }> {
  await setup.run("SET GLOBAL TimeZone = 'UTC'");
  const extensions = await loadExtensions(setup, config.extensions, config.extension_directory);
  for (const [name, spec] of Object.entries(config.databases)) {
    await attachDatabase(setup, name, spec);
  }
  await setup.run(`SET allowed_directories = [${allowed.map(sqlString).join(", ")}]`);
  await setup.run("SET enable_external_access = false");
  await setup.run("SET lock_configuration = true");
  const reader = await setup.runAndReadAll("SELECT version()");
  return { duckdbVersion: String(reader.getRows()[0][0]), extensions };
}

/**
 * Checkpoints the main database and every writable attached file before closing. A checkpoint
 * can fail while other transactions are still open; closing still replays the WAL on the next
 * start, so data is safe either way.
 */
async function checkpointAll(
  connection: DuckDBConnection,
  config: Config,
  databases: ReadonlyMap<string, DatabaseSpec>,
): Promise<void> {
  if (config.database_path !== ":memory:" && config.access_mode === "read_write") {
    await connection.run("CHECKPOINT").catch(() => {});
  }
  for (const [name, spec] of databases) {
    if (spec.access_mode !== "read_write" || spec.path === ":memory:") continue;
    await connection.run(`CHECKPOINT ${quoteIdentifier(name)}`).catch(() => {});
  }
}

/**
 * Creates the DuckDB instance (and the database file's directory). DuckDB locks the file for the
 * process: a second server on it is refused with one line instead of DuckDB's IO Error.
 */
async function createInstance(config: Config, scratch: string): Promise<DuckDBInstance> {
  const path = config.database_path;
  if (path !== ":memory:" && config.access_mode === "read_write") {
    await Deno.mkdir(dirname(path), { recursive: true });
  }
  try {
    return await DuckDBInstance.create(path, instanceOptions(config, scratch));
  } catch (err) {
    if (!isLockError(err)) throw err;
    const pid = /\(PID (\d+)\)/.exec(String((err as Error).message))?.[1];
    throw new Error(
      `database_path ${path} is in use by another process${pid ? ` (pid ${pid})` : ""}; ` +
        "DuckDB lets one process open a database file: stop the other server or give this " +
        "one its own database_path",
      { cause: err },
    );
  }
}

/** The options the DuckDB instance is created with (extensions locked, spill in `scratch`). */
function instanceOptions(config: Config, scratch: string): Record<string, string> {
  const options: Record<string, string> = {
    threads: String(config.threads),
    enable_object_cache: String(config.enable_object_cache),
    temp_directory: `${scratch}/spill`,
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    allow_unsigned_extensions: "false",
  };
  if (config.memory_limit) options.memory_limit = config.memory_limit;
  if (config.extension_directory) options.extension_directory = config.extension_directory;
  if (config.database_path !== ":memory:") {
    options.access_mode = config.access_mode === "read_only" ? "READ_ONLY" : "READ_WRITE";
  }
  return options;
}

/** Runs `work` on a connection of its own, closed afterwards. */
async function onConnection<T>(
  instance: DuckDBInstance,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
  }
}

/** The engine's attached databases, and attaching and detaching while serving. */
function attachedDatabases(
  instance: DuckDBInstance,
  pool: ConnectionPool,
  config: Config,
): Pick<Engine, "databases" | "attach" | "detach"> & { databases: Map<string, DatabaseSpec> } {
  const databases = new Map(Object.entries(config.databases));
  return {
    databases,
    async attach(name, spec) {
      await onConnection(instance, (c) => attachDatabase(c, name, spec));
      databases.set(name, spec);
      catalogChanged(pool);
    },
    async detach(name) {
      const writable = databases.get(name)?.access_mode === "read_write";
      try {
        await onConnection(instance, (c) => detachDatabase(c, name, writable));
        databases.delete(name);
      } finally {
        catalogChanged(pool);
      }
    },
  };
}

/** The catalog and every cached answer of `pool`'s database are stale after an attach or detach. */
function catalogChanged(pool: ConnectionPool): void {
  invalidateCatalog(pool);
  bumpDataVersion(pool);
}

/** `work`, or the abort reason of `signal` if that comes first. */
function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
