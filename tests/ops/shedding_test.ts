import { deepEqual, equal, match, ok } from "node:assert/strict";
import { call, startTestServer } from "../_helpers.ts";

/** A query that keeps one DuckDB thread busy for about a second. */
const SLOW = "SELECT sum(i) AS s FROM range(500000000) t(i)";

Deno.test("a flood beyond max_concurrent_queries and max_queued_queries is shed with 503 at once, health answers", async () => {
  await using t = await startTestServer({
    threads: "1",
    max_concurrent_queries: "1",
    max_queued_queries: "1",
    metrics_listen: "127.0.0.1:0",
  });
  const started = performance.now();
  const flood = Array.from(
    { length: 6 },
    () => t.query(SLOW).then((r) => ({ ...r, ms: performance.now() - started })),
  );
  // While the flood runs: the probes answer at once.
  await new Promise((r) => setTimeout(r, 150));
  const health = await t.request("/health");
  const healthMs = performance.now() - started;
  equal(health.status, 200);
  equal((await t.request("/readyz")).status, 200);
  const port = t.server.metricsListener!.port;
  const during = await call(`http://127.0.0.1:${port}/metrics`);
  match(during.text, /^duckserve_queries_running 1$/m);
  match(during.text, /^duckserve_queries_queued 1$/m);

  const answers = await Promise.all(flood);
  const shed = answers.filter((r) => r.status === 503);
  const served = answers.filter((r) => r.status === 200);
  deepEqual([served.length, shed.length], [2, 4], answers.map((r) => r.status).join(","));
  ok(healthMs < 800, `health took ${healthMs} ms`);
  for (const r of shed) {
    equal(r.body.code, "overloaded");
    equal(r.headers.get("retry-after"), "1");
    equal(r.headers.get("content-type"), "application/problem+json");
    match(r.body.detail, /max_concurrent_queries \(1\)/);
    ok(r.ms < 800, `shed after ${r.ms} ms: not at once`);
  }
  for (const r of served) match(r.text, /"s":124999999750000000\b/);
  const after = await call(`http://127.0.0.1:${port}/metrics`);
  match(after.text, /^duckserve_requests_shed_total 4$/m);
  match(after.text, /^duckserve_queries_running 0$/m);
  // Once the flood is over, queries run again.
  equal((await t.query("SELECT 1 AS one")).status, 200);
});

Deno.test("a streamed export holds its query slot until its last byte", async () => {
  await using t = await startTestServer({
    threads: "1",
    max_concurrent_queries: "1",
    max_queued_queries: "0",
  });
  // A large CSV read slowly: its slot is held while it streams.
  const response = await fetch(
    `${t.url}/query/${encodeURIComponent("SELECT * FROM range(3000000)")}/result.csv`,
  );
  equal(response.status, 200);
  const reader = response.body!.getReader();
  await reader.read();
  const refused = await t.query("SELECT 2 AS two");
  equal(refused.status, 503);
  equal(refused.body.code, "overloaded");
  while (!(await reader.read()).done) { /* drain */ }
  let ok200 = false;
  for (let i = 0; i < 20 && !ok200; i++) {
    ok200 = (await t.query("SELECT 2 AS two")).status === 200;
    if (!ok200) await new Promise((r) => setTimeout(r, 25));
  }
  ok(ok200, "the slot was never released");
});
