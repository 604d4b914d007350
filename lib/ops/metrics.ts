/**
 * The Prometheus metrics of one server, with `prom-client` (one registry per server, never the
 * library's global one). Counters and histograms follow the events hub (`request_done`,
 * `query_done`, `auth_failed`, `rate_limited`, `request_shed`, `config_reloaded`); gauges are
 * read when Prometheus scrapes, from the {@link MetricsSources} the server wires in: the
 * request tracker and the query gate, the connection pool, the streams, and DuckDB's own
 * `duckdb_memory()` and `duckdb_temporary_files()` (queried on the probe connection, bounded by
 * {@link DUCKDB_STATS_TIMEOUT_MS}). Route labels are route patterns, never raw paths; methods
 * outside the usual ones are counted as `OTHER`, so every label's values are bounded.
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Events } from "../events.ts";
import { registerProcessMetrics } from "./process_metrics.ts";

/** How long a scrape waits for DuckDB's memory figures before leaving them out. */
export const DUCKDB_STATS_TIMEOUT_MS = 1_000;

/** DuckDB's memory and spill figures. */
export interface DuckdbStats {
  /** `duckdb_memory()`: bytes in memory and in temporary storage, by tag. */
  memory: { tag: string; memoryBytes: number; temporaryBytes: number }[];
  /** `duckdb_temporary_files()`: spill files and their bytes. */
  temporaryFiles: number;
  temporaryFileBytes: number;
}

/** Where the scrape-time gauges come from (each optional). */
export interface MetricsSources {
  requests?: () => { inFlight: number; running: number; queued: number };
  pool?: () => { busy: number; idle: number; waiting: number };
  duckdb?: (signal: AbortSignal) => Promise<DuckdbStats>;
  streams?: () => { streams: number; bytes: number; readers: number };
}

/** The metrics of one server. */
export interface Metrics {
  /** The registry in the text exposition format. */
  text(): Promise<string>;
  /** Its content type (`text/plain; version=0.0.4; charset=utf-8`). */
  readonly contentType: string;
  /** Sets where the scrape-time gauges come from (the database opens after the listener). */
  attach(sources: MetricsSources): void;
  /** Unsubscribes and stops the event loop monitor. */
  close(): void;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Request durations: cached answers take well under a millisecond, exports minutes. */
const DURATION_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
];

/** Creates the metrics of a server listening on `events`; `info` labels `duckserve_info`. */
export function createMetrics(events: Events, info: { version: string }): Metrics {
  const registry = new Registry();
  const registers = [registry];
  let sources: MetricsSources = {};
  const requests = new Counter({
    name: "duckserve_http_requests_total",
    help: "HTTP requests answered, by route pattern, method and status.",
    labelNames: ["route", "method", "status"],
    registers,
  });
  const duration = new Histogram({
    name: "duckserve_http_request_duration_seconds",
    help: "Seconds from a request's arrival to its last byte, by route pattern.",
    labelNames: ["route"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const bytes = new Counter({
    name: "duckserve_response_bytes_total",
    help: "Response body bytes sent, by route pattern.",
    labelNames: ["route"],
    registers,
  });
  const hits = new Counter({
    name: "duckserve_read_cache_hits_total",
    help: "Answers served from the read cache.",
    registers,
  });
  const misses = new Counter({
    name: "duckserve_read_cache_misses_total",
    help: "Cacheable answers computed and stored in the read cache.",
    registers,
  });
  const queries = new Histogram({
    name: "duckserve_query_duration_seconds",
    help: "Seconds from a query's start to the last byte of its answer, by kind " +
      "(raw, crud, export).",
    labelNames: ["kind"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const rows = new Counter({
    name: "duckserve_rows_returned_total",
    help: "Rows sent in answers to queries, by kind (raw, crud, export).",
    labelNames: ["kind"],
    registers,
  });
  const authFailures = new Counter({
    name: "duckserve_auth_failures_total",
    help: "Refused authentications, by reason (missing, unknown, inactive, expired, locked_out).",
    labelNames: ["reason"],
    registers,
  });
  const limited = new Counter({
    name: "duckserve_rate_limited_total",
    help: "Requests refused by a rate limit, by scope (key, address).",
    labelNames: ["scope"],
    registers,
  });
  const shed = new Counter({
    name: "duckserve_requests_shed_total",
    help: "Requests refused at once with 503 overloaded (query slots and queue full).",
    registers,
  });
  const reloads = new Counter({
    name: "duckserve_config_reloads_total",
    help: "Configuration reloads, by result (applied, refused).",
    labelNames: ["result"],
    registers,
  });
  for (const result of ["applied", "refused"]) reloads.inc({ result }, 0);
  for (const kind of ["raw", "crud", "export"]) rows.inc({ kind }, 0);
  for (const scope of ["key", "address"]) limited.inc({ scope }, 0);

  const unsubscribe = [
    events.on("request_done", (e) => {
      const route = e.route ?? "none";
      const method = METHODS.has(e.method) ? e.method : "OTHER";
      requests.inc({ route, method, status: String(e.status) });
      duration.observe({ route }, e.duration);
      bytes.inc({ route }, e.bytes);
      if (e.cache === "hit") hits.inc();
      else if (e.cache === "miss") misses.inc();
    }),
    events.on("query_done", (e) => {
      queries.observe({ kind: e.kind }, e.duration);
      if (e.rows !== null) rows.inc({ kind: e.kind }, e.rows);
    }),
    events.on("auth_failed", (e) => authFailures.inc({ reason: e.reason })),
    events.on("rate_limited", (e) => limited.inc({ scope: e.scope })),
    events.on("request_shed", () => shed.inc()),
    events.on("config_reloaded", (e) => reloads.inc({ result: e.ok ? "applied" : "refused" })),
  ];
  const newScrape = registerGauges(registry, () => sources, info);
  const stopProcess = registerProcessMetrics(registry);
  return {
    text() {
      newScrape();
      return registry.metrics();
    },
    contentType: registry.contentType,
    attach(next) {
      sources = next;
    },
    close() {
      for (const off of unsubscribe) off();
      stopProcess();
    },
  };
}

/** The gauges read at scrape time; returns what starts a new scrape. */
function registerGauges(
  registry: Registry,
  sources: () => MetricsSources,
  info: { version: string },
): () => void {
  const registers = [registry];
  const gauge = (
    name: string,
    help: string,
    read: (g: Gauge) => void | Promise<void>,
    labelNames: string[] = [],
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        return read(this);
      },
    });
  gauge("duckserve_info", "duckserve's version (always 1).", (g) => {
    g.set({ version: info.version }, 1);
  }, ["version"]);
  gauge("duckserve_http_requests_in_flight", "Requests being answered.", (g) => {
    g.set(sources().requests?.().inFlight ?? 0);
  });
  gauge("duckserve_queries_running", "Requests holding a query slot.", (g) => {
    g.set(sources().requests?.().running ?? 0);
  });
  gauge("duckserve_queries_queued", "Requests waiting for a query slot.", (g) => {
    g.set(sources().requests?.().queued ?? 0);
  });
  gauge("duckserve_db_connections", "Pooled DuckDB connections, by state (busy, idle).", (g) => {
    const pool = sources().pool?.();
    g.set({ state: "busy" }, pool?.busy ?? 0);
    g.set({ state: "idle" }, pool?.idle ?? 0);
  }, ["state"]);
  gauge("duckserve_db_queue_depth", "Requests waiting for a pooled connection.", (g) => {
    g.set(sources().pool?.().waiting ?? 0);
  });
  gauge("duckserve_streams", "Durable streams.", (g) => {
    g.set(sources().streams?.().streams ?? 0);
  });
  gauge("duckserve_stream_bytes", "Bytes held by the durable streams.", (g) => {
    g.set(sources().streams?.().bytes ?? 0);
  });
  gauge("duckserve_stream_readers", "Live stream readers (long-poll and SSE).", (g) => {
    g.set(sources().streams?.().readers ?? 0);
  });
  return registerDuckdbGauges(registry, sources);
}

/**
 * DuckDB's memory and spill gauges: one query per scrape, shared by the gauges; returns what
 * starts a new scrape.
 */
function registerDuckdbGauges(registry: Registry, sources: () => MetricsSources): () => void {
  const registers = [registry];
  let pending: Promise<DuckdbStats | null> | null = null;
  // The gauges of one scrape share one query.
  const stats = () =>
    pending ??= (async () => {
      const read = sources().duckdb;
      if (!read) return null;
      try {
        return await read(AbortSignal.timeout(DUCKDB_STATS_TIMEOUT_MS));
      } catch {
        return null;
      }
    })();
  new Gauge({
    name: "duckserve_duckdb_memory_bytes",
    help: "DuckDB's memory use by tag (duckdb_memory()).",
    labelNames: ["tag"],
    registers,
    async collect() {
      const s = await stats();
      this.reset();
      for (const m of s?.memory ?? []) this.set({ tag: m.tag }, m.memoryBytes);
    },
  });
  new Gauge({
    name: "duckserve_duckdb_temporary_storage_bytes",
    help: "DuckDB's spilled bytes by tag (duckdb_memory()).",
    labelNames: ["tag"],
    registers,
    async collect() {
      const s = await stats();
      this.reset();
      for (const m of s?.memory ?? []) this.set({ tag: m.tag }, m.temporaryBytes);
    },
  });
  new Gauge({
    name: "duckserve_duckdb_temporary_files",
    help: "DuckDB's spill files (duckdb_temporary_files()).",
    registers,
    async collect() {
      this.set((await stats())?.temporaryFiles ?? 0);
    },
  });
  new Gauge({
    name: "duckserve_duckdb_temporary_file_bytes",
    help: "Bytes in DuckDB's spill files (duckdb_temporary_files()).",
    registers,
    async collect() {
      this.set((await stats())?.temporaryFileBytes ?? 0);
    },
  });
  return () => {
    pending = null;
  };
}
