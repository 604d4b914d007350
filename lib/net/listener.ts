/**
 * A listener: one bound address serving a swappable {@link FetchHandler}. Plain listeners are
 * `node:http` servers; TLS listeners are `node:http2` secure servers that speak HTTP/2 to clients
 * offering it by ALPN and HTTP/1.1 to the rest. Unlike `Deno.serve`, they close idle connections
 * (`idle_timeout`), connections that do not send their headers in time (`header_timeout`), cap
 * open connections (`max_connections`), survive running out of file descriptors, answer
 * malformed and oversized requests with problem+json, and swap certificates without a restart.
 *
 * Graceful rebind (a new address or certificate at run time; `rebind()` in `serve.ts`) is: open
 * the new listener with the same handler first (when it needs the old one's address, the old one
 * stops accepting first), then `shutdown()` the old one, which closes its idle connections and
 * lets in-flight requests finish.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openListener } from "./listener.ts";
 * import { createLogger } from "../log.ts";
 * const listener = await openListener({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   handler: () => new Response("hello"),
 *   log: createLogger("silent"),
 * });
 * const response = await fetch(`http://127.0.0.1:${listener.port}/`);
 * equal(await response.text(), "hello");
 * await listener.shutdown();
 * ```
 * @module
 */

import http2 from "node:http2";
import type { Server as NetServer, Socket } from "node:net";
import { ApiError, renderProblem } from "../errors.ts";
import type { Logger } from "../log.ts";
import http from "node:http";
import { type AnswerObserver, type FetchHandler, serveHttp1, serveHttp2 } from "./adapter.ts";
import { answerClientError, URI_TOO_LONG } from "./client_error.ts";
import { type Conn, type ConnTable, createConnTable } from "./connections.ts";

/** A PEM certificate chain and its private key. */
export interface TlsPair {
  cert: string;
  key: string;
}

/** Options of {@link openListener}. */
export interface ListenerOptions {
  hostname: string;
  /** `0` picks a free port. */
  port: number;
  /** Serves every request (replaceable later through {@link Listener.handler}). */
  handler: FetchHandler;
  /** Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate; plain HTTP/1.1 when absent. */
  tls?: TlsPair | null;
  /** Close a connection with no request in flight after this long (ms); `0`: never. */
  idleTimeout?: number;
  /** Close a new connection that has not completed TLS and sent its first headers (ms). */
  headerTimeout?: number;
  /** Most open connections; more are closed at once. `0`: unlimited. */
  maxConnections?: number;
  /** Set `SO_REUSEPORT`, so that a new listener can bind beside this one during a rebind. */
  reusePort?: boolean;
  /** Headers added to every answer (unless the handler set them): `nosniff`, HSTS. */
  responseHeaders?: Readonly<Record<string, string>>;
  /** Told about every answered request (status, bytes, timing): access logs, metrics. */
  onAnswered?: AnswerObserver;
  log: Logger;
}

/** A bound, serving address. */
export interface Listener {
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
  /** The handler of requests from now on (the starting app, then the ready app). */
  handler: FetchHandler;
  /** Uses `pair` for new TLS connections; connections already open keep theirs. */
  setCertificate(pair: TlsPair): void;
  /** Open connections (HTTP/1.1 sockets and HTTP/2 sessions). */
  readonly connections: number;
  /**
   * Closes the listening socket (its address is free when this resolves); open connections go
   * on serving until {@link Listener.shutdown}.
   */
  stopAccepting(): Promise<void>;
  /**
   * Stops accepting, closes idle connections at once and every other one when its in-flight
   * requests have finished; resolves when the last connection has closed and every handler has
   * settled (a handler whose client left may still be interrupting its query).
   */
  shutdown(): Promise<void>;
  /** Closes every connection at once (after a shutdown's grace period). */
  closeAll(): void;
  /** Resolves when the listener has shut down and its connections are closed. */
  readonly finished: Promise<void>;
}

/** Longest request URL (bytes); longer ones get 414 `uri_too_long`. */
export const MAX_URL_BYTES = 64 * 1024;
/** Largest request line plus headers the parser accepts (bytes); more gets 431 (or 414). */
export const MAX_HEADER_BYTES = 80 * 1024;

/** Descriptors kept free for everything but client connections (database files, logs, DNS). */
const RESERVED_FDS = 128;

/**
 * The connection cap and listen backlog that keep the process below its open-file limit
 * (`ulimit -n`): a server that reaches it stops accepting for good (and `Deno.serve` exits).
 * Connections beyond the cap are accepted and closed, but a burst is accepted before any closes,
 * so the backlog (which bounds a burst) shares the budget. Linux only; elsewhere as requested.
 */
export function connectionBudget(requested: number): { max: number; backlog: number } {
  let soft = Infinity;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/limits"));
    if (m) soft = Number(m[1]);
  } catch {
    // not Linux: the OS limit is not known here
  }
  const budget = Math.max(soft - Math.max(RESERVED_FDS, soft * 0.1), 32);
  const max = Math.min(requested || Infinity, Math.floor(budget * 0.75));
  return { max, backlog: Math.min(511, Math.max(16, Math.floor(budget - max))) };
}

/** Binds `options.hostname:port` and serves; rejects when the address cannot be bound. */
export async function openListener(options: ListenerOptions): Promise<Listener> {
  const { log } = options;
  const secure = Boolean(options.tls);
  const conns = createConnTable(options.idleTimeout ?? 0, options.headerTimeout ?? 0);
  const extra = options.responseHeaders ?? {};
  const handlerFor = (url: string | undefined) =>
    (url?.length ?? 0) > MAX_URL_BYTES ? refuseLongUrl : listener.handler;
  const failed = (err: unknown) => log.error("response_failed", { error: err });
  const handlers = createInFlight(failed);
  const serving = {
    secure,
    extra,
    done: (conn: Conn | undefined) => conns.end(conn),
    closing: () => conns.draining,
    onAnswered: options.onAnswered,
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const conn = conns.begin(req.socket);
    handlers.add(serveHttp1(handlerFor(req.url), req, res, serving, conn));
  };
  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const conn = conns.begin(stream.session);
    const handler = handlerFor(headers[":path"] as string);
    handlers.add(serveHttp2(handler, stream, headers, serving, conn));
  };
  const server = createServer(options, onRequest);
  if (secure) {
    // HTTP/2 streams are served by the core stream API; the compatibility layer's request
    // objects (still used for HTTP/1.1 over TLS) cost more per request.
    server.removeAllListeners("stream");
    server.on("stream", onStream);
    server.on("secureConnection", (socket: Socket & { alpnProtocol?: string | false }) => {
      if (socket.alpnProtocol !== "h2") conns.trackSocket(socket);
    });
    server.on("session", (session: http2.ServerHttp2Session) => conns.trackSession(session));
  } else {
    server.on("connection", (socket: Socket) => conns.trackSocket(socket));
  }
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    answerClientError(err, socket);
  });
  const address = await bind(server, options);
  server.on("error", (err: Error & { code?: string }) => {
    // After binding, errors are accept failures (EMFILE at the open-file limit): the server
    // keeps listening and accepts again once descriptors are free.
    log.error("accept_failed", { code: err.code, error: err });
  });
  const listener = listenerOf(server, address, { conns, handlers }, options);
  return listener;
}

/** The {@link Listener} face of a bound server. */
function listenerOf(
  server: AnyServer,
  address: { address: string; port: number },
  { conns, handlers }: { conns: ConnTable; handlers: InFlight },
  options: ListenerOptions,
): Listener {
  let closing: Promise<void> | null = null;
  const closed = Promise.withResolvers<void>();
  const finished = closed.promise.then(() => handlers.settled());
  const listener: Listener = {
    hostname: address.address,
    port: address.port,
    secure: Boolean(options.tls),
    handler: options.handler,
    setCertificate(pair) {
      (server as unknown as { setSecureContext(o: TlsPair): void }).setSecureContext(pair);
    },
    get connections() {
      return conns.size;
    },
    stopAccepting() {
      closing ??= new Promise((resolve) => {
        server.close(() => closed.resolve());
        // The address is free once the listening handle has closed (the next loop turn).
        setTimeout(resolve, 0);
      });
      return closing;
    },
    shutdown() {
      if (!conns.draining) {
        listener.stopAccepting();
        conns.drain();
      }
      return finished;
    },
    closeAll() {
      conns.destroyAll();
    },
    finished,
  };
  return listener;
}

/** The handlers still running (answering, or cleaning up after a client that left). */
interface InFlight {
  add(handler: Promise<void>): void;
  /** Resolves once none is running. */
  settled(): Promise<void>;
}

/** Counts running handlers (no set, no promise per request beyond the handler's own). */
function createInFlight(failed: (err: unknown) => void): InFlight {
  let running = 0;
  let idle: PromiseWithResolvers<void> | null = null;
  const settle = () => {
    if (--running === 0 && idle) {
      idle.resolve();
      idle = null;
    }
  };
  const fail = (err: unknown) => {
    failed(err);
    settle();
  };
  return {
    add(handler) {
      running++;
      handler.then(settle, fail);
    },
    settled() {
      if (running === 0) return Promise.resolve();
      idle ??= Promise.withResolvers<void>();
      return idle.promise;
    },
  };
}

function refuseLongUrl(): Response {
  return renderProblem(new ApiError("uri_too_long", URI_TOO_LONG), crypto.randomUUID());
}

type AnyServer = http.Server | http2.Http2SecureServer;

function createServer(
  options: ListenerOptions,
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): AnyServer {
  if (options.tls) {
    const server = http2.createSecureServer(
      {
        allowHTTP1: true,
        cert: options.tls.cert,
        key: options.tls.key,
        handshakeTimeout: options.headerTimeout || 120_000,
        maxSessionMemory: 64,
        settings: { maxHeaderListSize: MAX_HEADER_BYTES },
      },
      onRequest as unknown as (
        req: http2.Http2ServerRequest,
        res: http2.Http2ServerResponse,
      ) => void,
    );
    server.maxConnections = connectionBudget(options.maxConnections ?? 0).max;
    return server;
  }
  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: 0,
    headersTimeout: 0,
    // The connection table closes idle connections (one timer per connection, not per request).
    keepAliveTimeout: 0,
  }, onRequest);
  server.maxConnections = connectionBudget(options.maxConnections ?? 0).max;
  return server;
}

function bind(
  server: AnyServer,
  options: ListenerOptions,
): Promise<{ address: string; port: number }> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    (server as NetServer).once("error", fail);
    (server as NetServer).listen(
      {
        host: options.hostname,
        port: options.port,
        reusePort: options.reusePort ?? false,
        backlog: connectionBudget(options.maxConnections ?? 0).backlog,
      },
      () => {
        (server as NetServer).off("error", fail);
        resolve((server as NetServer).address() as { address: string; port: number });
      },
    );
  });
}
