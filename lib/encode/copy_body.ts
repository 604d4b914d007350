/**
 * The bytes of a DuckDB writer run (`COPY … TO`, see `lib/db/export.ts`) as a body: as written
 * (CSV, NDJSON, Parquet), or framed into the JSON envelope, DuckDB's NDJSON lines joined into the
 * members of `data`.
 *
 * A line format (CSV, NDJSON) can end with a last line instead of failing: when the run fails
 * with an error {@link CopyFraming.lastLine} has a line for (a canceled query, once streaming
 * began), the body hands out whole lines only (a cut row is dropped) and ends with that line.
 * @module
 */

import { ApiError } from "../errors.ts";
import type { CopyRun } from "../db/export.ts";
import { concatBytes } from "../bytes.ts";
import { type ByteProducer, bytesOf } from "./byte_producer.ts";

/** What surrounds the writer's bytes. */
export interface CopyFraming {
  prefix?: string;
  /** Text after the last byte (known only at the end). */
  suffix?: () => string;
  /** Turn NDJSON into array members: each line break becomes a comma (the last is dropped). */
  joinLines?: boolean;
  /** Called once when the run ends (`ok`: completely read) or is cancelled. */
  onEnd?: (ok: boolean) => Promise<void>;
  /**
   * Line formats only (no suffix): the text of the last line that ends the body when the run
   * fails with `err` (null: fail as usual). With it, only whole lines are handed out.
   */
  lastLine?: (err: ApiError) => string | null;
  /** With `lastLine`: told the number of whole lines handed out so far, as they go. */
  onLines?: (lines: number) => void;
}

/** Line breaks in `bytes`. */
function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Splits pieces at their last line break, carrying the cut line into the next piece. */
function lineCarrier() {
  let carry: Uint8Array | null = null;
  let eol = "\n";
  return {
    /** The line break of the lines so far (`\r\n` for CSV). */
    get eol() {
      return eol;
    },
    /** The whole lines of `carry + piece` (possibly empty); keeps the rest. */
    take(piece: Uint8Array): Uint8Array {
      const joined: Uint8Array = carry ? concatBytes([carry, piece]) : piece;
      const cut = joined.lastIndexOf(0x0a) + 1;
      if (cut > 1) eol = joined[cut - 2] === 0x0d ? "\r\n" : "\n";
      carry = cut < joined.byteLength ? joined.slice(cut) : null;
      return joined.subarray(0, cut);
    },
    /** What is carried (the end of a complete run). */
    flush(): Uint8Array | null {
      const out = carry;
      carry = null;
      return out;
    },
  };
}

/** Bytes of a `COPY` run, between an optional prefix and suffix (the JSON envelope). */
export function copyBody(run: CopyRun, parts: CopyFraming): ByteProducer {
  let prefix = parts.prefix;
  let finished = false;
  // With a suffix, the last piece is held back to drop the final line break (or comma).
  let held: Uint8Array | null = null;
  const lines = parts.lastLine && !parts.suffix ? lineCarrier() : null;
  let handed = 0;
  const end = async (ok: boolean) => {
    if (finished) return;
    finished = true;
    await run.cancel();
    await parts.onEnd?.(ok);
  };
  const finish = async (): Promise<Uint8Array | null> => {
    let last = held ?? new Uint8Array(0);
    held = null;
    let n = last.byteLength;
    const trailing = parts.joinLines ? 0x2c : 0x0a;
    while (n > 0 && (last[n - 1] === trailing || last[n - 1] === 0x0d)) n--;
    last = last.subarray(0, n);
    const suffix = parts.suffix ? bytesOf(parts.suffix()) : new Uint8Array(0);
    await end(true);
    if (last.byteLength + suffix.byteLength === 0) return null;
    const out = new Uint8Array(last.byteLength + suffix.byteLength);
    out.set(last);
    out.set(suffix, last.byteLength);
    return out;
  };
  return {
    async next() {
      if (finished) return null;
      if (prefix !== undefined) {
        const text = prefix;
        prefix = undefined;
        return bytesOf(text);
      }
      try {
        for (let piece = await run.read(); piece; piece = await run.read()) {
          if (lines) {
            const whole = lines.take(piece);
            if (whole.byteLength === 0) continue;
            if (parts.onLines) parts.onLines(handed += countLines(whole));
            return whole;
          }
          // JSON text never holds a raw line break, so every one ends a row.
          if (parts.joinLines) {
            for (let i = piece.indexOf(0x0a); i !== -1; i = piece.indexOf(0x0a, i + 1)) {
              piece[i] = 0x2c;
            }
          }
          if (!parts.suffix) return piece;
          const out = held;
          held = piece;
          if (out) return out;
        }
        await run.done;
      } catch (err) {
        await end(false);
        const line = lines && err instanceof ApiError ? parts.lastLine!(err) : null;
        if (line === null) throw err;
        lines!.flush(); // a cut row is dropped
        return bytesOf(`${line}${lines!.eol}`);
      }
      if (lines) {
        await end(true);
        return lines.flush();
      }
      return await finish();
    },
    cancel: () => end(false),
  };
}
