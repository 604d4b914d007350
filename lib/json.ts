/**
 * JSON values as the server parses them: integers beyond 2^53 are `bigint`, and numbers whose
 * text a double cannot hold exactly are {@link JsonNumber}. Shared by every layer that handles
 * request values (HTTP parses them, the planners and binders use them).
 * @module
 */

/** A JSON number kept as its exact text (a double would round it). */
export class JsonNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A parsed JSON value. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonNumber
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Most levels of arrays and objects a request's JSON may nest. DuckDB's casts and the driver's
 * value builders slow down sharply with depth (a 400-level list takes seconds to cast), and no
 * table type needs more; a deeper body is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in JSON `text`, counting up to `limit + 1` (one scan,
 * brackets inside strings skipped): more than `limit` means too deep. Malformed text gives some
 * number; the parser reports what is wrong with it.
 */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: skip to its closing quote, stepping over escapes
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 92) i++;
        else if (s === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 93 || c === 125) depth--;
  }
  return deepest;
}
