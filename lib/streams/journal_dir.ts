/**
 * The durable journal: one append-only log file per stream instance under `<dir>/streams/`,
 * framed records with CRC-32C, group commit and an LRU of open handles (`log_files.ts`), crash
 * recovery that truncates a torn tail (`recovery.ts`), and a clean-shutdown manifest of file sizes
 * that lets the next start skip checksum verification of unchanged files.
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { lockDirectory } from "../dir_lock.ts";
import { GroupSync, LogFiles, newLogFile } from "./log_files.ts";
import type { Journal, StreamInstance, StreamsEvent, Unit } from "./model.ts";
import { encodeRecord, FILE_MAGIC } from "./record.ts";
import { CLEAN_MANIFEST, recoverLogs } from "./recovery.ts";

/** Options of the durable journal. */
export interface DirJournalOptions {
  dir: string;
  maxOpenFiles: number;
  onEvent: (event: StreamsEvent) => void;
  now?: () => number;
}

/** A durable journal plus the instances recovered from disk. */
export interface OpenedDirJournal {
  journal: Journal;
  /** Recovered live and soft-deleted instances, fork links resolved. */
  instances: StreamInstance[];
}

/**
 * Opens (and recovers) the durable journal under `options.dir`, which it locks until `close()`:
 * a second server on the same directory is refused (`DirectoryLockedError`) before it reads or
 * writes anything there.
 */
export async function openDirJournal(options: DirJournalOptions): Promise<OpenedDirJournal> {
  const lock = await lockDirectory(options.dir, "streams_dir");
  try {
    return await openLockedJournal(options, lock.release);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openLockedJournal(
  options: DirJournalOptions,
  unlock: () => void,
): Promise<OpenedDirJournal> {
  const streamsDir = `${options.dir.replace(/\/$/, "")}/streams`;
  await Deno.mkdir(streamsDir, { recursive: true });
  const dirSync = new GroupSync(async () => {
    const d = await Deno.open(streamsDir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  });
  const recovered = await recoverLogs({
    streamsDir,
    now: options.now ?? Date.now,
    onEvent: options.onEvent,
    syncDir: () => dirSync.run(),
  });
  const files = new LogFiles(options.maxOpenFiles, dirSync);
  for (const [id, { path, size }] of recovered.files) files.add(id, newLogFile(path, size, false));
  const payloadOf = (units: Unit[]) => concatBytes(units.map((u) => u.bytes ?? new Uint8Array(0)));

  const journal: Journal = {
    create(inst, meta, units) {
      const f = newLogFile(`${streamsDir}/${inst.id}.log`, FILE_MAGIC.length, true);
      files.add(inst.id, f);
      return files.enqueue(
        f,
        encodeRecord({ type: "create", meta, payload: payloadOf(units) }),
        units,
      );
    },
    append(inst, meta, units) {
      const frame = encodeRecord({ type: "append", meta, payload: payloadOf(units) });
      return files.enqueue(files.of(inst.id), frame, units);
    },
    tombstone(inst, soft) {
      const frame = encodeRecord({ type: soft ? "soft_delete" : "delete" });
      return files.enqueue(files.of(inst.id), frame, []);
    },
    drop(inst) {
      files.drop(inst.id);
    },
    async read(inst, unit, begin, end) {
      if (unit.bytes) return unit.bytes.subarray(begin, end);
      return await files.read(files.of(inst.id), unit.filePos + begin, end - begin);
    },
    readSync(inst, unit, begin, end) {
      if (unit.bytes) return unit.bytes.subarray(begin, end);
      return files.readSync(files.of(inst.id), unit.filePos + begin, end - begin);
    },
    async close() {
      try {
        const { healthy, sizes } = await files.close();
        if (healthy) await writeCleanManifest(streamsDir, sizes, dirSync);
      } finally {
        unlock();
      }
    },
  };
  return { journal, instances: [...recovered.instances.values()] };
}

/** Writes the clean-shutdown manifest (file sizes by file name) atomically and durably. */
async function writeCleanManifest(
  streamsDir: string,
  sizes: Map<string, number>,
  dirSync: GroupSync,
): Promise<void> {
  const files: Record<string, number> = {};
  for (const [path, size] of sizes) files[path.slice(streamsDir.length + 1)] = size;
  const manifestPath = `${streamsDir}/${CLEAN_MANIFEST}`;
  const tmp = `${manifestPath}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await file.write(new TextEncoder().encode(JSON.stringify({ version: 1, files })));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, manifestPath);
  await dirSync.run();
}
