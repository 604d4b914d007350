/**
 * The dashboard's numbers. While a viewer watches (and for a minute after the last one left, so
 * a page reload keeps its charts), {@link LiveStats} subscribes to the events hub (`request_done`,
 * `query_done`, `rate_limited`, `request_shed`) and once a second makes a {@link LiveFrame}:
 * requests, errors, cache hits, limits and shedding of that second, the gauges (in flight,
 * running, queued, connections, pool, DuckDB memory and spill, streams) and latency percentiles
 * per route over the last 10 seconds and the last 5 minutes. Nobody watching: no subscription, no
 * timer, nothing per request.
 *
 * Memory is bounded whatever the load: per route, 40 fixed histograms (`histogram.ts`: ten 1 s
 * slots, thirty 10 s slots), at most {@link MAX_ROUTES} routes; 300 frames of history; the 10
 * slowest queries finished in the last {@link SLOW_WINDOW_MS} ms.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createEvents } from "../events.ts";
 * import { createLiveStats } from "./live.ts";
 * const events = createEvents();
 * const live = createLiveStats(events, () => ({}), () => []);
 * equal(events.has("request_done"), false); // nobody watches: nothing subscribed
 * const viewer = live.watch(() => {});
 * equal(events.has("request_done"), true);
 * viewer.stop();
 * live.close();
 * equal(events.has("request_done"), false);
 * ```
 * @module
 */

import type { Events, QueryDone, RequestDone } from "../events.ts";
import { createHistogram, type Histogram } from "./histogram.ts";
import type { MetricsSources } from "./metrics.ts";
import type { QueryView } from "./queries.ts";

/** Frames kept (one a second: 5 minutes). */
export const HISTORY_FRAMES = 300;
/** Most routes followed, `(other)` included (where the rest count). */
export const MAX_ROUTES = 50;
/** How long a finished query stays among the slowest. */
export const SLOW_WINDOW_MS = 10 * 60_000;
/** Slowest queries kept. */
export const SLOW_KEPT = 10;
/** How long collection goes on after the last viewer left. */
export const GRACE_MS = 60_000;

/** Latency percentiles of one route over a window, in milliseconds. */
export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** One second of the server: its counts, gauges and latencies. */
export interface LiveFrame extends Counters {
  /** Epoch milliseconds at the end of the second. */
  t: number;
  in_flight: number;
  running: number;
  queued: number;
  connections: number | null;
  pool: { busy: number; idle: number; waiting: number } | null;
  duckdb: { memory_bytes: number; spill_bytes: number; temporary_files: number } | null;
  streams: { streams: number; bytes: number; readers: number } | null;
  /** Per route (`*`: all), over the last 10 seconds. */
  latency: Record<string, Percentiles>;
}

/** A finished query among the slowest recent ones. */
export interface SlowQuery {
  request_id: string;
  time: string;
  route: string | null;
  kind: string;
  key_id: string | null;
  role: string | null;
  status: number;
  duration: number;
  rows: number | null;
  sql: string | null;
  error_code: string | null;
}

/** What a viewer is sent each second. */
export interface LiveTick {
  frame: LiveFrame;
  /** Per route (`*`: all), over the last 5 minutes. */
  latency_5m: Record<string, Percentiles>;
  queries: QueryView[];
  slowest: SlowQuery[];
}

/** A watching viewer. */
export interface LiveViewer {
  /** The frames so far, oldest first. */
  history(): LiveFrame[];
  /** Stops watching. */
  stop(): void;
}

/** The dashboard's state at one moment, without watching. */
export interface LiveSnapshot {
  /** The frames kept (empty unless someone watched in the last minute). */
  history: LiveFrame[];
  queries: QueryView[];
}

/** The dashboard's numbers (see the module documentation). */
export interface LiveStats {
  /** The frames kept and the running queries now (starts no collection). */
  snapshot(): LiveSnapshot;
  /** Starts watching: `onTick` is called every second until {@link LiveViewer.stop}. */
  watch(onTick: (tick: LiveTick) => void): LiveViewer;
  /** Viewers watching now. */
  readonly viewers: number;
  /** Stops everything. */
  close(): void;
}

/** The histograms of one route. */
interface RouteSlots {
  second: Histogram;
  /** The last ten seconds. */
  seconds: Histogram[];
  /** The last thirty 10-second spans (the current one filling). */
  spans: Histogram[];
}

/** Counts of the current second. */
export interface Counters {
  requests: number;
  /** Answers with a 5xx status, and with a 4xx status. */
  errors: number;
  client_errors: number;
  rate_limited: number;
  shed: number;
  cache_hits: number;
  cache_misses: number;
}

const zero = (): Counters => ({
  requests: 0,
  errors: 0,
  client_errors: 0,
  rate_limited: 0,
  shed: 0,
  cache_hits: 0,
  cache_misses: 0,
});

/** Per-route latency histograms in fixed rings. */
function createLatencies() {
  const routes = new Map<string, RouteSlots>();
  let tick = 0;
  const slotsOf = (route: string): RouteSlots => {
    let slots = routes.get(route);
    if (!slots) {
      if (routes.size >= MAX_ROUTES - 1 && route !== "(other)") return slotsOf("(other)");
      slots = {
        second: createHistogram(),
        seconds: Array.from({ length: 10 }, createHistogram),
        spans: Array.from({ length: 30 }, createHistogram),
      };
      routes.set(route, slots);
    }
    return slots;
  };
  const summary = (parts: Histogram[], into: Histogram): Percentiles => {
    into.clear();
    for (const h of parts) if (h.count > 0) into.add(h);
    return {
      count: into.count,
      p50: into.percentile(0.5),
      p95: into.percentile(0.95),
      p99: into.percentile(0.99),
    };
  };
  const scratch = createHistogram();
  const all = createHistogram();
  return {
    record(route: string, ms: number) {
      slotsOf(route).second.record(ms);
    },
    /** Closes the second: the percentiles of the last 10 s and 5 min, per route and in all. */
    roll(): { recent: Record<string, Percentiles>; long: Record<string, Percentiles> } {
      const i = tick % 10;
      const span = Math.floor(tick / 10) % 30;
      tick++;
      const recent: Record<string, Percentiles> = {};
      const long: Record<string, Percentiles> = {};
      const everything = { seconds: [] as Histogram[], spans: [] as Histogram[] };
      for (const [route, slots] of routes) {
        if (i === 0) slots.spans[span].clear();
        slots.seconds[i].clear();
        slots.seconds[i].add(slots.second);
        slots.spans[span].add(slots.second);
        slots.second.clear();
        long[route] = summary(slots.spans, scratch);
        if (long[route].count === 0) {
          routes.delete(route);
          delete long[route];
          continue;
        }
        recent[route] = summary(slots.seconds, scratch);
        everything.seconds.push(...slots.seconds);
        everything.spans.push(...slots.spans);
      }
      recent["*"] = summary(everything.seconds, all);
      long["*"] = summary(everything.spans, all);
      return { recent, long };
    },
  };
}

/** The slowest finished queries of the last {@link SLOW_WINDOW_MS}. */
function createSlowest() {
  let kept: (SlowQuery & { at: number })[] = [];
  return {
    add(done: QueryDone) {
      const at = Date.now();
      kept = kept.filter((q) => at - q.at < SLOW_WINDOW_MS);
      if (kept.length >= SLOW_KEPT && kept[kept.length - 1].duration >= done.duration) return;
      kept.push({
        at,
        request_id: done.request_id,
        time: new Date(done.time).toISOString(),
        route: done.route,
        kind: done.kind,
        key_id: done.key_id,
        role: done.role,
        status: done.status,
        duration: done.duration,
        rows: done.rows,
        sql: done.sql,
        error_code: done.error_code,
      });
      kept.sort((a, b) => b.duration - a.duration);
      kept.length = Math.min(kept.length, SLOW_KEPT);
    },
    list(): SlowQuery[] {
      const now = Date.now();
      return kept.filter((q) => now - q.at < SLOW_WINDOW_MS).map(({ at: _, ...q }) => q);
    },
  };
}

/**
 * Creates the collector: `sources` gives the gauges' sources (read each second), `running` the
 * running queries as listed.
 */
export function createLiveStats(
  events: Events,
  sources: () => MetricsSources,
  running: () => QueryView[],
): LiveStats {
  const viewers = new Set<(tick: LiveTick) => void>();
  const history: LiveFrame[] = [];
  let collector: { stop(): void } | null = null;
  let idleSince = 0;

  const start = () => {
    const counters = { now: zero() };
    const latencies = createLatencies();
    const slowest = createSlowest();
    const gauges = createGauges(sources);
    const offs = [
      events.on("request_done", (done) => count(counters.now, latencies, done)),
      events.on("query_done", (done) => slowest.add(done)),
      events.on("rate_limited", () => counters.now.rate_limited++),
      events.on("request_shed", () => counters.now.shed++),
    ];
    const timer = setInterval(() => {
      if (viewers.size === 0 && Date.now() - idleSince > GRACE_MS) return stop();
      const { recent, long } = latencies.roll();
      const frame: LiveFrame = {
        t: Date.now(),
        ...counters.now,
        ...gauges.read(),
        latency: recent,
      };
      counters.now = zero();
      history.push(frame);
      if (history.length > HISTORY_FRAMES) history.shift();
      if (viewers.size === 0) return;
      const tick: LiveTick = {
        frame,
        latency_5m: long,
        queries: running(),
        slowest: slowest.list(),
      };
      for (const viewer of viewers) viewer(tick);
    }, 1000);
    Deno.unrefTimer(timer);
    const stop = () => {
      clearInterval(timer);
      for (const off of offs) off();
      collector = null;
    };
    return { stop };
  };

  return {
    snapshot: () => ({ history: [...history], queries: running() }),
    watch(onTick) {
      viewers.add(onTick);
      collector ??= start();
      let stopped = false;
      return {
        history: () => [...history],
        stop() {
          if (stopped) return;
          stopped = true;
          viewers.delete(onTick);
          if (viewers.size === 0) idleSince = Date.now();
        },
      };
    },
    get viewers() {
      return viewers.size;
    },
    close() {
      viewers.clear();
      collector?.stop();
    },
  };
}

/** Counts one answered request. */
function count(
  now: Counters,
  latencies: ReturnType<typeof createLatencies>,
  done: RequestDone,
): void {
  now.requests++;
  if (done.status >= 500) now.errors++;
  else if (done.status >= 400) now.client_errors++;
  if (done.cache === "hit") now.cache_hits++;
  else if (done.cache === "miss") now.cache_misses++;
  // The dashboard's own feed lasts as long as it is watched: not a latency.
  if (done.route?.endsWith("/dashboard/feed")) return;
  latencies.record(done.route ?? "(none)", done.duration * 1000);
}

/** The gauges of a frame; DuckDB's figures are refreshed every other second (one query). */
function createGauges(sources: () => MetricsSources) {
  let duckdb: LiveFrame["duckdb"] = null;
  let reading = false;
  let turn = 0;
  const refreshDuckdb = () => {
    const read = sources().duckdb;
    if (!read || reading || turn++ % 2 !== 0) return;
    reading = true;
    read(AbortSignal.timeout(900)).then((stats) => {
      let memory = 0;
      let spill = 0;
      for (const tag of stats.memory) {
        memory += tag.memoryBytes;
        spill += tag.temporaryBytes;
      }
      duckdb = {
        memory_bytes: memory,
        spill_bytes: Math.max(spill, stats.temporaryFileBytes),
        temporary_files: stats.temporaryFiles,
      };
    }, () => {}).finally(() => reading = false);
  };
  return {
    read() {
      const s = sources();
      refreshDuckdb();
      const requests = s.requests?.() ?? { inFlight: 0, running: 0, queued: 0 };
      return {
        in_flight: requests.inFlight,
        running: requests.running,
        queued: requests.queued,
        connections: s.connections?.() ?? null,
        pool: s.pool?.() ?? null,
        duckdb,
        streams: s.streams?.() ?? null,
      };
    },
  };
}
