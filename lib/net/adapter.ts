/**
 * The bridge between Node's HTTP server objects and a web `fetch` handler: HTTP/1.1 requests
 * (`node:http`'s request and response, also over TLS) and HTTP/2 streams (`node:http2`'s core
 * stream API, cheaper than its compatibility layer) become a `Request` whose `signal` aborts when
 * the client goes away (a closed connection, a stream reset), and the handler's `Response` is
 * written back with backpressure; a client that leaves mid-body cancels the body stream, which
 * interrupts the query behind it.
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { Readable } from "node:stream";
import { ApiError, renderProblem } from "../errors.ts";

/** Where a request came from, in the shape of `Deno.ServeHandlerInfo` (Hono's `c.env`). */
export interface ConnInfo {
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
  /** `http/1.1` or `h2`. */
  proto: "http/1.1" | "h2";
  /** True on a TLS listener. */
  secure: boolean;
}

/** A web request handler, as `Deno.serve` takes it. */
export type FetchHandler = (request: Request, info: ConnInfo) => Response | Promise<Response>;

/** Headers added to every answer of a listener. */
export type ExtraHeaders = Readonly<Record<string, string>>;

/** What was sent for one request, reported once it is over (access logs, metrics). */
export interface Answered {
  status: number;
  /** Body bytes written. */
  bytes: number;
  /** `performance.now()` when the request arrived. */
  started: number;
  /** The client went away (or the body failed) before the answer was complete. */
  aborted: boolean;
}

/** Told about every answered request, with the request the handler got. */
export type AnswerObserver = (request: Request, info: ConnInfo, answered: Answered) => void;

const COLON = 58; // ":" starts an HTTP/2 pseudo-header
/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2). */
const H2_FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding"]);

/** Where a response goes: an HTTP/1.1 response or an HTTP/2 stream. */
interface Sink {
  /** Sends status and headers; `end` when there is no body. */
  head(status: number, headers: Record<string, string | string[]>, end: boolean): void;
  /** False when the client is not keeping up (wait for {@link drained}). */
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): void;
  drained(): Promise<unknown>;
  /** Breaks the response off (a body that failed mid-stream). */
  fail(): void;
}

/** Serves one HTTP/1.1 request with `handler`; resolves when answered or the client has gone. */
export function serveHttp1(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  secure: boolean,
  extra: ExtraHeaders = {},
  observe?: AnswerObserver,
): Promise<void> {
  const started = performance.now();
  const controller = new AbortController();
  const gone = Promise.withResolvers<void>();
  res.once("close", () => {
    if (!res.writableEnded) controller.abort(new DOMException("client went away", "AbortError"));
    gone.resolve();
  });
  const method = req.method ?? "GET";
  const build = () => {
    const raw = req.rawHeaders;
    const headers = new Headers();
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    const body = method !== "GET" && method !== "HEAD" && hasHttp1Body(req) ? req : null;
    const host = req.headers.host ?? "localhost";
    return newRequest(`${secure ? "https" : "http"}://${host}${req.url}`, method, headers, body, {
      signal: controller.signal,
    });
  };
  const sink: Sink = {
    head: (status, headers, end) => {
      res.writeHead(status, headers);
      if (end) res.end();
    },
    write: (chunk) => res.write(chunk),
    end: (chunk) => (chunk ? res.end(chunk) : res.end()),
    drained: () => new Promise((resolve) => res.once("drain", resolve)),
    fail: () => res.destroy(),
  };
  const info = infoOf(req.socket, "http/1.1", secure);
  return answer(handler, build, info, sink, {
    head: method === "HEAD",
    extra,
    controller,
    gone,
    observe,
    started,
  });
}

/** Serves one HTTP/2 stream with `handler`; resolves when answered or the stream has closed. */
export function serveHttp2(
  handler: FetchHandler,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  extra: ExtraHeaders = {},
  observe?: AnswerObserver,
): Promise<void> {
  const started = performance.now();
  const controller = new AbortController();
  const gone = Promise.withResolvers<void>();
  let ended = false;
  stream.once("close", () => {
    if (!ended) controller.abort(new DOMException("stream reset", "AbortError"));
    gone.resolve();
  });
  stream.on("error", () => {}); // resets surface as "close"
  const method = String(headers[":method"] ?? "GET");
  const build = () => {
    const request = new Headers();
    for (const name in headers) {
      if (name.charCodeAt(0) === COLON) continue;
      const value = headers[name];
      if (Array.isArray(value)) { for (const v of value) request.append(name, v); }
      else if (value !== undefined) request.append(name, value);
    }
    const host = String(headers[":authority"] ?? headers.host ?? "localhost");
    if (!request.has("host")) request.set("host", host);
    const body = method !== "GET" && method !== "HEAD" && !stream.endAfterHeaders ? stream : null;
    return newRequest(`https://${host}${headers[":path"]}`, method, request, body, {
      signal: controller.signal,
    });
  };
  const sink: Sink = {
    head: (status, out, end) => {
      for (const name of H2_FORBIDDEN) delete out[name];
      ended ||= end;
      stream.respond({ ":status": status, ...out }, { endStream: end });
    },
    write: (chunk) => stream.write(chunk),
    end: (chunk) => {
      ended = true;
      if (chunk) stream.end(chunk);
      else stream.end();
    },
    drained: () => new Promise((resolve) => stream.once("drain", resolve)),
    fail: () => stream.close(2 /* INTERNAL_ERROR */),
  };
  const info = infoOf(stream.session?.socket, "h2", true);
  return answer(handler, build, info, sink, {
    head: method === "HEAD",
    extra,
    controller,
    gone,
    observe,
    started,
  });
}

function newRequest(
  url: string,
  method: string,
  headers: Headers,
  body: Readable | null,
  init: { signal: AbortSignal },
): Request {
  const options: RequestInit & { duplex?: "half" } = { method, headers, signal: init.signal };
  if (body) {
    options.body = Readable.toWeb(body) as ReadableStream<Uint8Array>;
    options.duplex = "half";
  }
  return new Request(url, options);
}

function hasHttp1Body(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

function infoOf(
  socket: { remoteAddress?: string; remotePort?: number } | undefined,
  proto: ConnInfo["proto"],
  secure: boolean,
): ConnInfo {
  return {
    remoteAddr: {
      transport: "tcp",
      hostname: (socket?.remoteAddress ?? "unknown").replace(/^::ffff:/, ""),
      port: socket?.remotePort ?? 0,
    },
    proto,
    secure,
  };
}

interface AnswerOptions {
  head: boolean;
  extra: ExtraHeaders;
  controller: AbortController;
  gone: { promise: Promise<void> };
  observe?: AnswerObserver;
  started: number;
}

/** Builds the request, awaits the handler's response and writes it to `sink`. */
async function answer(
  handler: FetchHandler,
  build: () => Request,
  info: ConnInfo,
  sink: Sink,
  options: AnswerOptions,
): Promise<void> {
  let response: Response;
  let request: Request | null = null;
  try {
    request = build();
    response = await handler(request, info);
  } catch (err) {
    response = renderProblem(
      err instanceof TypeError ? new ApiError("invalid_request", err.message) : err,
      crypto.randomUUID(),
    );
  }
  const bytes = await writeResponse(sink, response, options);
  if (options.observe && request) {
    const aborted = bytes < 0 || options.controller.signal.aborted;
    options.observe(request, info, {
      status: response.status,
      bytes: Math.abs(bytes),
      started: options.started,
      aborted,
    });
  }
}

/**
 * Writes `response` with backpressure; a client that leaves cancels the body. Resolves with the
 * body bytes written (negative when the answer broke off).
 */
async function writeResponse(
  sink: Sink,
  response: Response,
  { head, extra, controller, gone }: AnswerOptions,
): Promise<number> {
  const signal = controller.signal;
  if (signal.aborted) {
    await response.body?.cancel().catch(() => {});
    return 0;
  }
  const headers: Record<string, string | string[]> = { ...extra };
  response.headers.forEach((value, name) => {
    if (name === "set-cookie") {
      ((headers[name] ??= []) as string[]).push(value);
    } else headers[name] = value;
  });
  const body = response.body;
  if (!body || head) {
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
    if (!sink.write(chunk)) await Promise.race([sink.drained(), gone.promise]);
  };
  try {
    const first = await reader.read();
    if (first.done) {
      sink.head(response.status, headers, true);
      return 0;
    }
    // A body that is one chunk (every JSON answer) ends at once; a stream (SSE, exports) may
    // wait long for its next chunk, so its head and first chunk go out without waiting.
    const pending = reader.read();
    let next = await Promise.race([pending, nextTurn()]);
    if (next !== LATER && next.done) {
      // One chunk: send it with a length, head and body together.
      headers["content-length"] ??= String(first.value.byteLength);
      sink.head(response.status, headers, false);
      sink.end(first.value);
      return first.value.byteLength;
    }
    sink.head(response.status, headers, false);
    await write(first.value);
    if (next === LATER) next = await pending;
    for (; !next.done; next = await reader.read()) {
      if (signal.aborted) return -written;
      await write(next.value);
    }
    sink.end();
    return written;
  } catch {
    // The body failed mid-stream (the app logged why): break the response off so the client
    // sees a truncated answer rather than a complete one.
    if (!signal.aborted) sink.fail();
    return -written;
  } finally {
    signal.removeEventListener("abort", cancel);
    await cancelled;
  }
}

const LATER = Symbol("later");

/**
 * Resolves a few microtask hops later: a body whose next chunk is already there (a string or
 * bytes, a stream that enqueued everything) has settled its read by then (one hop in Deno 2.9);
 * one that is still waiting is treated as a stream. No timer per response.
 */
async function nextTurn(): Promise<typeof LATER> {
  for (let hop = 0; hop < 4; hop++) await null;
  return LATER;
}
