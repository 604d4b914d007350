/**
 * Short-lived access to a DuckDB database file that is not the main database (the auth store).
 * {@link withDatabaseFile} opens the file, hands a small query interface to a callback, and
 * closes it again, so no process holds the file (and DuckDB's file lock) longer than one job.
 *
 * - Another process holding a conflicting lock is retried until `lockWaitMs` has passed, then
 *   {@link FileLockedError} is thrown.
 * - Inside one process, jobs on the same path run one after another: DuckDB's lock is per
 *   process, so two instances of this process could otherwise read a half-written file.
 * - The instance runs with one thread and no extension auto-loading; it never sees user SQL.
 * @module
 */

import { DuckDBInstance } from "@duckdb/node-api";

/** A JavaScript value bound to a `?` placeholder. */
export type FileValue = string | number | boolean | null;

/** The query interface of an open database file. */
export interface DatabaseFile {
  /** Runs `sql` and returns its rows as objects (BIGINT as `bigint`, VARCHAR as string). */
  all(sql: string, params?: FileValue[]): Promise<Record<string, unknown>[]>;
  /** Runs `sql` for its effect; returns the number of changed rows. */
  run(sql: string, params?: FileValue[]): Promise<number>;
  /** Runs `work` inside BEGIN … COMMIT, rolling back when it throws. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
}

/** Options of {@link withDatabaseFile}. */
export interface FileOptions {
  readOnly: boolean;
  /** How long to keep retrying while another process holds the file's lock (default 0). */
  lockWaitMs?: number;
}

/** Another process holds a conflicting lock on the file. */
export class FileLockedError extends Error {
  override name = "FileLockedError";
}

const LOCK_ERROR = /Could not set lock on file|Conflicting lock is held/;
const queues = new Map<string, Promise<unknown>>();

/** True when `err` says another process holds the file's lock. */
export function isLockError(err: unknown): boolean {
  return err instanceof FileLockedError ||
    LOCK_ERROR.test(err instanceof Error ? err.message : String(err));
}

/**
 * Opens the DuckDB file at `path`, runs `job` with it and closes it, even when `job` throws.
 * Read-write opens create the file when it does not exist; read-only opens fail instead.
 */
export function withDatabaseFile<T>(
  path: string,
  options: FileOptions,
  job: (db: DatabaseFile) => Promise<T>,
): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const current = previous.catch(() => {}).then(() => runJob(path, options, job));
  const tail = current.catch(() => {});
  queues.set(path, tail);
  tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return current;
}

async function runJob<T>(
  path: string,
  options: FileOptions,
  job: (db: DatabaseFile) => Promise<T>,
): Promise<T> {
  const instance = await openWithRetry(path, options);
  try {
    const connection = await instance.connect();
    try {
      const db: DatabaseFile = {
        async all(sql, params = []) {
          const reader = await connection.runAndReadAll(sql, params);
          return reader.getRowObjectsJS() as Record<string, unknown>[];
        },
        async run(sql, params = []) {
          const result = await connection.run(sql, params);
          return Number(result.rowsChanged);
        },
        async transaction(work) {
          await connection.run("BEGIN TRANSACTION");
          try {
            const value = await work();
            await connection.run("COMMIT");
            return value;
          } catch (err) {
            await connection.run("ROLLBACK").catch(() => {});
            throw err;
          }
        },
      };
      const value = await job(db);
      if (!options.readOnly) await connection.run("CHECKPOINT");
      return value;
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

async function openWithRetry(path: string, options: FileOptions): Promise<DuckDBInstance> {
  const settings: Record<string, string> = {
    threads: "1",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  };
  if (options.readOnly) settings.access_mode = "READ_ONLY";
  const giveUpAt = performance.now() + (options.lockWaitMs ?? 0);
  for (let attempt = 0;; attempt++) {
    try {
      return await DuckDBInstance.create(path, settings);
    } catch (err) {
      if (!isLockError(err)) throw err;
      if (performance.now() >= giveUpAt) {
        throw new FileLockedError(`${path} is locked by another process`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** attempt, 200)));
    }
  }
}
