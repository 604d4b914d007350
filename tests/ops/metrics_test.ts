import { equal, match, ok } from "node:assert/strict";
import { call, sqlPath, startAuthServer, startTestServer } from "../_helpers.ts";

/** True when Debian's `promtool` (package `prometheus`) is installed. */
async function hasPromtool(): Promise<boolean> {
  try {
    return (await new Deno.Command("promtool", { args: ["--version"] }).output()).success;
  } catch {
    return false;
  }
}

const PROMTOOL = await hasPromtool();
if (!PROMTOOL) {
  console.warn(
    "metrics_test: promtool is missing (Debian package prometheus; .ci/run installs it): " +
      "the promtool check is skipped",
  );
}

/** `promtool check metrics` of `text`: exit code and output. */
async function promtool(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

/** The value of the sample `name{labels}` (labels as written), or 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

Deno.test("GET /metrics needs an admin key, passes promtool, and its counters move", async () => {
  await using t = await startAuthServer({ roles: { limited: [["*", "r"]] } });
  const admin = t.as(t.keys.admin);
  equal((await t.request("/metrics")).status, 401);
  const denied = await t.request("/metrics", { headers: t.as(t.keys.reader) });
  equal(denied.status, 403);
  equal(denied.body.code, "forbidden");

  const before = await t.request("/metrics", { headers: admin });
  equal(before.status, 200);
  match(before.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  await t.query("CREATE TABLE m (id INTEGER)", undefined, admin);
  await t.query("INSERT INTO m SELECT * FROM range(5)", undefined, admin);
  for (let i = 0; i < 3; i++) await t.request("/api/m", { headers: admin });
  await t.request(sqlPath("SELECT * FROM m", "csv"), { headers: admin });
  await t.request("/api/m", { headers: { "x-api-key": "wrong-key-wrong-key-wrong-key" } });
  await t.request("/tables/anything/else/entirely", { headers: admin });
  const after = await t.request("/metrics", { headers: admin });
  const text = after.text;

  if (PROMTOOL) {
    const check = await promtool(text);
    equal(check.code, 0, check.output);
  }
  const reads =
    'duckserve_http_requests_total{route="/duckdb/api/:table",method="GET",status="200"}';
  equal(sample(text, reads) - sample(before.text, reads), 3);
  equal(sample(text, "duckserve_read_cache_hits_total"), 2);
  equal(sample(text, "duckserve_read_cache_misses_total"), 1);
  equal(sample(text, 'duckserve_rows_returned_total{kind="crud"}'), 5); // the miss; hits are no queries
  equal(sample(text, 'duckserve_rows_returned_total{kind="export"}'), 5);
  ok(sample(text, 'duckserve_query_duration_seconds_count{kind="raw"}') >= 2);
  equal(sample(text, 'duckserve_auth_failures_total{reason="unknown"}'), 1);
  equal(sample(text, 'duckserve_auth_failures_total{reason="missing"}'), 1);
  ok(sample(text, 'duckserve_response_bytes_total{route="/duckdb/api/:table"}') > 0);
  ok(sample(text, 'duckserve_http_request_duration_seconds_count{route="/duckdb/query"}') >= 2);
  // Route labels are patterns: an unknown path is "none", never the raw path.
  equal(text.includes("anything/else"), false);
  ok(sample(text, 'duckserve_http_requests_total{route="none",method="GET",status="404"}') >= 1);
  // Gauges: in flight (this scrape), the pool, DuckDB's own memory, the process.
  equal(sample(text, "duckserve_http_requests_in_flight"), 1);
  equal(sample(text, 'duckserve_db_connections{state="idle"}'), t.config.threads);
  match(text, /^duckserve_duckdb_memory_bytes\{tag="[A-Z_]+"\} \d+/m);
  match(text, /^duckserve_duckdb_temporary_files \d+/m);
  ok(sample(text, "process_resident_memory_bytes") > 10_000_000);
  ok(sample(text, "process_cpu_seconds_total") > 0);
  match(text, /^duckserve_event_loop_lag_seconds\{stat="p99"\} [\d.e-]+/m);
  match(text, /^duckserve_streams \d+/m);
  equal(text.includes(t.keys.admin), false);
});

Deno.test("metrics_listen serves the metrics without a key, and only them", async () => {
  await using t = await startAuthServer({ flags: { metrics_listen: "127.0.0.1:0" } });
  await t.stream("orders", { method: "PUT", headers: t.as(t.keys.admin) });
  await t.stream("orders", {
    method: "POST",
    headers: { ...t.as(t.keys.admin), "content-type": "application/octet-stream" },
    body: "12345",
  });
  const port = t.server.metricsListener!.port;
  const r = await call(`http://127.0.0.1:${port}/metrics`);
  equal(r.status, 200);
  equal(sample(r.text, "duckserve_streams"), 1);
  equal(sample(r.text, "duckserve_stream_bytes"), 5);
  if (PROMTOOL) equal((await promtool(r.text)).code, 0);
  equal((await call(`http://127.0.0.1:${port}/duckdb/query`)).status, 404);
  // The main port still wants an admin key for them.
  equal((await t.request("/metrics")).status, 401);
});

Deno.test("metrics count a live stream reader while it waits", async () => {
  await using t = await startTestServer({ metrics_listen: "127.0.0.1:0", streams_auth: "none" });
  await t.stream("feed", { method: "PUT" });
  const controller = new AbortController();
  const reading = fetch(t.at("feed?offset=-1&live=long-poll"), { signal: controller.signal })
    .then((r) => r.text()).catch(() => "");
  const port = t.server.metricsListener!.port;
  let readers = 0;
  for (let i = 0; i < 40 && readers === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
    readers = sample(
      (await call(`http://127.0.0.1:${port}/metrics`)).text,
      "duckserve_stream_readers",
    );
  }
  equal(readers, 1);
  await t.stream("feed", {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: "x",
  });
  await reading;
  controller.abort();
  const after = (await call(`http://127.0.0.1:${port}/metrics`)).text;
  equal(sample(after, "duckserve_stream_readers"), 0);
});
