/**
 * Starts, reloads and stops duckserve: opens the operations state (`lib/ops/`: events, access
 * log, metrics, rate limits, the query gate), the listeners (`lib/net/`: plain HTTP or HTTPS with
 * HTTP/2, the redirect port, certificates, and `metrics_listen`), then the sandboxed engine and
 * the auth stage, builds the app and swaps it in for the starting app; applies a reloaded
 * configuration atomically ({@link RunningServer.reload}); stops gracefully (see {@link drain}).
 * Used by `cli/serve.ts` and by tests (which listen on port 0).
 * @module
 */

import { getHeapStatistics } from "node:v8";
import {
  changedKeys,
  type Config,
  ConfigError,
  type ConfigSources,
  describeConfig,
  loadConfig,
  restartKeys,
} from "./config.ts";
import { type Auth, createAuth } from "./auth/mod.ts";
import { type Engine, openEngine } from "./db/engine.ts";
import { ApiError } from "./errors.ts";
import {
  createApp,
  createStartingApp,
  metricsResponse,
  type RegisteredRoute,
  type ReloadOutcome,
  withCors,
} from "./http/mod.ts";
import { createLifecycle, drain, type Lifecycle, type Phase } from "./lifecycle.ts";
import { createLogger, type Logger } from "./log.ts";
import { type Listener, openListener } from "./net/listener.ts";
import { listenerOptionsOf, type Listeners, openListeners } from "./net/serve.ts";
import { parseListenAddress } from "./config_ops.ts";
import { createOps, type Ops } from "./ops/mod.ts";
import { VERSION } from "./version.ts";
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
  /** The `metrics_listen` listener, or null. */
  readonly metricsListener: Listener | null;
  /** The configuration serving new requests. */
  readonly config: Config;
  /** Events, metrics, the access log, rate limits and the query gate. */
  readonly ops: Ops;
  /**
   * Applies `next` (see {@link reloadConfig}): throws `restart_required` (`ApiError`) naming
   * keys that cannot change while running, or `invalid_config` when the listeners cannot move.
   */
  reload(next: Config, source?: "sighup" | "admin"): Promise<ReloadOutcome>;
  /**
   * Loads the configuration again from the start's sources (its `--config` file, the
   * environment, the flags), with `document` in place of the file when given, and applies it;
   * throws `invalid_config` listing every problem (the old configuration keeps serving).
   */
  reloadFrom(
    document?: Record<string, unknown>,
    source?: "sighup" | "admin",
  ): Promise<ReloadOutcome>;
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
  /**
   * Where `config` came from (the `--config` file, the environment, the flags), for reloads;
   * default: the process environment only.
   */
  sources?: ConfigSources;
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
  const ops = createOps(config, { version: VERSION, log });
  const starting = createStartingApp(config, lifecycle);
  const listeners = await openListeners(config, {
    log,
    handler: (request, info) => starting.fetch(request, info),
    onAnswered: (request, info, answered) => ops.tracker.answered(request, info, answered),
  }).catch(async (err) => {
    await ops.close();
    throw err;
  });
  options.onListen?.(`${listeners.origin}${config.route_prefix}`);

  let parts: Parts;
  let metricsListener: Listener | null = null;
  try {
    metricsListener = await openMetricsListener(config, log, ops);
    await options.beforeOpen?.();
    parts = await openParts(config, { ...options, ops }, log);
  } catch (err) {
    lifecycle.enter("stopped");
    await metricsListener?.shutdown();
    await listeners.shutdown();
    await ops.close();
    throw err;
  }
  const { engine, streams } = parts;
  if (engine.uploads.refusal) log.warn("uploads_unavailable", { message: engine.uploads.refusal });
  attachSources(ops, parts);
  const state: LiveState = { config, app: null!, metricsListener };
  const live = { log, ownLogger: !options.log, lifecycle, ops, listeners, parts, state };
  const reload = createReloader(live, options.sources ?? {});
  installApp(live, config, reload.fromDocument);
  lifecycle.enter("ready");
  log.info("server_started", {
    url: `${listeners.origin}${config.route_prefix}`,
    duckdb_version: engine.duckdbVersion,
    extensions: engine.extensions,
    // V8's whole heap limit (old space, from --max-old-space-size, plus young space).
    js_heap_limit_mb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
  });

  const { shutdown, finished } = createShutdown(live);
  return {
    get url() {
      return `${listeners.origin}${state.config.route_prefix}`;
    },
    get port() {
      return listeners.main.port;
    },
    get phase() {
      return lifecycle.phase;
    },
    shutdown,
    fetch: async (request) => await state.app.fetch(request),
    finished,
    get routes() {
      return state.app.routes;
    },
    streams: streams?.service ?? null,
    listeners,
    get metricsListener() {
      return state.metricsListener;
    },
    get config() {
      return state.config;
    },
    ops,
    reload: reload.apply,
    reloadFrom: reload.fromSources,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** Where the scrape-time gauges read: the pool, DuckDB's memory, the streams. */
function attachSources(ops: Ops, { engine, streams }: Parts): void {
  ops.attach({
    pool: () => ({ busy: engine.pool.busy, idle: engine.pool.idle, waiting: engine.pool.waiting }),
    duckdb: (signal) => engine.memoryStats(signal),
    streams: streams ? () => streams.service.stats() : undefined,
  });
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
async function openParts(
  config: Config,
  options: StartOptions & { ops: Ops },
  log: Logger,
): Promise<Parts> {
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
      events: options.ops.events,
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
  { log, lifecycle, listeners, ops, state, parts }: Live,
): { shutdown: () => Promise<void>; finished: Promise<void> } {
  const { engine, auth, streams } = parts;
  const finished = Promise.withResolvers<void>();
  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    stopping ??= drain({
      lifecycle,
      log,
      graceMs: state.config.shutdown_grace,
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
        await state.metricsListener?.shutdown();
        await streams?.close();
        await auth.close();
        await engine.close();
        await ops.close();
      },
    }).then(() => finished.resolve());
  return { shutdown, finished: finished.promise };
}

/** What a reload changes: the configuration serving new requests, its app, the metrics port. */
interface LiveState {
  config: Config;
  app: ReturnType<typeof createApp>;
  metricsListener: Listener | null;
}

/** Everything a reload touches. */
interface Live {
  log: Logger;
  /** The server made its logger (so `log_level` may change it). */
  ownLogger: boolean;
  lifecycle: Lifecycle;
  ops: Ops;
  listeners: Listeners;
  parts: Parts;
  state: LiveState;
}

/** Builds the app of `config` and makes it answer new requests (in-flight ones keep theirs). */
function installApp(
  live: Live,
  config: Config,
  reload: (document: Record<string, unknown>) => Promise<ReloadOutcome>,
): void {
  const { engine, auth, streams } = live.parts;
  const app = createApp({
    config,
    engine,
    auth,
    log: live.log,
    lifecycle: live.lifecycle,
    streams,
    ops: live.ops,
    reload,
  });
  live.state.app = app;
  live.state.config = config;
  live.listeners.setHandler(withCors(config, (request, info) => app.fetch(request, info)));
}

/** The keys whose change moves the listeners (`Listeners.rebind`). */
const LISTENER_KEYS = new Set([
  "host",
  "port",
  "idle_timeout",
  "header_timeout",
  "max_connections",
  "tls_cert",
  "tls_key",
  "http_port",
  "hsts_max_age",
  "tls_auto",
  "tls_domains",
  "acme_email",
  "acme_directory",
  "acme_ca_root",
  "certs_dir",
]);

/**
 * The server's reloads, one at a time: `apply` a loaded configuration, or load one `fromSources`
 * (the start's sources, with a posted `document` in place of the file) and apply it.
 */
function createReloader(live: Live, sources: ConfigSources) {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => {});
    return run;
  };
  const refuse = (source: string, problems: string[], error: ApiError): never => {
    live.log.warn("config_reload_refused", { source, problems });
    live.ops.events.emit("config_reloaded", {
      source: source as "sighup" | "admin",
      ok: false,
      changed: [],
      problems,
    });
    throw error;
  };
  const apply = (next: Config, source: "sighup" | "admin" = "admin") =>
    serial(() => reloadConfig(live, next, source, refuse, fromDocument));
  const fromSources = (document?: Record<string, unknown>, source: "sighup" | "admin" = "admin") =>
    serial(async () => {
      let next: Config;
      try {
        next = await loadConfig(document ? { ...sources, file: undefined, document } : sources);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return refuse(source, [...err.problems], invalidConfig(err.problems));
      }
      return await reloadConfig(live, next, source, refuse, fromDocument);
    });
  const fromDocument = (document: Record<string, unknown>) => fromSources(document, "admin");
  return { apply, fromSources, fromDocument };
}

/** The 400 of an invalid configuration, listing every problem. */
function invalidConfig(problems: readonly string[]): ApiError {
  return new ApiError(
    "invalid_config",
    `The configuration has ${problems.length} problem(s); the old one keeps serving: ` +
      problems.join("; "),
    { extra: { problems } },
  );
}

/**
 * Applies `next`: refuses keys that need a restart (409 `restart_required`); moves the
 * listeners when their keys changed (new ones first, old ones drain; a certificate that does not
 * load refuses the whole reload); reopens `metrics_listen`; updates the access log and the log
 * level; then swaps the app in, so requests in flight finish under the old configuration and new
 * ones see the new one. Logs `config_reloaded` with the changed keys.
 */
async function reloadConfig(
  live: Live,
  next: Config,
  source: "sighup" | "admin",
  refuse: (source: string, problems: string[], error: ApiError) => never,
  reload: (document: Record<string, unknown>) => Promise<ReloadOutcome>,
): Promise<ReloadOutcome> {
  const { state, log } = live;
  const changed = changedKeys(state.config, next);
  const restart = restartKeys(changed);
  if (restart.length > 0) {
    const problems = restart.map((key) => `${key} cannot change while the server runs`);
    refuse(
      source,
      problems,
      new ApiError(
        "restart_required",
        `These keys cannot change while the server runs: ${restart.join(", ")}; restart ` +
          "duckserve to change them (nothing was applied).",
        { extra: { keys: restart } },
      ),
    );
  }
  // New listeners first: nothing changes until both the metrics port and the main ones moved.
  let metrics: Listener | null = state.metricsListener;
  if (changed.includes("metrics_listen")) {
    metrics = await openMetricsListener(next, log, live.ops).catch((err: Error) =>
      refuse(source, [err.message], invalidConfig([`metrics_listen: ${err.message}`]))
    );
  }
  if (changed.some((key) => LISTENER_KEYS.has(key))) {
    try {
      await live.listeners.rebind(next);
    } catch (err) {
      if (metrics !== state.metricsListener) await metrics?.shutdown();
      refuse(source, [(err as Error).message], invalidConfig([(err as Error).message]));
    }
  }
  if (metrics !== state.metricsListener) {
    const old = state.metricsListener;
    state.metricsListener = metrics;
    await old?.shutdown();
  }
  if (live.ownLogger) log.setLevel?.(next.log_level);
  live.ops.update(next);
  installApp(live, next, reload);
  log.info("config_reloaded", { source, changed });
  live.ops.events.emit("config_reloaded", { source, ok: true, changed, problems: [] });
  return { changed, config: describeConfig(next) };
}

/** The `metrics_listen` listener of `config` (metrics without a key), or null. */
async function openMetricsListener(
  config: Config,
  log: Logger,
  ops: Ops,
): Promise<Listener | null> {
  const address = config.metrics_listen ? parseListenAddress(config.metrics_listen) : null;
  if (!address) return null;
  const handler = (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/metrics" && (request.method === "GET" || request.method === "HEAD")) {
      return metricsResponse(ops);
    }
    return new Response("Not Found: metrics are at /metrics\n", { status: 404 });
  };
  return await openListener({
    ...listenerOptionsOf(config, log, handler, null),
    hostname: address.hostname,
    port: address.port,
  });
}
