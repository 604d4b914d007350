/**
 * Writes a handler's `Response` to an HTTP/1.1 response or an HTTP/2 stream (a {@link Sink}).
 * A body that is a string or bytes (every JSON answer, cached results, errors) is written at once
 * with its length, head and body together, read from the `Response` without making a
 * `ReadableStream` (see {@link staticPartsOf}); any other body is streamed with backpressure, and
 * a client that leaves cancels it (which interrupts the query behind it).
 * @module
 */

/** Header name/value pairs as they go out (repeats allowed, e.g. `set-cookie`). */
export type HeaderPairs = [string, string][];

/** Headers added to every answer of a listener (lower-case names). */
export type ExtraHeaders = Readonly<Record<string, string>>;

/** Where a response goes: an HTTP/1.1 response or an HTTP/2 stream. */
export interface Sink {
  /** Sends status and headers; `end` when there is no body. */
  head(status: number, headers: HeaderPairs, end: boolean): void;
  /** False when the client is not keeping up (wait for {@link Sink.drained}). */
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): void;
  /** Resolves when the client takes more, or has gone. */
  drained(): Promise<unknown>;
  /** Breaks the response off (a body that failed mid-stream). */
  fail(): void;
}

/** What {@link writeResponse} needs besides the response. */
export interface WriteOptions {
  /** A HEAD request: the head only. */
  head: boolean;
  extra: ExtraHeaders;
  /** Aborts when the client has gone; `aborted` tells without making the signal. */
  abort: { readonly signal: AbortSignal; readonly aborted: boolean };
}

/**
 * Writes `response` to `sink`: at once when its body is a string or bytes (nothing to await),
 * otherwise streamed; gives (or resolves with, when done or the client has gone) the body bytes
 * written, or, when the answer broke off, a negative number that {@link brokenOffBytes} turns
 * back into the bytes written before.
 */
export function writeResponse(
  sink: Sink,
  response: Response,
  options: WriteOptions,
): Promise<number> | number {
  const parts = staticPartsOf(response);
  if (parts === null) return writeStreamed(sink, response, options);
  if (options.abort.aborted) return BROKE_OFF;
  let body = parts.body;
  if (typeof body === "string") body = ENCODER.encode(body);
  const headers = withExtra(parts.headers, options.extra);
  if (body === null || options.head) {
    sink.head(response.status, headers, true);
    return 0;
  }
  if (!hasHeader(parts.headers, "content-length")) {
    headers.push(["content-length", String(body.byteLength)]);
  }
  sink.head(response.status, headers, false);
  sink.end(body);
  return body.byteLength;
}

/** What {@link writeResponse} gives for an answer that broke off before any body byte. */
export const BROKE_OFF = -1;

/** The body bytes written before an answer broke off, from {@link writeResponse}'s number. */
export function brokenOffBytes(written: number): number {
  return -1 - written;
}

const ENCODER = new TextEncoder();

/** The parts of a response whose body needs no stream. */
interface StaticParts {
  headers: readonly (readonly [string, string])[];
  body: string | Uint8Array | null;
}

/**
 * Deno keeps a `Response`'s header list and body source in an internal record; a body made from a
 * string or bytes stays there as that value until someone reads `body` (which makes a
 * `ReadableStream` around it, what `Deno.serve` avoids). Deno 2.9 also defers some of a new
 * response's parts (a lone `content-type`, `new Response(text)`'s body and type, `Response.json`)
 * until `headers` is first read, so the listener reads `headers` first, which completes the
 * record. The record is found once by its symbol's description, as `@hono/node-server` finds
 * undici's, and checked on probes; when it is missing or its shape differs (another Deno), every
 * response takes the streamed path, which is correct, only slower.
 */
const INTERNAL: { response: symbol; lazy: symbol[] } | null = (() => {
  const symbols = Object.getOwnPropertySymbols(new Response("probe"));
  const response = symbols.find((s) => s.description === "response");
  if (!response) return null;
  const lazy = symbols.filter((s) => s.description?.startsWith("lazy"));
  const probe = (made: Response, type: string) => {
    const parts = readStatic(made, response, lazy);
    return parts !== null && parts.body === "probe" &&
      parts.headers.some(([name, value]) =>
        name.toLowerCase() === "content-type" && value === type
      );
  };
  const ok = probe(new Response("probe"), "text/plain;charset=UTF-8") &&
    probe(new Response("probe", { headers: { "content-type": "x/probe" } }), "x/probe") &&
    probe(new Response("probe", { headers: [["x-a", "1"], ["Content-Type", "x/p"]] }), "x/p");
  return ok ? { response, lazy } : null;
})();

/** True when responses with a string or bytes body are written without a stream. */
export const STATIC_BODIES: boolean = INTERNAL !== null;

/** The header list and string/bytes body of `response`, or null (stream it). */
export function staticPartsOf(response: Response): StaticParts | null {
  return INTERNAL === null ? null : readStatic(response, INTERNAL.response, INTERNAL.lazy);
}

function readStatic(response: Response, key: symbol, lazy: symbol[]): StaticParts | null {
  void response.headers; // completes the record (see INTERNAL)
  const record = response as unknown as Record<symbol, unknown>;
  for (const deferred of lazy) if (record[deferred] != null) return null;
  const inner = record[key] as
    | { headerList?: unknown; body?: { streamOrStatic?: unknown; source?: unknown } | null }
    | undefined;
  if (!inner || !Array.isArray(inner.headerList)) return null;
  const body = inner.body;
  if (body === null) return { headers: inner.headerList, body: null };
  if (typeof body !== "object" || body === undefined) return null;
  const held = body.streamOrStatic as { body?: unknown; consumed?: unknown } | undefined;
  if (!held || held instanceof ReadableStream || held.consumed !== false) return null;
  const source = body.source;
  if (held.body !== source) return null;
  if (typeof source === "string" || source instanceof Uint8Array) {
    return { headers: inner.headerList, body: source };
  }
  return null;
}

/** `headers` plus the listener's extra headers the handler did not set (a new list). */
function withExtra(
  headers: readonly (readonly [string, string])[],
  extra: ExtraHeaders,
): HeaderPairs {
  const out = headers.slice() as HeaderPairs;
  for (const name in extra) if (!hasHeader(headers, name)) out.push([name, extra[name]]);
  return out;
}

/** True when `headers` has `name` (lower case). */
function hasHeader(headers: readonly (readonly [string, string])[], name: string): boolean {
  for (let i = 0; i < headers.length; i++) {
    const key = headers[i][0];
    if (key.length === name.length && key.toLowerCase() === name) return true;
  }
  return false;
}

/**
 * Writes a streamed body with backpressure; a client that leaves cancels it. Resolves as
 * {@link writeResponse} does.
 */
async function writeStreamed(
  sink: Sink,
  response: Response,
  options: WriteOptions,
): Promise<number> {
  const signal = options.abort.signal;
  const body = response.body;
  if (signal.aborted) {
    await body?.cancel().catch(() => {});
    return BROKE_OFF;
  }
  const pairs: HeaderPairs = [];
  response.headers.forEach((value, name) => void pairs.push([name, value]));
  const headers = withExtra(pairs, options.extra);
  if (!body || options.head) {
    if (body) await body.cancel().catch(() => {});
    sink.head(response.status, headers, true);
    return 0;
  }
  const reader = body.getReader();
  // A client that leaves cancels the body (which interrupts its query); the handler counts as
  // running until that cleanup is done.
  let cancelled: Promise<void> | null = null;
  const cancel = () => {
    cancelled = reader.cancel(signal.reason).catch(() => {});
  };
  signal.addEventListener("abort", cancel, { once: true });
  let written = 0;
  const write = async (chunk: Uint8Array) => {
    written += chunk.byteLength;
    if (!sink.write(chunk)) await sink.drained();
  };
  try {
    const first = await reader.read();
    if (first.done) {
      sink.head(response.status, headers, true);
      return 0;
    }
    // A body that is one chunk ends at once; a stream (SSE, exports) may wait long for its next
    // chunk, so its head and first chunk go out without waiting.
    const pending = reader.read();
    let next = await Promise.race([pending, nextTurn()]);
    if (next !== LATER && next.done) {
      // One chunk: send it with a length, head and body together.
      if (!hasHeader(headers, "content-length")) {
        headers.push(["content-length", String(first.value.byteLength)]);
      }
      sink.head(response.status, headers, false);
      sink.end(first.value);
      return first.value.byteLength;
    }
    sink.head(response.status, headers, false);
    await write(first.value);
    if (next === LATER) next = await pending;
    for (; !next.done; next = await reader.read()) {
      if (signal.aborted) return -1 - written;
      await write(next.value);
    }
    sink.end();
    return signal.aborted ? -1 - written : written;
  } catch {
    // The body failed mid-stream (the app logged why): break the response off so the client
    // sees a truncated answer rather than a complete one.
    if (!signal.aborted) sink.fail();
    return -1 - written;
  } finally {
    signal.removeEventListener("abort", cancel);
    await cancelled;
  }
}

const LATER = Symbol("later");

/**
 * Resolves a few microtask hops later: a body whose next chunk is already there (a stream that
 * enqueued everything) has settled its read by then (one hop in Deno 2.9); one that is still
 * waiting is treated as a stream. No timer per response.
 */
async function nextTurn(): Promise<typeof LATER> {
  for (let hop = 0; hop < 4; hop++) await null;
  return LATER;
}
