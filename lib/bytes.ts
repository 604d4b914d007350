/**
 * Byte helpers shared by the HTTP layer, the streams module, cursors and API keys.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { concatBytes } from "./bytes.ts";
 * deepEqual(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 * @module
 */

/** Concatenates byte arrays into one new array (or returns the only one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (parts.length === 1 && parts[0].buffer instanceof ArrayBuffer) {
    return parts[0] as Uint8Array<ArrayBuffer>;
  }
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Unpadded base64url (RFC 4648 §5) of `bytes`. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
