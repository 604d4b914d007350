/**
 * Exports written by DuckDB itself: `COPY (select) TO '<pipe>'` into a named pipe (FIFO) in the
 * engine's scratch directory, read back as it is written. The pipe gives backpressure (DuckDB
 * waits while the client is slow), so memory stays bounded and bytes flow as DuckDB produces them.
 * Where a FIFO cannot be made, DuckDB writes a temporary file that is streamed, then removed.
 *
 * Failure handling: an engine error ends the statement and closes DuckDB's end of the pipe, so the
 * reader sees the end of the data and then the error from {@link CopyRun.done}. {@link
 * CopyRun.cancel} interrupts the statement and closes the reading end, so a DuckDB write blocked
 * on a full pipe fails at once; nothing is left behind.
 * @module
 */

import type { DuckDBType } from "@duckdb/node-api";
import { DuckDBInstance } from "@duckdb/node-api";
import { ApiError, classifyDuckDBError } from "../errors.ts";
import { bindParams, type Params } from "./bind.ts";
import { quoteIdentifier, sqlString } from "../sql/mod.ts";
import type { Lease } from "./pool.ts";
import type { InterruptReason } from "./run.ts";
import type { DuckDBDataChunk, DuckDBPreparedStatement } from "@duckdb/node-api";

/** Largest piece read from the pipe at once. */
const READ_SIZE = 64 * 1024;

/** A running `COPY … TO` whose output is being read. */
export interface CopyRun {
  /** The next bytes DuckDB wrote, or `null` once DuckDB closed its end (see {@link done}). */
  read(): Promise<Uint8Array | null>;
  /** Rows written; rejects with an {@link ApiError} when the statement failed. */
  readonly done: Promise<number>;
  /**
   * Interrupts the statement (e.g. at the deadline); the error surfaces through `done` (for
   * `canceled`: `error`, by default a generic `query_canceled`).
   */
  interrupt(reason: InterruptReason, error?: ApiError): void;
  /** Stops everything and cleans up; idempotent, never throws. */
  cancel(): Promise<void>;
}

let mkfifoSymbol: ((path: Uint8Array, mode: number) => number) | null | undefined;

function libcMkfifo(): ((path: Uint8Array, mode: number) => number) | null {
  if (mkfifoSymbol !== undefined) return mkfifoSymbol;
  try {
    const lib = Deno.dlopen(Deno.build.os === "darwin" ? "libc.dylib" : "libc.so.6", {
      mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
    });
    mkfifoSymbol = (path, mode) => lib.symbols.mkfifo(path as Uint8Array<ArrayBuffer>, mode);
  } catch {
    mkfifoSymbol = null;
  }
  return mkfifoSymbol;
}

/** Makes a FIFO at `path` (libc through FFI, else the `mkfifo` command); false when impossible. */
export async function makeFifo(path: string): Promise<boolean> {
  const mkfifo = libcMkfifo();
  if (mkfifo) return mkfifo(new TextEncoder().encode(path + "\0"), 0o600) === 0;
  try {
    const out = await new Deno.Command("mkfifo", { args: ["-m", "600", path] }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Options of {@link startCopy}. */
export interface CopyOptions {
  /** Directory DuckDB may write to (the sandbox's scratch directory). */
  directory: string;
  params?: Params;
  /** Binds values instead of `params` (the caller's own binder). */
  bind?: (statement: DuckDBPreparedStatement) => void;
  /** Use a temporary file instead of a FIFO (also the fallback when no FIFO can be made). */
  file?: boolean;
}

/** Why a run was interrupted, if it was: decides the error its statement fails with. */
interface Interruption {
  reason: InterruptReason | null;
  /** The error of a cancel. */
  error?: ApiError;
}

/**
 * Starts `COPY (select) TO <pipe> (copyOptions)` on the lease's connection and returns the
 * reading end. The lease stays with the caller (release it after `done` settles).
 */
export async function startCopy(
  lease: Lease,
  select: string,
  copyOptions: string,
  options: CopyOptions,
): Promise<CopyRun> {
  const path = `${options.directory}/export-${crypto.randomUUID()}`;
  const fifo = !options.file && await makeFifo(path);
  const sql = `COPY (${select}) TO ${sqlString(path)} (${copyOptions})`;
  const statement = await lease.connection.prepare(sql).catch((err) => {
    if (fifo) Deno.remove(path).catch(() => {});
    throw classifyDuckDBError(err);
  });
  try {
    if (options.bind) options.bind(statement);
    else bindParams(statement, options.params);
  } catch (err) {
    statement.destroySync();
    if (fifo) await Deno.remove(path).catch(() => {});
    throw err;
  }
  const interruption: Interruption = { reason: null };
  const toApiError = (err: unknown) => interruptionError(interruption) ?? classifyDuckDBError(err);
  const done = statement.run().then(
    (result) => Number(result.rowsChanged),
    (err) => Promise.reject(toApiError(err)),
  ).finally(() => statement.destroySync());
  done.catch(() => {}); // observed through CopyRun.done
  return readingEnd(lease, path, fifo, done, interruption);
}

/** The error of an interrupted run: the deadline passed, or the client went away. */
function interruptionError(interruption: Interruption): ApiError | null {
  if (interruption.reason === "timeout") {
    return new ApiError("query_timeout", "The statement was interrupted after query_timeout.");
  }
  if (interruption.reason === "closed") {
    return new ApiError("client_closed_request", "The client closed the connection.");
  }
  if (interruption.reason === "canceled") {
    return interruption.error ?? new ApiError("query_canceled");
  }
  return null;
}

/**
 * Opens the read end of `path`: a FIFO at once (the open waits for DuckDB to open the write end;
 * if the statement fails before it does, the write end is opened here so the wait ends and the
 * pipe reads as empty), a file once the run is `done`.
 */
function openReadEnd(
  path: string,
  fifo: boolean,
  done: Promise<number>,
  opened: () => boolean,
): Promise<Deno.FsFile | null> {
  if (!fifo) return done.then(() => Deno.open(path, { read: true }), () => null);
  done.catch(async () => {
    if (opened()) return;
    const writer = await Deno.open(path, { write: true }).catch(() => null);
    writer?.close();
  });
  return Deno.open(path, { read: true });
}

/** The reading end of a run writing to `path` (a FIFO, or a file read once `done`). */
function readingEnd(
  lease: Lease,
  path: string,
  fifo: boolean,
  done: Promise<number>,
  interruption: Interruption,
): CopyRun {
  let file: Deno.FsFile | null = null;
  const opening = openReadEnd(path, fifo, done, () => file !== null);
  let closed = false;
  const closeFile = () => {
    if (closed) return;
    closed = true;
    try {
      file?.close();
    } catch {
      // already closed
    }
  };
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    cleaned ??= (async () => {
      await done.catch(() => {});
      const f = await opening.catch(() => null);
      if (f && !file) {
        file = f;
      }
      closeFile();
      await Deno.remove(path).catch(() => {});
    })();

  return {
    async read() {
      if (closed) return null;
      file ??= await opening;
      if (!file || closed) return null;
      const buffer = new Uint8Array(READ_SIZE);
      const n = await file.read(buffer).catch((err) => {
        // cancel() closed the file under a pending read (Deno: "Interrupted: operation
        // canceled"): the run's own reason (the client left, the deadline passed) is the error.
        throw (closed && interruptionError(interruption)) || err;
      });
      if (n === null) {
        closeFile();
        return null;
      }
      return buffer.subarray(0, n);
    },
    done,
    interrupt(reason, error) {
      if (interruption.reason === null) Object.assign(interruption, { reason, error });
      lease.connection.interrupt();
    },
    async cancel() {
      interruption.reason ??= "closed";
      lease.connection.interrupt();
      // Closing the read end makes a DuckDB write blocked on a full pipe fail at once.
      if (file) closeFile();
      else {
        opening.then((f) => {
          if (f && !file) {
            file = f;
            closeFile();
          }
        }, () => {});
      }
      await cleanup();
    },
  };
}

let writerInstance: Promise<DuckDBInstance> | null = null;
let writerDirectory: Promise<string> | null = null;

/**
 * Writes rows that only exist as result chunks (statements that cannot be wrapped in `COPY`,
 * such as `INSERT … RETURNING` or scripts) as Parquet with DuckDB's own writer: the chunks are
 * appended to a temporary table of a private in-memory DuckDB (never reachable by user SQL), which
 * then copies it (`project` gives the SELECT over that table). Returns the file's bytes through a
 * {@link CopyRun}.
 */
export async function parquetFromChunks(
  names: readonly string[],
  types: readonly DuckDBType[],
  chunks: AsyncIterable<{ chunk: DuckDBDataChunk; rows: number }>,
  directory: string | undefined,
  project: (table: string) => string = (table) => `FROM ${table}`,
): Promise<CopyRun> {
  writerInstance ??= DuckDBInstance.create(":memory:", {
    threads: "1",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  }).catch((err) => {
    writerInstance = null;
    throw err;
  });
  const instance = await writerInstance;
  // Without the engine's scratch directory, one private directory serves the process.
  directory ??= await (writerDirectory ??= Deno.makeTempDir({ prefix: "duckserve-export-" }));
  const connection = await instance.connect();
  const table = `rows_${crypto.randomUUID().replaceAll("-", "")}`;
  const columns = names.map((n, i) => `${quoteIdentifier(n)} ${types[i].toString()}`);
  try {
    await connection.run(`CREATE TEMP TABLE ${table} (${columns.join(", ")})`);
    const appender = await connection.createAppender(table, "main", "temp");
    try {
      for await (const { chunk, rows } of chunks) {
        if (rows < chunk.rowCount) chunk.rowCount = rows;
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  } catch (err) {
    await connection.run(`DROP TABLE IF EXISTS temp.${table}`).catch(() => {});
    connection.closeSync();
    throw err instanceof ApiError ? err : classifyDuckDBError(err);
  }
  const lease: Lease = {
    connection,
    prepare: (sql) => connection.prepare(sql),
    release: () => {},
    taint: () => {},
    connectionId: -1,
    owner: null,
    closing: false,
  };
  const run = await startCopy(
    lease,
    project(`temp.${table}`),
    "FORMAT parquet, USE_TMP_FILE false",
    {
      directory,
    },
  );
  const drop = run.done.finally(async () => {
    await connection.run(`DROP TABLE IF EXISTS temp.${table}`).catch(() => {});
    connection.closeSync();
  });
  drop.catch(() => {});
  return {
    ...run,
    async cancel() {
      await run.cancel();
      await drop.catch(() => {});
    },
  };
}
