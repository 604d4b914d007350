/**
 * The bytes of a DuckDB writer run (`COPY … TO`, see `lib/db/export.ts`) as a body: as written
 * (CSV, NDJSON, Parquet), or framed into the JSON envelope, DuckDB's NDJSON lines joined into the
 * members of `data`.
 * @module
 */

import type { CopyRun } from "../db/export.ts";
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
}

/** Bytes of a `COPY` run, between an optional prefix and suffix (the JSON envelope). */
export function copyBody(run: CopyRun, parts: CopyFraming): ByteProducer {
  let prefix = parts.prefix;
  let finished = false;
  // With a suffix, the last piece is held back to drop the final line break (or comma).
  let held: Uint8Array | null = null;
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
        throw err;
      }
      return await finish();
    },
    cancel: () => end(false),
  };
}
