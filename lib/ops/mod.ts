/**
 * Operations: what a server keeps across configuration reloads to watch and protect itself.
 * {@link createOps} builds it once: the events hub (`lib/events.ts`), the request tracker that
 * turns requests into `request_done` and `query_done` events, the access log (a subscriber that
 * writes Caddy-shaped lines), the Prometheus metrics (a subscriber that counts, plus gauges read
 * at scrape time), the rate limiter's buckets and the query gate's counts. {@link Ops.update}
 * applies a reloaded configuration (the access log's target, rolling, `log_sql`); the per-request
 * rules of a configuration (client address, anonymous limit, gate limits) come from
 * {@link requestRulesOf}, which each app computes once.
 *
 * | module              | job                                                                |
 * | ------------------- | ------------------------------------------------------------------ |
 * | `tracker.ts`        | request records, `request_done` and `query_done` events, log_sql   |
 * | `redact.ts`         | URIs and headers without secrets                                   |
 * | `access_log.ts`     | the access log line (Caddy's shape)                                |
 * | `line_out.ts`       | one line written piece by piece into a buffer or a string          |
 * | `line_sink.ts`      | buffered stderr/stdout/file output, rolling                        |
 * | `metrics.ts`        | the Prometheus registry (`prom-client`)                            |
 * | `process_metrics.ts`| CPU, memory, descriptors, event loop lag                           |
 * | `rate_limit.ts`     | token buckets, the IETF RateLimit headers                          |
 * | `admission.ts`      | the query gate: concurrency, queue, shedding                       |
 * | `client_ip.ts`      | the client address behind trusted proxies                          |
 * | `queries.ts`        | the running queries (list, cancel)                                 |
 * | `live.ts`           | the dashboard's numbers: per-second frames, percentiles, slowest   |
 * | `histogram.ts`      | a bounded log-bucket latency histogram                             |
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadConfig } from "../config.ts";
 * import { createOps, requestRulesOf } from "./mod.ts";
 * const config = await loadConfig({ env: {}, flags: { access_log: "off", threads: "2" } });
 * const ops = createOps(config, { version: "test" });
 * equal(requestRulesOf(config).gate.running, 8);
 * equal((await ops.metrics!.text()).includes("duckserve_http_requests_in_flight 0"), true);
 * await ops.close();
 * ```
 * @module
 */

import type { Config } from "../config.ts";
import { createEvents, type Events } from "../events.ts";
import type { Logger } from "../log.ts";
import { parseRate } from "../units.ts";
import { writeAccessLine } from "./access_log.ts";
import { createGate, type Gate, type GateLimits } from "./admission.ts";
import { type ClientIp, createClientIp } from "./client_ip.ts";
import { type LineSink, openLineSink } from "./line_sink.ts";
import { createMetrics, type Metrics, type MetricsSources } from "./metrics.ts";
import { createRateLimiter, defaultBurst, type RateLimit, type RateLimiter } from "./rate_limit.ts";
import { createTracker, type SqlLogMode, type Tracker } from "./tracker.ts";
import { createQueryRegistry, type QueryRegistry, viewOf } from "./queries.ts";
import { createLiveStats, type LiveStats } from "./live.ts";

export type { DuckdbStats, Metrics, MetricsSources } from "./metrics.ts";
export type { AnswerInfo, PeerInfo, RequestRecord, SqlLogMode, Tracker } from "./tracker.ts";
export { renderSql } from "./tracker.ts";
export { defaultBurst, type RateDecision, type RateLimit, rateLimitHeaders } from "./rate_limit.ts";
export type { Gate, GateLimits, Release } from "./admission.ts";
export { formatAccessLine } from "./access_log.ts";
export {
  createQueryRegistry,
  type QueryRegistry,
  type QueryView,
  type RunningQuery,
  viewOf,
} from "./queries.ts";
export type {
  LiveFrame,
  LiveSnapshot,
  LiveStats,
  LiveTick,
  LiveViewer,
  SlowQuery,
} from "./live.ts";
export { presentedSecret, redactHeaders, redactUri } from "./redact.ts";

/** The operations state of a running server. */
export interface Ops {
  readonly events: Events;
  readonly tracker: Tracker;
  /** The metrics; null with `metrics: false`. */
  readonly metrics: Metrics | null;
  readonly limiter: RateLimiter;
  readonly gate: Gate;
  /** The running queries (`GET`/`DELETE {prefix}/queries`). */
  readonly queries: QueryRegistry;
  /** The dashboard's numbers, collected while a viewer watches. */
  readonly live: LiveStats;
  /** How SQL text is shown now (`log_sql`). */
  sqlMode(): SqlLogMode;
  /** The gauges' sources as attached (empty until the database is open). */
  sources(): MetricsSources;
  /**
   * Applies a reloaded configuration (access log target and rolling, `log_sql`, whether debug
   * lines are printed: set the logger's level first).
   */
  update(config: Config): void;
  /** Wires the scrape-time gauges' sources (once the database is open). */
  attach(sources: MetricsSources): void;
  /** Writes the access log's last lines and stops the metrics. */
  close(): Promise<void>;
}

/** Options of {@link createOps}. */
export interface OpsOptions {
  version: string;
  /** Told when an event subscriber throws. */
  log?: Logger;
}

/** The operations state for `config` (see the module documentation). */
export function createOps(config: Config, options: OpsOptions): Ops {
  let current = config;
  const events = createEvents((err, name) =>
    options.log?.error("event_subscriber_failed", { event: name, error: err })
  );
  const tracker = createTracker(events, () => current.log_sql);
  const metrics = config.metrics ? createMetrics(events, { version: options.version }) : null;
  const gate = createGate();
  const queries = createQueryRegistry();
  let sources: MetricsSources = {};
  const requests = () => ({
    inFlight: tracker.inFlight,
    running: gate.running,
    queued: gate.queued,
  });
  const live = createLiveStats(
    events,
    () => ({ ...sources, requests }),
    () => queries.list().map((q) => viewOf(q)),
  );
  let accessLog: { sink: LineSink; key: string; off: () => void } | null = null;
  const openAccessLog = (next: Config) => {
    const key = JSON.stringify([
      next.access_log,
      next.access_log_roll_size,
      next.access_log_roll_keep,
    ]);
    if (accessLog?.key === key) return;
    const previous = accessLog;
    accessLog = null;
    if (next.access_log !== "off") {
      const sink = openLineSink(next.access_log, {
        rollSize: next.access_log_roll_size,
        rollKeep: next.access_log_roll_keep,
      });
      const off = events.on("request_done", (done) => sink.writeWith(writeAccessLine, done));
      accessLog = { sink, key, off };
    }
    previous?.off();
    previous?.sink.close();
  };
  openAccessLog(config);
  const followLogLevel = createDebugLines(events, options.log);
  return {
    events,
    tracker,
    metrics,
    limiter: createRateLimiter(),
    gate,
    queries,
    live,
    sqlMode: () => current.log_sql,
    sources: () => sources,
    update(next) {
      openAccessLog(next);
      followLogLevel();
      current = next;
    },
    attach(attached) {
      sources = attached;
      metrics?.attach({ requests, ...attached });
    },
    async close() {
      live.close();
      accessLog?.off();
      await accessLog?.sink.close();
      accessLog = null;
      metrics?.close();
    },
  };
}

/**
 * The event log keeps a short `request_done` line per request at debug level (the access log is
 * the record), subscribed only while debug lines are printed, so requests build no event for
 * nothing. Returns what re-checks the level (after a reload).
 */
function createDebugLines(events: Events, log: Logger | undefined): () => void {
  let off: (() => void) | null = null;
  const follow = () => {
    const wanted = log !== undefined && (log.enabled?.("debug") ?? true);
    if (wanted && !off) {
      off = events.on("request_done", (done) =>
        log!.debug("request_done", {
          request_id: done.request_id,
          method: done.method,
          route: done.route,
          status: done.status,
          key_id: done.key_id ?? undefined,
          ms: Math.round(done.duration * 10_000) / 10,
        }));
    } else if (!wanted && off) {
      off();
      off = null;
    }
  };
  follow();
  return follow;
}

/** The per-request rules of one configuration, computed once per app. */
export interface RequestRules {
  /** The client's address from the peer and the headers (`client_ip_header`). */
  clientIp: ClientIp;
  /** `anonymous_rate_limit` and its burst, or null. */
  anonymous: RateLimit | null;
  /** `max_concurrent_queries` (resolved) and `max_queued_queries`. */
  gate: GateLimits;
}

/** The {@link RequestRules} of `config`. */
export function requestRulesOf(config: Config): RequestRules {
  const rate = config.anonymous_rate_limit === null ? null : parseRate(config.anonymous_rate_limit);
  return {
    clientIp: createClientIp(config.client_ip_header, config.trusted_proxies),
    anonymous: rate === null ? null : {
      rate,
      burst: config.anonymous_rate_burst || defaultBurst(rate),
    },
    gate: {
      running: config.max_concurrent_queries || config.threads * 4,
      queued: config.max_queued_queries,
    },
  };
}
