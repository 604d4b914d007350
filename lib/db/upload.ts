/**
 * Uploaded files (CSV, NDJSON, Parquet bodies of `POST /api/{table}`) read by DuckDB's own readers
 * without opening them to user SQL:
 *
 * - bodies are written to a private directory of the server (mode 0700, outside the sandbox's
 *   allowed directories, so no user statement can list or read them), one file per request,
 *   removed when the request ends;
 * - they are read by a second, private in-memory DuckDB instance (the reader) that runs only the
 *   server's own statements and is sandboxed to that directory (`allowed_directories`, no other
 *   file access, no extensions, locked configuration);
 * - the rows it reads, already typed, go to a temporary table of the request's connection on the
 *   main database through DuckDB's appender, chunk by chunk (never all in memory), from which one
 *   `INSERT … SELECT` writes them (all or nothing).
 *
 * Why not the main instance: its sandbox is locked (`lock_configuration`) before any user
 * statement, so it cannot be opened to a per-request directory, and a directory open to it is
 * open to every user statement (the scratch directory is).
 * @module
 */

import { DuckDBInstance, ResultReturnType } from "@duckdb/node-api";
import type { DuckDBConnection } from "@duckdb/node-api";
import { ApiError, classifyDuckDBError } from "../errors.ts";
import { quoteIdentifier, sqlString } from "../sql/mod.ts";
import type { Lease } from "./pool.ts";
import { type Guard, guarded } from "./run.ts";

/** A column of a staging table: its name and DuckDB type text. */
export interface StageColumn {
  name: string;
  type: string;
}

/** The private reader of uploaded files. */
export interface Uploads {
  /** The private directory uploads are written to. */
  readonly directory: string;
  /**
   * Why file bodies are refused, or null: the directory lies inside a directory user SQL may
   * reach (`allowed_directories` or `temp_directory` holding the system temp directory).
   */
  readonly refusal: string | null;
  /** A fresh path for an upload in {@link directory} (the caller writes and removes it). */
  path(extension: string): string;
  /**
   * Runs `select` (the server's own SQL, reading a file of {@link directory}) on the reader and
   * appends its rows to the new temporary table `table` (columns `columns`, the select's column
   * types exactly) on the lease's connection; returns the rows appended.
   */
  stage(
    lease: Lease,
    guard: Guard,
    select: string,
    table: string,
    columns: readonly StageColumn[],
  ): Promise<number>;
  /** The rows of a small query on the reader (header names, keys, diagnostics). */
  rows(sql: string): Promise<unknown[][]>;
  /** Closes the reader and removes the directory. */
  close(): Promise<void>;
}

/**
 * Opens the uploads area: its directory now, the reader instance on first use. `reachable` are
 * the directories user SQL may use (real paths with a trailing `/`): when one holds the uploads
 * directory, file bodies are refused ({@link Uploads.refusal}).
 */
export async function openUploads(threads: number, reachable: readonly string[]): Promise<Uploads> {
  const directory = await Deno.realPath(await Deno.makeTempDir({ prefix: "duckserve-upload-" }));
  await Deno.chmod(directory, 0o700).catch(() => {});
  const open = reachable.find((d) => `${directory}/`.startsWith(d));
  const refusal = open === undefined
    ? null
    : `the uploads directory ${directory} lies in ${open}, ` +
      "which user SQL may use (allowed_directories or temp_directory): file bodies are refused";
  let reader: Promise<DuckDBInstance> | null = null;
  const instance = () =>
    reader ??= createReader(directory, threads).catch((err) => {
      reader = null;
      throw err;
    });
  const withConnection = async <T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const connection = await (await instance()).connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  };
  return {
    directory,
    refusal,
    path: (extension) => `${directory}/${crypto.randomUUID()}.${extension}`,
    stage: (lease, guard, select, table, columns) =>
      withConnection((reading) => stageRows(reading, lease, guard, select, table, columns)),
    rows: (sql) =>
      withConnection(async (c) => {
        try {
          return (await c.runAndReadAll(sql)).getRows() as unknown[][];
        } catch (err) {
          throw classifyDuckDBError(err);
        }
      }),
    async close() {
      const open = await reader?.catch(() => null);
      open?.closeSync();
      await Deno.remove(directory, { recursive: true }).catch(() => {});
    },
  };
}

/** The reader instance: in memory, sandboxed to `directory`. */
async function createReader(directory: string, threads: number): Promise<DuckDBInstance> {
  const instance = await DuckDBInstance.create(":memory:", {
    threads: String(threads),
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    allow_unsigned_extensions: "false",
  });
  const setup = await instance.connect();
  try {
    await setup.run("SET GLOBAL TimeZone = 'UTC'");
    await setup.run(`SET allowed_directories = [${sqlString(`${directory}/`)}]`);
    await setup.run("SET enable_external_access = false");
    await setup.run("SET lock_configuration = true");
  } finally {
    setup.closeSync();
  }
  return instance;
}

/** Streams `select` from the reader into a new temporary table on the lease's connection. */
async function stageRows(
  reading: DuckDBConnection,
  lease: Lease,
  guard: Guard,
  select: string,
  table: string,
  columns: readonly StageColumn[],
): Promise<number> {
  const definition = columns.map((c) => `${quoteIdentifier(c.name)} ${c.type}`).join(", ");
  await guarded(
    lease,
    guard,
    () => lease.connection.run(`CREATE OR REPLACE TEMP TABLE ${table} (${definition})`),
  );
  const appender = await guarded(
    lease,
    guard,
    () => lease.connection.createAppender(table, "main", "temp"),
  );
  let rows = 0;
  try {
    const result = await guarded(lease, guard, () => reading.stream(select));
    for (;;) {
      const chunk = await guarded(lease, guard, () => result.fetchChunk());
      if (!chunk || chunk.rowCount === 0) break;
      appender.appendDataChunk(chunk);
      rows += chunk.rowCount;
    }
    // The driver ends a streamed result that failed midway like a complete one (see leased.ts):
    // count the rows again, materialized, to get DuckDB's own error.
    if (result.returnType !== ResultReturnType.QUERY_RESULT) {
      await reading.run(`SELECT count(*) FROM (${select})`).catch((err) => {
        throw classifyDuckDBError(err);
      });
      throw new ApiError("result_failed", "Reading the uploaded file failed.");
    }
    appender.flushSync();
    return rows;
  } catch (err) {
    throw err instanceof ApiError ? err : classifyDuckDBError(err);
  } finally {
    try {
      appender.closeSync();
    } catch {
      // already reported
    }
  }
}
