import { deepEqual, equal, match, notEqual, ok, throws } from "node:assert/strict";
import { AuthInputError } from "../../lib/permissions.ts";
import {
  constantTimeEqual,
  generateKey,
  hashKey,
  KEY_ID_PATTERN,
  newKeyId,
  parseExpiry,
  presentedKey,
  validateCustomKey,
} from "../../lib/auth/keys.ts";

Deno.test("generateKey() makes dsk_<id>_<256-bit secret> keys, all different", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { key, keyId } = generateKey();
    match(keyId, KEY_ID_PATTERN);
    match(key, /^dsk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    ok(key.startsWith(`dsk_${keyId}_`));
    // 43 base64url characters carry 258 bits, i.e. all 32 random bytes
    const secret = key.slice(13);
    const bytes = Uint8Array.from(
      atob(secret.replaceAll("-", "+").replaceAll("_", "/") + "="),
      (c) => c.charCodeAt(0),
    );
    equal(bytes.length, 32);
    ok(!seen.has(key));
    seen.add(key);
  }
  notEqual(newKeyId(), newKeyId());
});

Deno.test("hashKey() is hex SHA-256", () => {
  equal(hashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  equal(hashKey("abc").length, 64);
});

Deno.test("constantTimeEqual() compares whole strings", () => {
  ok(constantTimeEqual("abcdef", "abcdef"));
  ok(!constantTimeEqual("abcdef", "abcdeg"));
  ok(!constantTimeEqual("abcdef", "abcde"));
  ok(constantTimeEqual("", ""));
});

Deno.test("validateCustomKey() wants 24+ printable characters without spaces", () => {
  validateCustomKey("x".repeat(24));
  throws(() => validateCustomKey("x".repeat(23)), AuthInputError);
  throws(() => validateCustomKey("has a space but long enough ok"), /printable/);
  throws(() => validateCustomKey("ü".repeat(30)), /printable/);
  throws(() => validateCustomKey("x".repeat(600)), /at most/);
});

Deno.test("parseExpiry() accepts RFC 3339 only", () => {
  equal(parseExpiry("2030-12-31T23:59:59Z"), Date.UTC(2030, 11, 31, 23, 59, 59));
  equal(parseExpiry("2030-12-31T23:59:59.5+02:00"), Date.UTC(2030, 11, 31, 21, 59, 59, 500));
  for (
    const bad of [
      "2030-12-31",
      "tomorrow",
      "2030-13-01T00:00:00Z",
      "2030-12-31T25:00:00Z",
      "2030-12-31T24:00:00Z",
      "",
    ]
  ) {
    throws(() => parseExpiry(bad), AuthInputError, bad);
  }
});

Deno.test("presentedKey() reads X-API-Key, else Authorization: Bearer", () => {
  const h = (init: Record<string, string>) => new Headers(init);
  equal(presentedKey(h({ "x-api-key": "k1" })), "k1");
  equal(presentedKey(h({ authorization: "Bearer k2" })), "k2");
  equal(presentedKey(h({ authorization: "bearer   k3 " })), "k3");
  equal(presentedKey(h({ "x-api-key": "k1", authorization: "Bearer k2" })), "k1");
  equal(presentedKey(h({ authorization: "Basic abc" })), null);
  equal(presentedKey(h({ "x-api-key": "" })), null);
  equal(presentedKey(h({})), null);
  equal(presentedKey(h({ "x-api-key": "x".repeat(513) })), null);
  deepEqual(presentedKey(h({ "x-api-key": " spaced " })), "spaced");
});
