/**
 * An exclusive, advisory lock on a directory, held by one process at a time: `flock` on a
 * `duckserve.lock` file inside it, which also records the holder's PID for the refusal message.
 * The kernel releases the lock when the holder exits, however it exits (`kill -9` included), so
 * there is no stale lock to clean up. Two locks on one directory conflict inside one process too.
 *
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { DirectoryLockedError, lockDirectory } from "./dir_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockDirectory(dir, "streams_dir");
 * await rejects(lockDirectory(dir, "streams_dir"), DirectoryLockedError);
 * lock.release();
 * (await lockDirectory(dir, "streams_dir")).release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

/** Name of the lock file inside a locked directory. */
export const LOCK_FILE = "duckserve.lock";

/** Another process (or another server in this process) holds the directory's lock. */
export class DirectoryLockedError extends Error {
  override name = "DirectoryLockedError";
}

/** A held directory lock. */
export interface DirectoryLock {
  /** Releases the lock (idempotent). */
  release(): void;
}

/**
 * Creates `dir` if needed and locks it, or throws {@link DirectoryLockedError} with one line
 * naming `key` (the config key of the directory), the directory and the holder's PID.
 */
export async function lockDirectory(dir: string, key: string): Promise<DirectoryLock> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir.replace(/\/+$/, "")}/${LOCK_FILE}`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let locked = false;
  try {
    locked = await file.tryLock(true);
    if (!locked) {
      const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
      throw new DirectoryLockedError(
        `${key} ${dir} is in use by another duckserve process` +
          (/^\d+$/.test(holder) ? ` (pid ${holder})` : "") +
          `; two servers cannot share it: stop the other one or give this one its own ${key}`,
      );
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (err) {
    file.close();
    throw err;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      file.close(); // closing the descriptor releases the flock
    },
  };
}
