import { deepEqual, equal, ok } from "node:assert/strict";
import { createEvents, type RequestDone } from "../../lib/events.ts";
import { createHistogram } from "../../lib/ops/histogram.ts";
import { createLiveStats, type LiveTick, MAX_ROUTES } from "../../lib/ops/live.ts";

/** A `request_done` event of `route` that took `ms`. */
function done(route: string, ms: number, status = 200, cache: "hit" | "miss" | null = null) {
  return { route, status, duration: ms / 1000, cache } as unknown as RequestDone;
}

Deno.test("histogram: percentiles within 10 % of the true values, memory fixed", () => {
  const h = createHistogram();
  const values: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    const ms = 0.1 * Math.exp(Math.random() * 12); // 0.1 ms .. 16 s
    values.push(ms);
    h.record(ms);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.95, 0.99]) {
    const truth = values[Math.ceil(q * values.length) - 1];
    const got = h.percentile(q)!;
    ok(Math.abs(got - truth) / truth < 0.1, `p${q * 100}: ${got} against ${truth}`);
  }
  equal(h.count, 100_000);
  equal(h.counts.length, 96);
  h.record(1e9); // beyond the last bucket: counted in it
  h.record(0);
  equal(h.count, 100_002);
  h.clear();
  equal(h.percentile(0.5), null);
});

Deno.test("live stats: a tick a second counts requests, errors, cache and limits per route", async () => {
  const events = createEvents();
  const live = createLiveStats(
    events,
    () => ({ requests: () => ({ inFlight: 3, running: 2, queued: 1 }), connections: () => 7 }),
    () => [],
  );
  const ticks: LiveTick[] = [];
  const viewer = live.watch((tick) => ticks.push(tick));
  try {
    for (let i = 0; i < 90; i++) events.emit("request_done", done("/a", 10, 200, "hit"));
    for (let i = 0; i < 10; i++) events.emit("request_done", done("/b", 100, 500, "miss"));
    events.emit("request_done", done("/b", 1, 404));
    events.emit("rate_limited", {
      request_id: "r",
      scope: "key",
      key_id: null,
      role: null,
      client_ip: "1.2.3.4",
    });
    events.emit("request_shed", { request_id: "s", route: null, running: 1, queued: 1 });
    while (ticks.length === 0) await new Promise((r) => setTimeout(r, 50));
    const { frame, latency_5m } = ticks[0];
    equal(frame.requests, 101);
    equal(frame.errors, 10);
    equal(frame.client_errors, 1);
    equal(frame.cache_hits, 90);
    equal(frame.cache_misses, 10);
    equal(frame.rate_limited, 1);
    equal(frame.shed, 1);
    deepEqual([frame.in_flight, frame.running, frame.queued, frame.connections], [3, 2, 1, 7]);
    equal(frame.latency["/a"].count, 90);
    ok(Math.abs(frame.latency["/a"].p50! - 10) < 1);
    ok(Math.abs(frame.latency["/b"].p99! - 100) < 10);
    equal(frame.latency["*"].count, 101);
    equal(latency_5m["/b"].count, 11);
    equal(viewer.history().length, ticks.length);
  } finally {
    viewer.stop();
    live.close();
  }
  equal(events.has("request_done"), false);
});

Deno.test("live stats: routes beyond the cap count under (other); slowest keeps 10", async () => {
  const events = createEvents();
  const live = createLiveStats(events, () => ({}), () => []);
  const ticks: LiveTick[] = [];
  const viewer = live.watch((tick) => ticks.push(tick));
  try {
    for (let i = 0; i < 500; i++) events.emit("request_done", done(`/route/${i}`, 1));
    for (let i = 0; i < 30; i++) {
      events.emit("query_done", {
        time: Date.now(),
        request_id: `q${i}`,
        route: "/q",
        kind: "raw",
        key_id: null,
        role: null,
        status: 200,
        rows: 1,
        duration: i,
        sql: "SELECT ?",
        error_code: null,
      });
    }
    while (ticks.length === 0) await new Promise((r) => setTimeout(r, 50));
    const routes = Object.keys(ticks[0].frame.latency);
    equal(routes.length, MAX_ROUTES + 1, "the routes and `*`");
    ok(routes.includes("(other)"));
    equal(ticks[0].frame.latency["*"].count, 500);
    deepEqual(ticks[0].slowest.map((q) => q.request_id), [
      "q29",
      "q28",
      "q27",
      "q26",
      "q25",
      "q24",
      "q23",
      "q22",
      "q21",
      "q20",
    ]);
  } finally {
    viewer.stop();
    live.close();
  }
});
