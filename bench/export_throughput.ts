/**
 * Export throughput: a 1M-row table (override with ROWS=n) exported through duckserve over HTTP
 * (the client reads every byte) in each format, as a ratio to DuckDB's own `COPY … TO` a file of
 * the same query measured in the same run. Server and DuckDB run in this process; the HTTP client
 * is `curl` on loopback. Prints min/median/max of REPEAT runs (default 3).
 *
 *   deno run -A bench/export_throughput.ts
 * @module
 */

import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "../lib/config.ts";
import { startServer } from "../lib/server.ts";
import { createLogger } from "../lib/log.ts";

const ROWS = Number(Deno.env.get("ROWS") ?? 1_000_000);
const REPEAT = Number(Deno.env.get("REPEAT") ?? 3);
const TABLE = `SELECT range::INTEGER AS id, 'user_' || range AS name,
  'user' || range || '@example.com' AS email, (range % 80)::INTEGER AS age,
  TIMESTAMP '2024-01-01' + to_seconds(range) AS created_at, range * 1.5 AS score
  FROM range(${ROWS})`;
const QUERY = "SELECT * FROM users";

const dir = await Deno.makeTempDir({ prefix: "duckserve-bench-" });
const db = await DuckDBInstance.create(`${dir}/bench.duckdb`, { threads: "2" });
const c = await db.connect();
await c.run(`CREATE TABLE users AS ${TABLE}`);
c.closeSync();
db.closeSync();

const config = await loadConfig({
  env: {},
  flags: {
    host: "127.0.0.1",
    port: "0",
    log_level: "silent",
    auth_enabled: "false",
    database_path: `${dir}/bench.duckdb`,
    absolute_max_rows: "0",
    threads: "2",
    query_timeout: "5m",
  },
});
const server = await startServer(config, { log: createLogger("silent") });

// The baseline runs on the server's own engine is not reachable (sandbox), so open a second,
// read-only instance on the same file.
const baseline = await DuckDBInstance.create(`${dir}/bench.duckdb`, {
  threads: "2",
  access_mode: "READ_ONLY",
});
const bc = await baseline.connect();

async function copyMs(options: string): Promise<number> {
  const started = performance.now();
  await bc.run(`COPY (${QUERY}) TO '${dir}/out' (${options})`);
  return performance.now() - started;
}

/** One export read by `curl` (a separate process, like a real client) into /dev/null. */
async function httpMs(format: string, extra = ""): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const out = await new Deno.Command("curl", {
    args: [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{size_download}",
      "-H",
      `accept: ${format}`,
      "-H",
      "content-type: application/json",
      "--data",
      JSON.stringify({ sql: QUERY }),
      `${server.url}/query${extra}`,
    ],
  }).output();
  const [status, size] = new TextDecoder().decode(out.stdout).split(" ");
  if (status !== "200") throw new Error(`${format}: ${status}`);
  return { ms: performance.now() - started, bytes: Number(size) };
}

const cases: { name: string; accept: string; extra?: string; baseline: string }[] = [
  { name: "csv", accept: "text/csv", baseline: "FORMAT csv" },
  { name: "ndjson", accept: "application/x-ndjson", baseline: "FORMAT json" },
  { name: "json envelope", accept: "application/json", baseline: "FORMAT json, ARRAY true" },
  { name: "parquet", accept: "application/vnd.apache.parquet", baseline: "FORMAT parquet" },
  {
    name: "arrow (vs parquet rows/s)",
    accept: "application/vnd.apache.arrow.stream",
    baseline: "FORMAT parquet",
  },
];

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};

console.log(`rows: ${ROWS}, repeats: ${REPEAT}, deno ${Deno.version.deno}`);
console.log("| case | duckserve ms (min/med/max) | COPY ms (min/med/max) | MB | ratio (median) |");
console.log("| --- | --- | --- | --- | --- |");
for (const k of cases) {
  const ours: number[] = [];
  const theirs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPEAT; i++) {
    theirs.push(await copyMs(k.baseline));
    const r = await httpMs(k.accept, k.extra);
    ours.push(r.ms);
    bytes = r.bytes;
  }
  const o = stats(ours);
  const t = stats(theirs);
  const f = (x: { min: number; median: number; max: number }) =>
    `${x.min.toFixed(0)}/${x.median.toFixed(0)}/${x.max.toFixed(0)}`;
  console.log(
    `| ${k.name} | ${f(o)} | ${f(t)} | ${(bytes / 1e6).toFixed(1)} | ${
      (t.median / o.median).toFixed(2)
    } |`,
  );
}

bc.closeSync();
baseline.closeSync();
await server.shutdown();
await Deno.remove(dir, { recursive: true });
