/**
 * JSON mode: turning an append body into messages (one-level array flattening) and messages back
 * into a JSON array response body. Pure functions only.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Result of parsing a JSON-mode body. */
export type JsonParseResult =
  | { ok: true; messages: Uint8Array[] }
  | { ok: false; reason: "invalid_json" | "empty_array" };

/**
 * Parses a JSON append body. A top-level array is flattened one level (each element becomes a
 * message); any other value is one message. Messages are re-serialized compactly.
 *
 * @param allowEmptyArray true for PUT (creates an empty stream), false for POST (`[]` is an error)
 *
 * @example
 * ```ts
 * import { parseJsonMessages } from "./json_mode.ts";
 * const r = parseJsonMessages(new TextEncoder().encode('[{"a":1},[2]]'), false);
 * // r.ok && r.messages.length === 2
 * ```
 */
export function parseJsonMessages(body: Uint8Array, allowEmptyArray: boolean): JsonParseResult {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    return { ok: false, reason: "invalid_json" };
  }
  if (Array.isArray(value)) {
    if (value.length === 0 && !allowEmptyArray) return { ok: false, reason: "empty_array" };
    return { ok: true, messages: value.map((v) => encoder.encode(JSON.stringify(v))) };
  }
  return { ok: true, messages: [encoder.encode(JSON.stringify(value))] };
}

/** Serializes one JSON value as a message (used by system appends). */
export function encodeJsonMessage(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError("value is not JSON-serializable");
  return encoder.encode(text);
}

/** Joins serialized messages into one JSON array body: `[m1,m2,...]`. */
export function joinJsonArray(messages: Uint8Array[]): Uint8Array {
  let size = 2 + Math.max(0, messages.length - 1);
  for (const m of messages) size += m.length;
  const out = new Uint8Array(size);
  out[0] = 0x5b; // [
  let at = 1;
  messages.forEach((m, i) => {
    if (i > 0) out[at++] = 0x2c; // ,
    out.set(m, at);
    at += m.length;
  });
  out[at] = 0x5d; // ]
  return out;
}
