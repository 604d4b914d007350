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
import type { Events, RequestDone } from "../events.ts";
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
  /** Open client connections of the main listener (the dashboard shows them). */
  connections?: () => number;
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
  let sources: MetricsSources = {};
  const m = createInstruments(registry);
  const requests = createRequestTally();
  const unsubscribe = [
    events.on("request_done", (e) => {
      requests.add(e);
      if (e.tenant) m.tenants.inc({ tenant: e.tenant, status: String(e.status) });
    }),
    events.on("query_done", (e) => {
      m.queries.observe({ kind: e.kind }, e.duration);
      if (e.rows !== null) m.rows.inc({ kind: e.kind }, e.rows);
    }),
    events.on("auth_failed", (e) => m.authFailures.inc({ reason: e.reason })),
    events.on("rate_limited", (e) => m.limited.inc({ scope: e.scope })),
    events.on("request_shed", () => m.shed.inc()),
    events.on("config_reloaded", (e) => m.reloads.inc({ result: e.ok ? "applied" : "refused" })),
  ];
  const newScrape = registerGauges(registry, () => sources, info);
  const stopProcess = registerProcessMetrics(registry);
  return {
    text() {
      requests.fold(m);
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

/** One route's requests since the last scrape. */
interface RouteTally {
  labels: { route: string };
  /** Requests by method index × 1000 + status. */
  answers: Map<number, { labels: { route: string; method: string; status: string }; n: number }>;
  bytes: number;
  /** Durations: count per bucket of {@link DURATION_BUCKETS} (beyond the last: none), sum, count. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * The `request_done` metrics tallied in plain numbers per route and folded into the prom-client
 * instruments when Prometheus scrapes: a request costs a map lookup and a few additions instead
 * of prom-client's label validation, hashing and objects for each of four instruments.
 */
function createRequestTally() {
  const routes = new Map<string, RouteTally>();
  let hits = 0;
  let misses = 0;
  return {
    add(e: RequestDone) {
      const route = e.route ?? "none";
      let tally = routes.get(route);
      if (tally === undefined) {
        tally = {
          labels: { route },
          answers: new Map(),
          bytes: 0,
          buckets: new Float64Array(DURATION_BUCKETS.length),
          sum: 0,
          count: 0,
        };
        routes.set(route, tally);
      }
      const method = METHOD_INDEX.get(e.method) ?? 0;
      const key = method * 1000 + e.status;
      const answer = tally.answers.get(key);
      if (answer) answer.n++;
      else {
        const labels = { route, method: METHOD_NAMES[method], status: String(e.status) };
        tally.answers.set(key, { labels, n: 1 });
      }
      tally.bytes += e.bytes;
      const duration = e.duration;
      if (!(duration >= 0 && duration < Infinity)) return;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        if (duration <= DURATION_BUCKETS[i]) {
          tally.buckets[i]++;
          break;
        }
      }
      tally.sum += duration;
      tally.count++;
      if (e.cache === "hit") hits++;
      else if (e.cache === "miss") misses++;
    },
    /** Adds what was tallied since the last call to the instruments. */
    fold(m: Instruments) {
      for (const tally of routes.values()) {
        if (tally.count === 0) continue;
        for (const answer of tally.answers.values()) {
          if (answer.n > 0) m.requests.inc(answer.labels, answer.n);
          answer.n = 0;
        }
        m.bytes.inc(tally.labels, tally.bytes);
        addObservations(m.duration, tally.labels, tally.buckets, tally.sum, tally.count);
        tally.bytes = tally.sum = tally.count = 0;
        tally.buckets.fill(0);
      }
      if (hits > 0) m.hits.inc(hits);
      if (misses > 0) m.misses.inc(misses);
      hits = misses = 0;
    },
  };
}

/** A prom-client 15 histogram series as it keeps it (`hashMap` values). */
interface HistogramSeries {
  labels: Record<string, string>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * Adds `count` observations (per-bucket `buckets` of {@link DURATION_BUCKETS}, their `sum`) to
 * the series `labels` of `histogram`. prom-client has no bulk observe, so this adds to the
 * series it keeps (prom-client is pinned; tests/ops/metrics_test.ts reads the counts back).
 */
function addObservations(
  histogram: Histogram,
  labels: { route: string },
  buckets: Float64Array,
  sum: number,
  count: number,
): void {
  const all = () =>
    Object.values((histogram as unknown as { hashMap: Record<string, HistogramSeries> }).hashMap);
  let series = all().find((s) => s.labels.route === labels.route);
  if (!series) {
    histogram.zero(labels);
    series = all().find((s) => s.labels.route === labels.route)!;
  }
  for (let i = 0; i < DURATION_BUCKETS.length; i++) {
    series.bucketValues[DURATION_BUCKETS[i]] += buckets[i];
  }
  series.sum += sum;
  series.count += count;
}

/** The method label's values; anything else is `OTHER` (index 0). */
const METHOD_NAMES = ["OTHER", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const METHOD_INDEX = new Map(METHOD_NAMES.map((name, i) => [name, i]));
METHOD_INDEX.delete("OTHER");

type Instruments = ReturnType<typeof createInstruments>;

/** The counters and histograms the events move. */
function createInstruments(registry: Registry) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers });
  const histogram = (name: string, help: string, labelNames: string[]) =>
    new Histogram({ name, help, labelNames, buckets: DURATION_BUCKETS, registers });
  const m = {
    requests: counter(
      "duckserve_http_requests_total",
      "HTTP requests answered, by route pattern, method and status.",
      ["route", "method", "status"],
    ),
    duration: histogram(
      "duckserve_http_request_duration_seconds",
      "Seconds from a request's arrival to its last byte, by route pattern.",
      ["route"],
    ),
    bytes: counter(
      "duckserve_response_bytes_total",
      "Response body bytes sent, by route pattern.",
      ["route"],
    ),
    tenants: counter(
      "duckserve_tenant_requests_total",
      "HTTP requests of tenants (the attached database whose hosts name the Host), by status.",
      ["tenant", "status"],
    ),
    hits: counter("duckserve_read_cache_hits_total", "Answers served from the read cache."),
    misses: counter(
      "duckserve_read_cache_misses_total",
      "Cacheable answers computed and stored in the read cache.",
    ),
    queries: histogram(
      "duckserve_query_duration_seconds",
      "Seconds from a query's start to the last byte of its answer, by kind (raw, crud, export).",
      ["kind"],
    ),
    rows: counter(
      "duckserve_rows_returned_total",
      "Rows sent in answers to queries, by kind (raw, crud, export).",
      ["kind"],
    ),
    authFailures: counter(
      "duckserve_auth_failures_total",
      "Refused authentications, by reason (missing, unknown, inactive, expired, locked_out).",
      ["reason"],
    ),
    limited: counter(
      "duckserve_rate_limited_total",
      "Requests refused by a rate limit, by scope (key, address, tenant).",
      ["scope"],
    ),
    shed: counter(
      "duckserve_requests_shed_total",
      "Requests refused at once with 503 overloaded (query slots and queue full).",
    ),
    reloads: counter(
      "duckserve_config_reloads_total",
      "Configuration reloads, by result (applied, refused).",
      ["result"],
    ),
  };
  // Series that exist from the start, so rates work before the first event.
  for (const result of ["applied", "refused"]) m.reloads.inc({ result }, 0);
  for (const kind of ["raw", "crud", "export"]) m.rows.inc({ kind }, 0);
  for (const scope of ["key", "address"]) m.limited.inc({ scope }, 0);
  return m;
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
