/**
 * Where log lines go: stderr, stdout, or a file that rolls like Caddy's log files (at
 * `rollSize` bytes the file is renamed `name-<UTC timestamp>.ext` and a new one started; only the
 * newest `rollKeep` rolled files are kept). Lines are queued as they come and written together
 * at most {@link FLUSH_MS} later (or at once past {@link MAX_QUEUED} lines), so a busy server
 * formats its lines in one batch and makes one write per batch instead of one per request;
 * {@link LineSink.close} writes what is left.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openLineSink } from "./line_sink.ts";
 * const dir = await Deno.makeTempDir();
 * const sink = openLineSink(`${dir}/access.log`, { rollSize: 20, rollKeep: 1 });
 * sink.write("first line, long enough");
 * sink.flush();
 * sink.write("second line");
 * await sink.close();
 * const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
 * equal(names.length, 2); // access.log and one rolled file
 * equal(Deno.readTextFileSync(`${dir}/access.log`), "second line\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

import { basename, dirname, extname, join } from "node:path";
import { BufferOut, type LineOut, StringOut } from "./line_out.ts";

/** Longest a line waits in the buffer (ms). */
export const FLUSH_MS = 20;
/** Buffered text that is written at once. */
export const FLUSH_BYTES = 64 * 1024;
/** Lines queued before they are written at once. */
export const MAX_QUEUED = 256;

/** A buffered destination of lines. */
export interface LineSink {
  /** Queues one line (without its line break). */
  write(line: string): void;
  /**
   * Queues the line `fill` writes for `arg` (without its line break). `fill` runs when the
   * batch is written (at most {@link FLUSH_MS} later, so `arg` must not change meanwhile), and
   * may run a second time for the same line (when the first try did not fit the buffer), so it
   * must write the same line each time.
   */
  writeWith<T>(fill: (out: LineOut, arg: T) => void, arg: T): void;
  /** Writes the queued lines now. */
  flush(): void;
  /** Writes what is queued and closes the file; later lines are dropped. */
  close(): Promise<void>;
}

/** Rolling of a file sink. */
export interface RollOptions {
  /** Bytes after which the file is rolled. */
  rollSize: number;
  /** Rolled files to keep. */
  rollKeep: number;
}

const encoder = new TextEncoder();

/** A sink for `target`: `stderr`, `stdout`, or a file path (rolled per `roll`). */
export function openLineSink(target: string, roll: RollOptions): LineSink {
  const out = target === "stderr"
    ? streamWriter(Deno.stderr)
    : target === "stdout"
    ? streamWriter(Deno.stdout)
    : fileWriter(target, roll);
  // Lines are queued as they come (their `fill` and its argument) and written together into one
  // buffer when the batch is flushed: one tight loop over a batch instead of a line's worth of
  // cold code and data after each request. `ends` marks where each line ends, so a file rolls
  // between lines.
  const buffer = new Uint8Array(2 * FLUSH_BYTES);
  const line = new BufferOut(buffer);
  let used = 0;
  let ends: number[] = [];
  // deno-lint-ignore no-explicit-any
  const fills: ((out: LineOut, arg: any) => void)[] = [];
  const args: unknown[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const writeOut = () => {
    if (used === 0) return;
    const lines = ends;
    ends = [];
    out.write(buffer.subarray(0, used), lines);
    used = 0;
  };
  const put = <T>(fill: (out: LineOut, arg: T) => void, arg: T) => {
    if (!line.fill(used, fill, arg)) {
      writeOut();
      if (!line.fill(0, fill, arg)) {
        // Longer than the buffer: written on its own.
        const text = new StringOut();
        fill(text, arg);
        const bytes = encoder.encode(text.line + "\n");
        out.write(bytes, [bytes.length]);
        return;
      }
    }
    used = line.at;
    buffer[used++] = NEWLINE;
    ends.push(used);
    if (used >= FLUSH_BYTES) writeOut();
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    for (let i = 0; i < fills.length; i++) put(fills[i], args[i]);
    fills.length = 0;
    args.length = 0;
    writeOut();
  };
  const writeWith = <T>(fill: (out: LineOut, arg: T) => void, arg: T) => {
    if (closed) return; // a request answered after the server closed its log
    fills.push(fill);
    args.push(arg);
    if (fills.length >= MAX_QUEUED) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, FLUSH_MS);
      Deno.unrefTimer(timer);
    }
  };
  return {
    write: (text) => writeWith(writeText, text),
    writeWith,
    flush,
    close() {
      flush();
      closed = true;
      out.close();
      return Promise.resolve();
    },
  };
}

function writeText(out: LineOut, text: string): void {
  out.text(text);
}

/** Writes encoded lines (`ends`: the offset after each line's line break). */
interface Writer {
  write(bytes: Uint8Array, ends: readonly number[]): void;
  close(): void;
}

const NEWLINE = 10;

function streamWriter(stream: { writeSync(bytes: Uint8Array): number }): Writer {
  return {
    write(bytes) {
      try {
        for (let at = 0; at < bytes.length;) at += stream.writeSync(bytes.subarray(at));
      } catch {
        // the stream is closed: nothing sensible left to do
      }
    },
    close() {},
  };
}

/** A file appended to and rolled at `rollSize`. */
function fileWriter(path: string, { rollSize, rollKeep }: RollOptions): Writer {
  Deno.mkdirSync(dirname(path), { recursive: true });
  let file: Deno.FsFile | null = null;
  let size = 0;
  const open = () => {
    file = Deno.openSync(path, { append: true, create: true, mode: 0o640 });
    size = file.statSync().size;
  };
  const writeAll = (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += file!.writeSync(bytes.subarray(at));
    size += bytes.length;
  };
  return {
    write(bytes, ends) {
      try {
        if (!file) open();
        // Usually the batch fits: one write.
        if (size + bytes.length <= rollSize) return writeAll(bytes);
        // Lines are written in runs that fit; the file rolls between lines, never inside one.
        let run = 0; // where the run not written yet starts
        let line = 0; // where the next line starts
        for (const end of ends) {
          if (size + line - run > 0 && size + end - run > rollSize) {
            writeAll(bytes.subarray(run, line));
            run = line;
            if (size > 0) {
              file!.close();
              file = null;
              rollFile(path, rollKeep);
              open();
            }
          }
          line = end;
        }
        writeAll(bytes.subarray(run, line));
      } catch {
        // A full disk or a removed directory: lines are dropped rather than failing requests.
        file?.close();
        file = null;
      }
    },
    close() {
      file?.close();
      file = null;
    },
  };
}

/** Renames `path` to `name-<timestamp>.ext` and deletes rolled files beyond `keep`. */
export function rollFile(path: string, keep: number): void {
  const ext = extname(path);
  const stem = basename(path, ext);
  const stamp = new Date().toISOString().replace(/:/g, "-").replace(/Z$/, "");
  let rolled = join(dirname(path), `${stem}-${stamp}${ext}`);
  for (let n = 1; exists(rolled); n++) rolled = join(dirname(path), `${stem}-${stamp}.${n}${ext}`);
  Deno.renameSync(path, rolled);
  const pattern = new RegExp(
    `^${escape(stem)}-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}\\.\\d{3}(\\.\\d+)?${escape(ext)}$`,
  );
  const old = [...Deno.readDirSync(dirname(path))]
    .filter((e) => e.isFile && pattern.test(e.name))
    .map((e) => e.name)
    .sort();
  for (const name of old.slice(0, Math.max(0, old.length - keep))) {
    Deno.removeSync(join(dirname(path), name));
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
