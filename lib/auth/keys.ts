/**
 * API keys: generation (256 bits from the OS CSPRNG), the SHA-256 digest that is all the store
 * keeps, the constant-time comparison, custom-key and expiry validation, and reading the key a
 * request presents (`X-API-Key: <key>` or `Authorization: Bearer <key>`).
 *
 * A generated key looks like `dsk_<id>_<secret>`: `<id>` is the 8-character key id shown by
 * `auth key list` (not secret), `<secret>` is 32 random bytes in base64url (43 characters). A
 * custom key (`auth key add -k`) gets a random key id that is not part of the key.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { generateKey, hashKey, KEY_ID_PATTERN } from "./keys.ts";
 * const { key, keyId } = generateKey();
 * ok(key.startsWith(`dsk_${keyId}_`) && KEY_ID_PATTERN.test(keyId));
 * ok(hashKey(key).length === 64 && hashKey(key) === hashKey(key));
 * ```
 * @module
 */

import { createHash } from "node:crypto";
import { base64url } from "../bytes.ts";
import { parseRfc3339 } from "../time.ts";
import { AuthInputError } from "../permissions.ts";

/** Shortest custom key accepted by `auth key add -k`. */
export const MIN_CUSTOM_KEY_LENGTH = 24;
/** Longest key considered at all (longer header values are rejected without hashing). */
export const MAX_KEY_LENGTH = 512;
/** A key id: 8 lowercase letters and digits. */
export const KEY_ID_PATTERN = /^[a-z0-9]{8}$/;

const ID_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789";
const KEY_CHARACTERS = /^[\x21-\x7e]+$/;

/** A random key id (8 characters from an unambiguous alphabet). */
export function newKeyId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let id = "";
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

/** A new key with 256 random bits and its key id. */
export function generateKey(): { key: string; keyId: string } {
  const keyId = newKeyId();
  const secret = crypto.getRandomValues(new Uint8Array(32));
  return { key: `dsk_${keyId}_${base64url(secret)}`, keyId };
}

/** A key's status at `now` (epoch ms): inactive wins over expired. */
export function keyStatus(
  key: { active: boolean; expiresAt: number | null },
  now: number,
): "active" | "inactive" | "expired" {
  if (!key.active) return "inactive";
  if (key.expiresAt !== null && key.expiresAt <= now) return "expired";
  return "active";
}

/** The lowercase hex SHA-256 digest of a key: what the store keeps instead of the key. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Checks a custom key; throws {@link AuthInputError} with the rule it breaks. */
export function validateCustomKey(key: string): void {
  if (key.length < MIN_CUSTOM_KEY_LENGTH) {
    throw new AuthInputError(
      `a custom key must be at least ${MIN_CUSTOM_KEY_LENGTH} characters (got ${key.length})`,
    );
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new AuthInputError(`a custom key must be at most ${MAX_KEY_LENGTH} characters`);
  }
  if (!KEY_CHARACTERS.test(key)) {
    throw new AuthInputError(
      "a custom key may only contain printable ASCII characters without spaces",
    );
  }
}

/** Parses an RFC 3339 timestamp (`2030-12-31T23:59:59Z`, offsets allowed) to epoch ms. */
export function parseExpiry(text: string): number {
  const ms = parseRfc3339(text);
  // Date.parse takes hour 24 as the next day's midnight; an expiry must name a real time.
  if (Number.isNaN(ms) || /[Tt ]24:/.test(text)) {
    throw new AuthInputError(
      `invalid expiry "${text}": expected an RFC 3339 timestamp such as 2030-12-31T23:59:59Z`,
    );
  }
  return ms;
}

/**
 * The key a request presents: the `X-API-Key` header, else an `Authorization: Bearer` token.
 * Returns null when there is none (or it is absurdly long).
 */
export function presentedKey(headers: Headers): string | null {
  let key = headers.get("x-api-key");
  if (key === null) {
    const authorization = headers.get("authorization");
    if (authorization !== null && /^bearer\s/i.test(authorization)) {
      key = authorization.slice(7);
    }
  }
  key = key?.trim() ?? null;
  if (!key || key.length > MAX_KEY_LENGTH) return null;
  return key;
}
