/**
 * The process metrics, read when Prometheus scrapes: CPU seconds, resident memory, the JS heap,
 * open file descriptors, the start time, and the event loop's lag (delays measured by
 * a 10 ms timer since the previous scrape: mean, p50, p99, max). Standard
 * `process_*` names, so dashboards made for any Prometheus client read them.
 * @module
 */

import process from "node:process";
import { Counter, Gauge, type Registry } from "prom-client";

/** Registers the process metrics on `registry`; returns the function that stops the lag monitor. */
export function registerProcessMetrics(registry: Registry): () => void {
  const registers = [registry];
  new Counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time of the process in seconds.",
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory of the process in bytes (JS heap, DuckDB, buffers).",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Gauge({
    name: "process_heap_bytes",
    help: "Bytes of the JavaScript heap in use.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  const started = Date.now() / 1000 - performance.now() / 1000;
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch in seconds.",
    registers,
    collect() {
      this.set(Math.round(started));
    },
  });
  new Gauge({
    name: "process_open_fds",
    help: "Open file descriptors of the process.",
    registers,
    collect() {
      try {
        let n = 0;
        for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
        this.set(n);
      } catch {
        // not Linux: left out
      }
    },
  });
  const lag = createLagMonitor(LAG_RESOLUTION_MS);
  new Gauge({
    name: "duckserve_event_loop_lag_seconds",
    help: "Event loop delay since the previous scrape, by statistic (mean, p50, p99, max).",
    labelNames: ["stat"],
    registers,
    collect() {
      const stats = lag.take();
      this.set({ stat: "mean" }, stats.mean);
      this.set({ stat: "p50" }, stats.p50);
      this.set({ stat: "p99" }, stats.p99);
      this.set({ stat: "max" }, stats.max);
    },
  });
  return () => lag.stop();
}

/** How often the event loop's delay is sampled (ms). */
export const LAG_RESOLUTION_MS = 10;
/** Delays kept for the percentiles (the newest; about 40 s at the resolution). */
const LAG_SAMPLES = 4096;

/** Event loop delay statistics in seconds. */
export interface LagStats {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * A timer every `resolutionMs` that records how late it fires (the event loop's delay).
 * `node:perf_hooks`' `monitorEventLoopDelay` does the same in Deno, but reading its mean and
 * percentiles walks a wide native histogram: 3-8 ms of the event loop per scrape under load,
 * where this sorts the last few hundred samples in well under a millisecond.
 */
export function createLagMonitor(resolutionMs: number): { take(): LagStats; stop(): void } {
  const samples = new Float64Array(LAG_SAMPLES);
  let count = 0;
  let sum = 0;
  let max = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const delay = Math.max(0, now - last - resolutionMs);
    last = now;
    samples[count % LAG_SAMPLES] = delay;
    count++;
    sum += delay;
    if (delay > max) max = delay;
  }, resolutionMs);
  Deno.unrefTimer(timer);
  return {
    take() {
      const kept = samples.slice(0, Math.min(count, LAG_SAMPLES)).sort();
      const at = (q: number) => kept.length === 0 ? 0 : kept[Math.ceil(q * kept.length) - 1] / 1000;
      const stats = {
        mean: count === 0 ? 0 : sum / count / 1000,
        p50: at(0.5),
        p99: at(0.99),
        max: max / 1000,
      };
      count = 0;
      sum = 0;
      max = 0;
      return stats;
    },
    stop: () => clearInterval(timer),
  };
}
