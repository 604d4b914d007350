/**
 * The process metrics, read when Prometheus scrapes: CPU seconds, resident memory, the JS heap,
 * open file descriptors, the start time, and the event loop's lag (delays measured by
 * `monitorEventLoopDelay` since the previous scrape: mean, p50, p99, max). Standard
 * `process_*` names, so dashboards made for any Prometheus client read them.
 * @module
 */

import { monitorEventLoopDelay } from "node:perf_hooks";
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
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  new Gauge({
    name: "duckserve_event_loop_lag_seconds",
    help: "Event loop delay since the previous scrape, by statistic (mean, p50, p99, max).",
    labelNames: ["stat"],
    registers,
    collect() {
      const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
      this.set({ stat: "mean" }, seconds(lag.mean));
      this.set({ stat: "p50" }, seconds(lag.percentile(50)));
      this.set({ stat: "p99" }, seconds(lag.percentile(99)));
      this.set({ stat: "max" }, seconds(lag.max));
      lag.reset();
    },
  });
  return () => lag.disable();
}
