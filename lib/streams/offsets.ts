/**
 * Stream offsets: fixed-width, zero-padded `GGGGGGGGGGGGGGGG_PPPPPPPPPPPPPPPP` strings where `G` is a
 * generation (always 0 today, reserved for future compaction) and `P` is the logical byte position
 * in the stream. Lexicographic order equals numeric order. Pure functions only.
 * @module
 */

const WIDTH = 16;
const OFFSET_RE = /^(\d{16})_(\d{16})$/;
const ZERO_GENERATION = "0".repeat(WIDTH);

/** The offset of the very start of every stream. */
export const ZERO_OFFSET = `${ZERO_GENERATION}_${ZERO_GENERATION}`;

/** A parsed `offset` query parameter. */
export type OffsetParam =
  | { kind: "start" }
  | { kind: "now" }
  | { kind: "at"; pos: number };

/**
 * Formats a logical byte position as an offset string.
 *
 * @example
 * ```ts
 * import { formatOffset } from "./offsets.ts";
 * formatOffset(10); // "0000000000000000_0000000000000010"
 * ```
 */
export function formatOffset(pos: number): string {
  return `${ZERO_GENERATION}_${String(pos).padStart(WIDTH, "0")}`;
}

/**
 * Parses a concrete offset string (not a sentinel). Returns the position, `Infinity` for a
 * well-formed offset too large to be real, or `null` when the string is not a valid offset.
 */
export function parseOffset(raw: string): number | null {
  const m = OFFSET_RE.exec(raw);
  if (!m) return null;
  if (m[1] !== ZERO_GENERATION) return null;
  const pos = Number(m[2]);
  return Number.isSafeInteger(pos) ? pos : Infinity;
}

/**
 * Parses the `offset` query parameter with a strict whitelist: `-1`, `now`, or a concrete offset.
 * Returns `null` for anything else (the caller answers 400).
 */
export function parseOffsetParam(raw: string): OffsetParam | null {
  if (raw === "-1") return { kind: "start" };
  if (raw === "now") return { kind: "now" };
  const pos = parseOffset(raw);
  return pos === null ? null : { kind: "at", pos };
}
