/**
 * Live reload of the auth store. The server never keeps the file open: a timer compares the
 * file's (and its write-ahead log's) modification time, size and inode with what was last
 * loaded, and when they differ it loads the whole store read-only in the background and swaps
 * the snapshot. Requests never wait for a reload; if the `auth` CLI holds the file at that
 * moment, or the load fails, the previous snapshot keeps serving and the next tick tries again.
 *
 * File systems with coarse timestamps could hide a second change within the same tick, so a
 * store whose newest timestamp is younger than {@link SETTLE_MS} is reloaded on every tick until
 * it is older (as git does with "racily clean" files).
 * @module
 */

/** A change younger than this is re-read on every tick. */
export const SETTLE_MS = 2000;

/** Options of {@link watchFile}. */
export interface WatchOptions {
  intervalMs: number;
  /** Loads the store and installs the new snapshot; throws when it cannot. */
  load: () => Promise<void>;
  /** Told about a failed load (the previous snapshot stays in use). */
  onError: (err: unknown) => void;
  /** Wall clock in epoch ms (tests). */
  now?: () => number;
}

/** A running watcher. */
export interface Watcher {
  /** Stops polling and waits for an in-flight load. */
  stop(): Promise<void>;
}

/** A signature of the store's files; changes whenever either file changes. */
export async function fileSignature(path: string): Promise<{ text: string; newest: number }> {
  let newest = 0;
  const parts: string[] = [];
  for (const file of [path, `${path}.wal`]) {
    try {
      const info = await Deno.stat(file);
      const mtime = info.mtime?.getTime() ?? 0;
      newest = Math.max(newest, mtime);
      parts.push(`${mtime}:${info.size}:${info.ino ?? ""}:${info.ctime?.getTime() ?? ""}`);
    } catch {
      parts.push("-");
    }
  }
  return { text: parts.join("|"), newest };
}

/**
 * Polls `path` every `intervalMs` and calls `load` when it changed since the last successful
 * load (`initial` is the signature the first snapshot was read at).
 */
export function watchFile(
  path: string,
  initial: { text: string; newest: number },
  options: WatchOptions,
): Watcher {
  const now = options.now ?? Date.now;
  let loaded = initial.text;
  let racy = Math.abs(now() - initial.newest) < SETTLE_MS;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    const signature = await fileSignature(path);
    if (signature.text === loaded && !racy) return;
    try {
      await options.load();
      loaded = signature.text;
      racy = Math.abs(now() - signature.newest) < SETTLE_MS;
    } catch (err) {
      options.onError(err);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, options.intervalMs);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => {});
    },
  };
}
