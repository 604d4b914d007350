/**
 * The bridge between Node's HTTP server objects and a web `fetch` handler: HTTP/1.1 requests
 * (`node:http`'s request and response, also over TLS) and HTTP/2 streams (`node:http2`'s core
 * stream API, cheaper than its compatibility layer) become a lazy `Request` (`request.ts`: its
 * headers, signal and body are made only when the app reads them) whose `signal` aborts when the
 * client goes away (a closed connection, a stream reset), and the handler's `Response` is written
 * back (`response.ts`: string and bytes bodies at once, streams with backpressure; a client that
 * leaves mid-body cancels the body stream, which interrupts the query behind it).
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { ApiError, renderProblem } from "../errors.ts";
import { LazyAbort, NodeRequest } from "./request.ts";
import {
  BROKE_OFF,
  brokenOffBytes,
  type ExtraHeaders,
  type HeaderPairs,
  type Sink,
  writeResponse,
} from "./response.ts";

export type { ExtraHeaders } from "./response.ts";

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

/** What was sent for one request, reported once it is over (access logs, metrics). */
export interface Answered {
  status: number;
  /** Body bytes written. */
  bytes: number;
  /** `performance.now()` when the request arrived. */
  started: number;
  /** The client went away (or the body failed) before the answer was complete. */
  aborted: boolean;
  /** The request's header names and values in turn as received (HTTP/1.1: Node's `rawHeaders`). */
  rawHeaders?: readonly string[];
}

/** Told about every answered request, with the request the handler got. */
export type AnswerObserver = (request: Request, info: ConnInfo, answered: Answered) => void;

/** How a listener serves its requests (one object per listener). */
export interface ServeOptions<T = unknown> {
  /** True on a TLS listener. */
  secure: boolean;
  /** Headers added to every answer (unless the handler set them). */
  extra: ExtraHeaders;
  /** Called with the request's `token` once it is over: answered, or the client has gone. */
  done?: (token: T) => void;
  /** True while the listener drains: HTTP/1.1 answers then say `Connection: close`. */
  closing?: () => boolean;
  /** Told about every answer once it is written or broken off (status, bytes, timing). */
  onAnswered?: AnswerObserver;
}

const COLON = 58; // ":" starts an HTTP/2 pseudo-header
/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2). */
const H2_FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding"]);
/** The connection's {@link ConnInfo}, kept on its socket or session. */
const INFO = Symbol("duckserve.connInfo");

/** Serves one HTTP/1.1 request with `handler`; resolves when answered or the client has gone. */
export function serveHttp1<T>(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeOptions<T>,
  token?: T,
): Promise<void> {
  const started = options.onAnswered ? performance.now() : 0;
  const abort = new LazyAbort();
  res.on("close", () => {
    if (!res.writableEnded) abort.abort(new DOMException("client went away", "AbortError"));
    options.done?.(token as T);
  });
  const method = req.method ?? "GET";
  const raw = req.rawHeaders;
  let host = "localhost";
  let length = NaN;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === "host") host = raw[i + 1];
    else if (name.length === 14 && name.toLowerCase() === "content-length") length = +raw[i + 1];
    else if (name.length === 17 && name.toLowerCase() === "transfer-encoding") chunked = true;
  }
  const hasBody = chunked || (length !== 0 && !Number.isNaN(length));
  const body = hasBody && method !== "GET" && method !== "HEAD"
    ? { stream: req, length: chunked ? NaN : length }
    : null;
  const url = `${options.secure ? "https" : "http"}://${host}${req.url}`;
  const request = new NodeRequest(method, url, raw, body, abort);
  const sink = new Http1Sink(res, options.closing);
  const info = (req.socket as Carrier)[INFO] ??= infoOf(req.socket, "http/1.1", options.secure);
  return answer(handler, request, info, sink, abort, method === "HEAD", options, started, raw);
}

/** Serves one HTTP/2 stream with `handler`; resolves when answered or the stream has closed. */
export function serveHttp2<T>(
  handler: FetchHandler,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: ServeOptions<T>,
  token?: T,
): Promise<void> {
  const started = options.onAnswered ? performance.now() : 0;
  const abort = new LazyAbort();
  const sink = new Http2Sink(stream);
  stream.once("close", () => {
    if (!sink.ended) abort.abort(new DOMException("stream reset", "AbortError"));
    options.done?.(token as T);
  });
  stream.on("error", () => {}); // resets surface as "close"
  const method = String(headers[":method"] ?? "GET");
  const host = String(headers[":authority"] ?? headers.host ?? "localhost");
  const made = () => {
    const request = new Headers();
    for (const name in headers) {
      if (name.charCodeAt(0) === COLON) continue;
      const value = headers[name];
      if (Array.isArray(value)) { for (const v of value) request.append(name, v); }
      else if (value !== undefined) request.append(name, value);
    }
    if (!request.has("host")) request.set("host", host);
    return request;
  };
  const body = method !== "GET" && method !== "HEAD" && !stream.endAfterHeaders
    ? { stream, length: headers["content-length"] ? Number(headers["content-length"]) : NaN }
    : null;
  const request = new NodeRequest(method, `https://${host}${headers[":path"]}`, made, body, abort);
  const session = stream.session as (Carrier & typeof stream.session) | undefined;
  const info = session ? (session[INFO] ??= infoOf(session.socket, "h2", true)) : UNKNOWN_H2;
  return answer(handler, request, info, sink, abort, method === "HEAD", options, started);
}

/** An HTTP/1.1 response as a {@link Sink}. */
class Http1Sink implements Sink {
  #res: ServerResponse;
  #closing: (() => boolean) | undefined;
  constructor(res: ServerResponse, closing?: () => boolean) {
    this.#res = res;
    this.#closing = closing;
  }
  head(status: number, headers: HeaderPairs, end: boolean): void {
    // Headers go in one `writeHead` as pairs (Node's `setHeader` would make it expect a flat list).
    if (this.#closing?.()) headers.push(["connection", "close"]);
    this.#res.writeHead(status, headers);
    if (end) this.#res.end();
  }
  write(chunk: Uint8Array): boolean {
    return this.#res.write(chunk);
  }
  end(chunk?: Uint8Array): void {
    if (chunk) this.#res.end(chunk);
    else this.#res.end();
  }
  drained(): Promise<void> {
    return eventOrClose(this.#res, "drain");
  }
  fail(): void {
    this.#res.destroy();
  }
}

/** An HTTP/2 stream as a {@link Sink}. */
class Http2Sink implements Sink {
  #stream: ServerHttp2Stream;
  /** True once the response has ended (a later close is no reset). */
  ended = false;
  constructor(stream: ServerHttp2Stream) {
    this.#stream = stream;
  }
  head(status: number, pairs: HeaderPairs, end: boolean): void {
    this.ended ||= end;
    this.#stream.respond(http2Headers(status, pairs), { endStream: end });
  }
  write(chunk: Uint8Array): boolean {
    return this.#stream.write(chunk);
  }
  end(chunk?: Uint8Array): void {
    this.ended = true;
    if (chunk) this.#stream.end(chunk);
    else this.#stream.end();
  }
  drained(): Promise<void> {
    return eventOrClose(this.#stream, "drain");
  }
  fail(): void {
    this.#stream.close(2 /* INTERNAL_ERROR */);
  }
}

/** A socket or session carrying its connection's {@link ConnInfo}. */
type Carrier = { [INFO]?: ConnInfo };

/** HTTP/2 response headers: lower-case names, repeats joined (`set-cookie` kept apart). */
function http2Headers(status: number, pairs: HeaderPairs): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":status": status };
  for (const [key, value] of pairs) {
    const name = key.toLowerCase();
    if (H2_FORBIDDEN.has(name)) continue;
    const had = out[name];
    if (had === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = `${had}, ${value}`;
  }
  return out;
}

/** Resolves on `event` or when `emitter` closes, whichever is first. */
function eventOrClose(
  emitter: {
    once(event: string, fn: () => void): unknown;
    off(e: string, fn: () => void): unknown;
  },
  event: string,
): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      emitter.off(event, settle);
      emitter.off("close", settle);
      resolve();
    };
    emitter.once(event, settle);
    emitter.once("close", settle);
  });
}

function infoOf(
  socket: { remoteAddress?: string; remotePort?: number } | undefined,
  proto: ConnInfo["proto"],
  secure: boolean,
): ConnInfo {
  const address = socket?.remoteAddress ?? "unknown";
  return {
    remoteAddr: {
      transport: "tcp",
      hostname: address.startsWith("::ffff:") ? address.slice(7) : address,
      port: socket?.remotePort ?? 0,
    },
    proto,
    secure,
  };
}

const UNKNOWN_H2 = infoOf(undefined, "h2", true);

/** Awaits the handler's response, writes it to `sink` and reports it to the observer, if any. */
async function answer(
  handler: FetchHandler,
  request: NodeRequest,
  info: ConnInfo,
  sink: Sink,
  abort: LazyAbort,
  head: boolean,
  options: Pick<ServeOptions, "extra" | "onAnswered">,
  started: number,
  rawHeaders?: readonly string[],
): Promise<void> {
  let response: Response;
  try {
    response = await handler(request as unknown as Request, info);
  } catch (err) {
    response = renderProblem(
      err instanceof TypeError ? new ApiError("invalid_request", err.message) : err,
      crypto.randomUUID(),
    );
  }
  const write = { head, extra: options.extra, abort };
  const observe = options.onAnswered;
  if (!observe) {
    const written = writeResponse(sink, response, write);
    if (typeof written !== "number") await written;
    return;
  }
  // Reported even when writing throws, so the request's record (its query slot) is released.
  let sent = BROKE_OFF;
  try {
    const written = writeResponse(sink, response, write);
    sent = typeof written === "number" ? written : await written;
  } finally {
    const broke = sent < 0;
    observe(request as unknown as Request, info, {
      status: response.status,
      bytes: broke ? brokenOffBytes(sent) : sent,
      started,
      aborted: broke || abort.aborted,
      rawHeaders,
    });
  }
}
