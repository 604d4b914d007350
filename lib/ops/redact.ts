/**
 * What logs and events may show of a request: its URI and headers with every secret removed.
 * Credentials headers (`X-API-Key`, `Authorization`, `Proxy-Authorization`, `Cookie`) are
 * `REDACTED`; query parameters with key-like names (`key`, `api_key`, `token`, `secret`,
 * `password`, `auth`, `signature`, ...) have their values hidden; and the key the request presented
 * (in any header) is cut out wherever else it appears, as sent or percent-encoded, as are strings
 * shaped like duckserve keys (`dsk_<id>_<secret>`), so the key never reaches a log line.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { redactHeaders, redactUri } from "./redact.ts";
 * equal(redactUri("/duckdb/api/t?api_key=s3cret&limit=5", null), "/duckdb/api/t?api_key=REDACTED&limit=5");
 * equal(redactUri("/q/my-long-custom-key-1234567890", "my-long-custom-key-1234567890"), "/q/REDACTED");
 * const headers = new Headers({ "x-api-key": "abc", accept: "text/csv" });
 * equal(JSON.stringify(redactHeaders(headers, "abc")), '{"Accept":["text/csv"],"X-Api-Key":["REDACTED"]}');
 * ```
 * @module
 */

/** What stands where a secret was. */
export const REDACTED = "REDACTED";

/** Headers that carry credentials: their values are never shown. */
const SECRET_HEADERS = new Set([
  "x-api-key",
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
]);

/** Query parameter names whose values are treated as secrets. */
const SECRET_PARAM = /key|token|secret|passw|auth|signature|credential|session/i;

/** A generated duckserve key: `dsk_` + 8-character id + `_` + 43 base64url characters. */
const KEY_SHAPE = /dsk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}/g;

/** The key a request presents (`X-API-Key`, or `Authorization: Bearer`), or null. */
export function presentedSecret(headers: Headers): string | null {
  return secretOf(headers.get("x-api-key"), headers.get("authorization"));
}

/** The key presented by these header values (`X-API-Key` first, then a Bearer token), or null. */
function secretOf(apiKey: string | null, authorization: string | null): string | null {
  if (apiKey) return apiKey.trim() || null;
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
  return bearer ? bearer[1].trim() || null : null;
}

/** `text` with the presented `secret` (as sent and percent-encoded) and key-shaped strings cut. */
export function scrubSecret(text: string, secret: string | null): string {
  let out = text;
  if (secret && secret.length >= 4) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(REDACTED);
  }
  return out.includes("dsk_") ? out.replace(KEY_SHAPE, REDACTED) : out;
}

/**
 * The path and query of a request for logs: key-like parameters' values hidden, the presented
 * key cut out (see the module documentation).
 */
export function redactUri(pathAndQuery: string, secret: string | null): string {
  const q = pathAndQuery.indexOf("?");
  let uri = pathAndQuery;
  if (q >= 0) {
    const parts = pathAndQuery.slice(q + 1).split("&").map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SECRET_PARAM.test(safeDecode(name)) ? `${name}=${REDACTED}` : pair;
    });
    uri = `${pathAndQuery.slice(0, q)}?${parts.join("&")}`;
  }
  return scrubSecret(uri, secret);
}

/**
 * A request's headers: a `Headers` object, or the names and values in turn as the client sent
 * them (Node's `rawHeaders`, which the listener reports: cheaper to walk than `Headers`).
 */
export type RequestHeaders = Headers | readonly string[];

/** Calls `fn` with each header's value and lower-case name. */
function eachHeader(headers: RequestHeaders, fn: (value: string, name: string) => void): void {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) fn(headers[i + 1], headers[i].toLowerCase());
  } else {
    // forEach: several times faster than iterating Deno's Headers.
    (headers as Headers).forEach(fn);
  }
}

/** Request headers by canonical name (`X-Api-Key`), credentials redacted, the key cut out. */
export function redactHeaders(
  headers: RequestHeaders,
  secret: string | null,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  eachHeader(headers, (value, name) => {
    const shown = SECRET_HEADERS.has(name) ? REDACTED : scrubSecret(value, secret);
    const canonical = canonicalName(name);
    const list = out[canonical];
    if (list) list.push(shown);
    else out[canonical] = [shown];
  });
  return out;
}

/** JSON of recent header sets (most clients send the same headers on every request). */
const HEADERS_JSON = new Map<string, string>();
const MAX_HEADERS_JSON = 256;

/** What a log line needs of a request's headers, read in one pass. */
export interface HeaderFacts {
  /** The `Host` header, or null. */
  host: string | null;
  /** The key the request presents ({@link presentedSecret}), or null. */
  secret: string | null;
  /** {@link redactHeaders} as JSON text. */
  json: string;
}

/**
 * The `Host` header, the presented key and the redacted headers as JSON, from one walk over the
 * headers. The JSON is cached by the header set: the cache is keyed by names and values with
 * credentials headers' values left out, and a set holding the presented key anywhere else is
 * never cached (no key is kept in memory beyond the request).
 */
export function headerFacts(headers: RequestHeaders): HeaderFacts {
  if (!Array.isArray(headers)) return walkHeaders(headers).facts;
  const raw = headers as readonly string[];
  const repeated = previousRaw === null ? null : repeatedFacts(raw, previousRaw);
  if (repeated) return repeated;
  const { facts, cacheable } = walkHeaders(raw);
  previousRaw = cacheable ? rawMemo(raw, facts) : null;
  return facts;
}

/** A raw header list whose facts were cached: names and plain values as sent. */
interface RawMemo {
  /** Names and values in turn; a credentials header's value left out (""). */
  raw: string[];
  /** Per header: 0 plain, 1 `X-API-Key`, 2 `Authorization`, 3 another credentials header. */
  kinds: Uint8Array;
  /** The facts of this list when it presents no key (`secret` null). */
  facts: HeaderFacts;
}

/**
 * The previous request's raw header list, when its facts were cacheable: most clients send the
 * same headers each time, and comparing them with the previous list is cheaper than building
 * the cache key.
 */
let previousRaw: RawMemo | null = null;

/** The facts of `raw` when it repeats `memo` but for credentials values, else null. */
function repeatedFacts(raw: readonly string[], memo: RawMemo): HeaderFacts | null {
  if (raw.length !== memo.raw.length) return null;
  let apiKey: string | null = null;
  let authorization: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] !== memo.raw[i]) return null;
    const kind = memo.kinds[i >> 1];
    if (kind === 0) {
      if (raw[i + 1] !== memo.raw[i + 1]) return null;
    } else if (kind === 1) apiKey = apiKey === null ? raw[i + 1] : `${apiKey}, ${raw[i + 1]}`;
    else if (kind === 2) {
      authorization = authorization === null ? raw[i + 1] : `${authorization}, ${raw[i + 1]}`;
    }
  }
  if (apiKey === null && authorization === null) return memo.facts;
  const secret = secretOf(apiKey, authorization);
  if (secret) {
    // The key shown anywhere else: not the cached JSON.
    for (let i = 0; i < raw.length; i++) {
      if ((i & 1) === 0 || memo.kinds[i >> 1] === 0) {
        if (raw[i].includes(secret)) return null;
      }
    }
  }
  return { ...memo.facts, secret };
}

/** The memo of `raw` (credentials values left out). */
function rawMemo(raw: readonly string[], facts: HeaderFacts): RawMemo {
  const kinds = new Uint8Array(raw.length >> 1);
  const kept = [...raw];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!SECRET_HEADERS.has(name)) continue;
    kinds[i >> 1] = name === "x-api-key" ? 1 : name === "authorization" ? 2 : 3;
    kept[i + 1] = "";
  }
  return { raw: kept, kinds, facts: { ...facts, secret: null } };
}

/** {@link headerFacts} by walking the headers (and the JSON cache); whether it may be cached. */
function walkHeaders(headers: RequestHeaders): { facts: HeaderFacts; cacheable: boolean } {
  let key = "";
  let host: string | null = null;
  let apiKey: string | null = null;
  let authorization: string | null = null;
  eachHeader(headers, (value, name) => {
    if (SECRET_HEADERS.has(name)) {
      key += `${name}\n`;
      // Repeated headers read as `Headers.get` reads them: joined with ", ".
      if (name === "x-api-key") apiKey = apiKey === null ? value : `${apiKey}, ${value}`;
      else if (name === "authorization") {
        authorization = authorization === null ? value : `${authorization}, ${value}`;
      }
    } else {
      key += `${name}\n${value}\n`;
      if (name === "host") host = value;
    }
  });
  const secret = secretOf(apiKey, authorization);
  const cacheable = key.length <= 8192 && !(secret && key.includes(secret)) &&
    !key.includes("dsk_");
  if (cacheable) {
    const cached = HEADERS_JSON.get(key);
    if (cached !== undefined) return { facts: { host, secret, json: cached }, cacheable };
  }
  const json = JSON.stringify(redactHeaders(headers, secret));
  if (cacheable) {
    if (HEADERS_JSON.size >= MAX_HEADERS_JSON) HEADERS_JSON.clear();
    HEADERS_JSON.set(key, json);
  }
  return { facts: { host, secret, json }, cacheable };
}

const CANONICAL = new Map<string, string>();

/** `x-request-id` as Go (and so Caddy) writes header names: `X-Request-Id`. */
export function canonicalName(name: string): string {
  let canonical = CANONICAL.get(name);
  if (canonical === undefined) {
    canonical = name.replace(
      /(^|-)([a-z])/g,
      (_, dash: string, c: string) => dash + c.toUpperCase(),
    );
    if (CANONICAL.size < 1024) CANONICAL.set(name, canonical);
  }
  return canonical;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}
