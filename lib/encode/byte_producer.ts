/**
 * Encoded bodies as the response layer takes them: a pull-based producer of bytes, whose first
 * bytes (up to {@link LOOKAHEAD_BYTES}) are read before the answer is handed on. Whatever fails
 * by then fails the request with a normal error; a failure later can only abort the body.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { producerOf, readAhead } from "./byte_producer.ts";
 * const body = await readAhead(producerOf([new Uint8Array(3), new Uint8Array(2)]), false, "js");
 * equal(body.size, 5);
 * equal(body.ended, true);
 * ```
 * @module
 */

/** Output read before the status line is sent. */
export const LOOKAHEAD_BYTES = 64 * 1024;

/** A pull-based body: `next()` gives bytes, `null` at the end; throws on failure. */
export interface ByteProducer {
  next(): Promise<Uint8Array | null>;
  /** Stops early and frees everything (client gone, or a failure before the headers). */
  cancel(): Promise<void>;
}

/** An encoded answer, its first bytes already read. */
export interface EncodedBody {
  /** The bytes read ahead, in order. */
  head: Uint8Array[];
  /** Bytes in `head`. */
  size: number;
  /** True when `head` is the whole body. */
  ended: boolean;
  /** The rest of the body (gives `null` at once when `ended`). */
  rest: ByteProducer;
  /** True when a row cap cut the rows. */
  truncated: boolean;
  /** Who wrote the bytes: DuckDB's writer or the JS encoders. */
  writer: "duckdb" | "js";
  /** Rows encoded so far (final once the body has ended); absent when not counted. */
  rows?: { count: number };
}

const textEncoder = new TextEncoder();

/** UTF-8 bytes of `part` (bytes pass through). */
export function bytesOf(part: string | Uint8Array): Uint8Array {
  return typeof part === "string" ? textEncoder.encode(part) : part;
}

/** A producer of bytes already encoded. */
export function producerOf(parts: Uint8Array[]): ByteProducer {
  let i = 0;
  return {
    next: () => Promise.resolve(i < parts.length ? parts[i++] : null),
    cancel: () => Promise.resolve(),
  };
}

/**
 * Reads up to {@link LOOKAHEAD_BYTES} of `producer`; on failure the producer is cancelled and the
 * error thrown.
 */
export async function readAhead(
  producer: ByteProducer,
  truncated: boolean,
  writer: "duckdb" | "js",
): Promise<EncodedBody> {
  const head: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  try {
    while (size < LOOKAHEAD_BYTES) {
      const piece = await producer.next();
      if (piece === null) {
        ended = true;
        break;
      }
      head.push(piece);
      size += piece.byteLength;
    }
  } catch (err) {
    await producer.cancel();
    throw err;
  }
  return { head, size, ended, rest: producer, truncated, writer };
}
