/**
 * The bridge between Node's HTTP server objects (`node:http` for HTTP/1.1, `node:http2`'s
 * compatibility API for HTTP/2 and HTTP/1.1 over TLS) and a web `fetch` handler: each request
 * becomes a `Request` whose `signal` aborts when the client goes away (a closed connection, an
 * HTTP/2 stream reset), and the handler's `Response` is written back with backpressure; a client
 * that leaves mid-body cancels the body stream, which interrupts the query behind it.
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
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

/** A request object of either server kind. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** A response object of either server kind. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

const COLON = 58; // ":" starts an HTTP/2 pseudo-header

/** Builds the web `Request` of a Node request; `signal` aborts when the client goes away. */
export function toRequest(req: NodeRequest, secure: boolean, signal: AbortSignal): Request {
  const raw = req.rawHeaders;
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].charCodeAt(0) !== COLON) headers.append(raw[i], raw[i + 1]);
  }
  const h2 = req.httpVersionMajor === 2;
  const authority = h2 ? (req.headers[":authority"] as string | undefined) : undefined;
  const host = authority ?? req.headers.host ?? "localhost";
  if (h2 && !headers.has("host")) headers.set("host", host);
  const method = req.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal };
  if (method !== "GET" && method !== "HEAD" && hasBody(req)) {
    init.body = Readable.toWeb(req as Readable) as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  return new Request(`${secure ? "https" : "http"}://${host}${req.url}`, init);
}

function hasBody(req: NodeRequest): boolean {
  if (req.httpVersionMajor === 2) {
    return !(req as Http2ServerRequest).stream.endAfterHeaders;
  }
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Connection info of a request. */
export function connInfoOf(req: NodeRequest, secure: boolean): ConnInfo {
  const socket = req.socket;
  return {
    remoteAddr: {
      transport: "tcp",
      hostname: (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, ""),
      port: socket.remotePort ?? 0,
    },
    proto: req.httpVersionMajor === 2 ? "h2" : "http/1.1",
    secure,
  };
}

/**
 * Serves one request with `handler`: builds the `Request`, awaits the `Response`, writes it with
 * `extra` headers added (the listener's security headers). Resolves when the response is finished
 * or the client has gone.
 */
export async function serveNode(
  handler: FetchHandler,
  req: NodeRequest,
  res: NodeResponse,
  secure: boolean,
  extra: Readonly<Record<string, string>> = {},
): Promise<void> {
  const controller = new AbortController();
  const gone = Promise.withResolvers<void>();
  res.once("close", () => {
    if (!res.writableEnded) controller.abort(new DOMException("client went away", "AbortError"));
    gone.resolve();
  });
  let response: Response;
  try {
    const request = toRequest(req, secure, controller.signal);
    response = await handler(request, connInfoOf(req, secure));
  } catch (err) {
    response = renderProblem(
      err instanceof TypeError ? new ApiError("invalid_request", err.message) : err,
      crypto.randomUUID(),
    );
  }
  await writeResponse(res, response, {
    head: req.method === "HEAD",
    extra,
    signal: controller.signal,
    gone: gone.promise,
  });
}

interface WriteOptions {
  head: boolean;
  extra: Readonly<Record<string, string>>;
  signal: AbortSignal;
  gone: Promise<void>;
}

/** Writes `response` to `res` with backpressure; a client that leaves cancels the body. */
async function writeResponse(
  res: NodeResponse,
  response: Response,
  { head, extra, signal, gone }: WriteOptions,
): Promise<void> {
  if (signal.aborted) {
    await response.body?.cancel().catch(() => {});
    return;
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
    (res as ServerResponse).writeHead(response.status, headers);
    res.end();
    return;
  }
  const reader = body.getReader();
  const cancel = () => reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    const first = await reader.read();
    if (first.done) {
      (res as ServerResponse).writeHead(response.status, headers);
      res.end();
      return;
    }
    // A body that is one chunk (every JSON answer) ends at once; a stream (SSE, exports) may
    // wait long for its next chunk, so its head and first chunk go out without waiting.
    const pending = reader.read();
    const second = await Promise.race([pending, nextTurn()]);
    if (second === LATER) {
      (res as ServerResponse).writeHead(response.status, headers);
      await write(res, first.value, gone);
      await pump(reader, res, await pending, signal, gone);
      return;
    }
    if (second.done) {
      // One chunk (every JSON answer): send it with a length, headers and body together.
      if (!headers["content-length"]) headers["content-length"] = String(first.value.byteLength);
      (res as ServerResponse).writeHead(response.status, headers);
      res.end(first.value);
      return;
    }
    (res as ServerResponse).writeHead(response.status, headers);
    await write(res, first.value, gone);
    await pump(reader, res, second, signal, gone);
  } catch {
    // The body failed mid-stream (the app logged why): abort the connection so the client sees
    // a truncated answer rather than a complete one.
    if (!signal.aborted) destroy(res);
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

const LATER = Symbol("later");

/** Resolves after the current turn's microtasks (a timer turn later). */
function nextTurn(): Promise<typeof LATER> {
  return new Promise((resolve) => setTimeout(() => resolve(LATER), 0));
}

/** Writes `next` and every following chunk, then ends the response. */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  res: NodeResponse,
  next: ReadableStreamReadResult<Uint8Array>,
  signal: AbortSignal,
  gone: Promise<void>,
): Promise<void> {
  for (; !next.done; next = await reader.read()) {
    if (signal.aborted) return;
    await write(res, next.value, gone);
  }
  res.end();
}

async function write(res: NodeResponse, chunk: Uint8Array, gone: Promise<void>): Promise<void> {
  if ((res as ServerResponse).write(chunk)) return;
  await Promise.race([new Promise((resolve) => res.once("drain", resolve)), gone]);
}

function destroy(res: NodeResponse): void {
  const h2 = (res as Http2ServerResponse).stream;
  if (h2) h2.close(2 /* INTERNAL_ERROR */);
  else (res as ServerResponse).destroy();
}
