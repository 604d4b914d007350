/**
 * Starts and stops duckserve: opens the listeners (`lib/net/`: plain HTTP or HTTPS with HTTP/2,
 * the redirect port, certificates), then the sandboxed engine and the auth stage, builds the app
 * and swaps it in for the starting app; stops gracefully (see {@link drain}). Used by
 * `cli/serve.ts` and by tests (which listen on port 0).
 * @module
 */

import { getHeapStatistics } from "node:v8";
import type { Config } from "./config.ts";
import { type Auth, createAuth } from "./auth/mod.ts";
import { type Engine, openEngine } from "./db/engine.ts";
import { createApp, createStartingApp, type RegisteredRoute, withCors } from "./http/mod.ts";
import { createLifecycle, drain, type Lifecycle, type Phase } from "./lifecycle.ts";
import { createLogger, type Logger } from "./log.ts";
import { type Listeners, openListeners } from "./net/serve.ts";
import {
  openStreamsRuntime,
  type StreamsRuntime,
  type StreamsService,
  type StreamsTuning,
} from "./streams/mod.ts";

/** A running server. */
export interface RunningServer extends AsyncDisposable {
  /** Base URL including the route prefix, e.g. `http://127.0.0.1:8080/duckdb` (follows a rebind). */
  readonly url: string;
  readonly port: number;
  /** The lifecycle phase: `ready` once started, then `draining` and `stopped`. */
  readonly phase: Phase;
  /**
   * Graceful shutdown: stops accepting at once, lets in-flight requests finish for up to
   * `shutdown_grace`, interrupts what is left, checkpoints and closes the database.
   */
  shutdown(): Promise<void>;
  /** Answers a request in-process, without the listener (e.g. a probe while draining). */
  fetch(request: Request): Promise<Response>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** The routes the app registered (what `documentRoutes` checks the OpenAPI rows against). */
  readonly routes: readonly RegisteredRoute[];
  /**
   * The streams service (null when `streams` is off): system appends and reads for an embedding
   * program, and tests.
   */
  readonly streams: StreamsService | null;
  /** The listeners (the main port, the redirect port): `rebind()` for live reloads, tests. */
  readonly listeners: Listeners;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  log?: Logger;
  /** The auth stage to use instead of `createAuth(config)` (embedding, tests). */
  auth?: Auth;
  /** Called with the base URL as soon as the port is bound, before the database opens. */
  onListen?: (url: string) => void;
  /** Awaited after the port is bound and before the database opens (holds `starting`). */
  beforeOpen?: () => Promise<void>;
  /**
   * Receives the one-time admin key announcement when the auth store is created at start-up
   * (default: printed on stderr). Never logged.
   */
  announce?: (text: string) => void;
  /** Streams settings that no config key sets (see {@link StreamsTuning}). */
  streams?: StreamsTuning;
}

/**
 * Binds the port first (so `livez` answers and `readyz` says 503 while starting), then opens the
 * database and the auth stage, and resolves once the server is ready.
 */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log_level);
  await warnMissingDirectories(config, log);
  const lifecycle = createLifecycle();
  const starting = createStartingApp(config, lifecycle);
  const listeners = await openListeners(config, {
    log,
    handler: (request, info) => starting.fetch(request, info),
  });
  const url = `${listeners.origin}${config.route_prefix}`;
  options.onListen?.(url);

  let parts: Parts;
  try {
    await options.beforeOpen?.();
    parts = await openParts(config, options, log);
  } catch (err) {
    lifecycle.enter("stopped");
    await listeners.shutdown();
    throw err;
  }
  const { engine, auth, streams } = parts;
  if (engine.uploads.refusal) log.warn("uploads_unavailable", { message: engine.uploads.refusal });
  const ready = createApp({ config, engine, auth, log, lifecycle, streams });
  listeners.setHandler(withCors(config, (request, info) => ready.fetch(request, info)));
  lifecycle.enter("ready");
  log.info("server_started", {
    url,
    duckdb_version: engine.duckdbVersion,
    // V8's whole heap limit (old space, from --max-old-space-size, plus young space).
    js_heap_limit_mb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
  });

  const { shutdown, finished } = createShutdown(config, log, lifecycle, { ...parts, listeners });
  return {
    get url() {
      return `${listeners.origin}${config.route_prefix}`;
    },
    get port() {
      return listeners.main.port;
    },
    get phase() {
      return lifecycle.phase;
    },
    shutdown,
    fetch: async (request) => await ready.fetch(request),
    finished,
    routes: ready.routes,
    streams: streams?.service ?? null,
    listeners,
    [Symbol.asyncDispose]: shutdown,
  };
}

/**
 * Warns once per allowed directory that does not exist (or is not a directory) right now: user
 * SQL can reach nothing there until it is created.
 */
async function warnMissingDirectories(config: Config, log: Logger): Promise<void> {
  for (const path of config.allowed_directories) {
    const info = await Deno.stat(path).catch(() => null);
    if (info?.isDirectory) continue;
    log.warn("allowed_directory_missing", {
      path,
      message: "allowed_directories names a directory that does not exist; user SQL can reach " +
        "nothing there until it is created",
    });
  }
}

/** What {@link openParts} opened. */
interface Parts {
  engine: Engine;
  auth: Auth;
  streams: StreamsRuntime | null;
}

/**
 * Opens the streams feature, the engine and the auth stage, and wires them: the authorizer
 * learns which SQL functions check their own permissions, and streams get the auth stage as the
 * check they call. On a failure, closes what it opened and throws.
 */
async function openParts(config: Config, options: StartOptions, log: Logger): Promise<Parts> {
  const opened: (() => Promise<void>)[] = [];
  try {
    const streams = await openStreamsRuntime(config, log, options.streams);
    if (streams) opened.push(streams.close);
    const engine = await openEngine(config);
    opened.push(engine.close);
    const auth = options.auth ?? await createAuth(config, {
      log,
      announce: options.announce,
      selfAuthorizing: streams?.selfAuthorizing,
    });
    if (!options.auth) opened.push(() => auth.close());
    await streams?.attach(engine, auth);
    return { engine, auth, streams };
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** The server's one shutdown (see {@link drain}) and the promise it resolves when done. */
function createShutdown(
  config: Config,
  log: Logger,
  lifecycle: Lifecycle,
  { listeners, engine, auth, streams }: Parts & { listeners: Listeners },
): { shutdown: () => Promise<void>; finished: Promise<void> } {
  const finished = Promise.withResolvers<void>();
  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    stopping ??= drain({
      lifecycle,
      log,
      graceMs: config.shutdown_grace,
      // Live stream reads (long-poll, SSE) end at once instead of holding the drain.
      stopAccepting: () => {
        streams?.endLive();
        return listeners.shutdown();
      },
      interruptAll: () => {
        engine.pool.close();
        return engine.pool.interruptAll();
      },
      close: async () => {
        // Connections still open after the grace period and the interrupted answers.
        listeners.closeAll();
        await streams?.close();
        await auth.close();
        await engine.close();
      },
    }).then(() => finished.resolve());
  return { shutdown, finished: finished.promise };
}
