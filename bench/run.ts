/**
 * `deno task bench`: every case of the bench issue as a ratio to a baseline measured on this
 * machine in this run. The server runs pinned to core 0, `wrk` (or the export client) to core 1;
 * in-process baselines run pinned to core 0 too. Each case is repeated (min/median/max).
 *
 *   deno task bench [--repeats 3] [--seconds 4] [--only name,name]
 *
 * Prints a table of ratios with the absolute numbers and writes bench/results.json.
 * @module
 */

import { parseArgs } from "node:util";
import {
  baseline,
  ensureWrk,
  h2load,
  memoryOf,
  resetPeak,
  sh,
  startServer,
  summarize,
  type Summary,
  timedCurl,
  wrk,
} from "./_lib.ts";

const { values } = parseArgs({
  options: {
    repeats: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    only: { type: "string", default: "" },
    rows: { type: "string", default: "1000000" },
  },
});
const REPEATS = Number(values.repeats);
const SECONDS = Number(values.seconds);
const ROWS = Number(values.rows);
const ONLY = values.only ? values.only.split(",") : null;
const THREADS = "4";
const ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789";

interface CaseResult {
  name: string;
  goal: string;
  ratio: Summary | null;
  target: Summary | null;
  base: Summary | null;
  unit: string;
  note?: string;
  /** The same case with the read cache bypassed (`Cache-Control: no-cache`), when it has one. */
  uncached?: { goal: string; ratio: Summary; target: Summary };
}
const results: CaseResult[] = [];

/** The row of a case that could not be measured, with the first line of its error. */
function failedCase(name: string, goal: string, unit: string, err: unknown): CaseResult {
  const message = err instanceof Error ? err.message : String(err);
  return {
    name,
    goal,
    ratio: null,
    target: null,
    base: null,
    unit,
    note: `failed: ${message.split("\n")[0].slice(0, 120)}`,
  };
}

const work = await Deno.makeTempDir({ prefix: "duckserve-bench-" });
const db = `${work}/bench.duckdb`;

async function prepareData(): Promise<void> {
  const script = `
    CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR, email VARCHAR, age INTEGER,
                        created_at TIMESTAMP DEFAULT current_timestamp);
    INSERT INTO users SELECT i, 'user' || i, 'user' || i || '@example.com', (i * 7919) % 90 + 10,
      TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND FROM range(1, ${ROWS + 1}) t(i);
    CHECKPOINT;`;
  await sh(Deno.execPath(), [
    "eval",
    `
    import { DuckDBInstance } from "@duckdb/node-api";
    const i = await DuckDBInstance.create(${JSON.stringify(db)});
    const c = await i.connect();
    await c.run(${JSON.stringify(script)});
    c.closeSync(); i.closeSync();`,
  ]);
}

async function prepareAuth(): Promise<string> {
  const authDb = `${work}/auth.duckdb`;
  await sh(Deno.execPath(), ["run", "-A", "main.ts", "auth", "init", "-d", authDb]);
  await sh(Deno.execPath(), [
    "run",
    "-A",
    "main.ts",
    "auth",
    "key",
    "add",
    "-d",
    authDb,
    "-r",
    "admin",
    "-k",
    ADMIN_KEY,
  ]);
  return authDb;
}

function wanted(name: string): boolean {
  return !ONLY || ONLY.some((o) => name.includes(o));
}

async function repeat(fn: () => Promise<number>): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) samples.push(await fn());
  return summarize(samples);
}

function ratioOf(target: Summary, base: Summary, higherIsBetter = true): Summary {
  const r = (t: number, b: number) => higherIsBetter ? t / b : b / t;
  return summarize([
    r(target.min, base.max),
    r(target.median, base.median),
    r(target.max, base.min),
  ]);
}

const luaHeaders = (headers: Record<string, string>) =>
  Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`).join("\n");
const luaTable = (headers: Record<string, string>) =>
  `{${Object.entries(headers).map(([k, v]) => `["${k}"] = "${v}"`).join(", ")}}`;
const NO_CACHE = { "Cache-Control": "no-cache" };

const lua = {
  post: (path: string, body: string, headers: Record<string, string> = {}) => `
wrk.method = "POST"
wrk.path = "${path}"
wrk.body = ${JSON.stringify(body)}
wrk.headers["Content-Type"] = "application/json"
${luaHeaders(headers)}`,
  randomGet: (pathPrefix: string, n: number, headers: Record<string, string> = {}) => `
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "${pathPrefix}" .. math.random(1, ${n}), ${luaTable(headers)})
end`,
  pageGet: (pathPrefix: string, pages: number, headers: Record<string, string> = {}) => `
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("${pathPrefix}", math.random(1, ${pages})), ${
    luaTable(headers)
  })
end`,
  insert: (path: string) => `
math.randomseed(os.time())
local base = 100000000 + math.random(1, 100000) * 100000
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"id": %d, "name": "bench", "email": "b@example.com", "age": 42}', base + counter)
  return wrk.format("POST", "${path}", {["Content-Type"] = "application/json"}, body)
end`,
};

/** One server run of a wrk case (cached, and uncached when asked); req/s. */
async function serverRun(
  flags: Record<string, string>,
  scripts: { cached: string; uncached: string | null },
  path: string,
  connections: number,
): Promise<{ cached: number; uncached: number | null; errors: number }> {
  await using server = await startServer({ database_path: db, threads: THREADS, ...flags });
  const url = `${new URL(server.url).origin}${path}`;
  await wrk(url, scripts.cached, { connections, seconds: 1 }); // warm-up
  const cached = await wrk(url, scripts.cached, { connections, seconds: SECONDS });
  const uncached = scripts.uncached === null
    ? null
    : await wrk(url, scripts.uncached, { connections, seconds: SECONDS });
  return {
    cached: cached.requestsPerSecond,
    uncached: uncached?.requestsPerSecond ?? null,
    errors: cached.non2xx + (uncached?.non2xx ?? 0),
  };
}

/** Summary of the ratios of paired samples (`targets[i] / bases[i]`). */
function pairedRatio(targets: number[], bases: number[], higherIsBetter = true): Summary {
  return summarize(targets.map((t, i) => higherIsBetter ? t / bases[i] : bases[i] / t));
}

/**
 * A wrk case: each repeat runs the in-process baseline(s), then a fresh server (cached, then
 * uncached), so drift of this shared machine hits both sides of a pair alike; the ratio is
 * summarized over the pairs.
 */
async function throughputCase(c: WrkCase): Promise<void> {
  const rows: { name: string; goal: string; uncachedGoal?: string; mode: string }[] = [
    { name: c.name, goal: c.goal, uncachedGoal: c.uncachedGoal, mode: c.baseline },
  ];
  if (c.also) rows.push({ ...c.also, mode: c.also.baseline });
  if (!rows.some((r) => wanted(r.name))) return;
  console.error(`# ${c.name}`);
  try {
    const bases: number[][] = rows.map(() => []);
    const cached: number[] = [];
    const uncached: number[] = [];
    let errors = 0;
    for (let i = 0; i < REPEATS; i++) {
      for (const [j, row] of rows.entries()) {
        const args = [row.mode, "--db", db, "--connections", THREADS, "--seconds", String(SECONDS)];
        bases[j].push((await baseline(args)).ops);
      }
      const run = await serverRun(
        { ...noAuth, ...c.flags },
        { cached: c.script({}), uncached: c.uncachedGoal ? c.script(NO_CACHE) : null },
        c.path,
        c.connections,
      );
      cached.push(run.cached);
      if (run.uncached !== null) uncached.push(run.uncached);
      errors += run.errors;
    }
    const note = errors ? `${errors} non-2xx responses` : undefined;
    rows.forEach((row, j) => {
      results.push({
        name: row.name,
        goal: row.goal,
        ratio: pairedRatio(cached, bases[j]),
        target: summarize(cached),
        base: summarize(bases[j]),
        unit: "req/s",
        note,
        uncached: uncached.length && row.uncachedGoal
          ? {
            goal: row.uncachedGoal,
            ratio: pairedRatio(uncached, bases[j]),
            target: summarize(uncached),
          }
          : undefined,
      });
    });
  } catch (err) {
    for (const row of rows) results.push(failedCase(row.name, row.goal, "req/s", err));
  }
}

async function exportCase(
  name: string,
  goal: string,
  url: (base: string) => string,
  headers: Record<string, string>,
  copyFormat: string,
  query: string,
): Promise<void> {
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  const base = await repeat(async () =>
    (await baseline([
      "copy",
      "--db",
      db,
      "--format",
      copyFormat,
      "--query",
      query,
      "--connections",
      "1",
    ]))
      .seconds
  );
  await using server = await startServer({
    database_path: db,
    threads: THREADS,
    auth_enabled: "false",
    absolute_max_rows: "0",
  });
  const target = await repeat(async () => {
    const args = Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
    return await timedCurl(url(server.url), args, "200").catch((err) => {
      throw new Error(`${name}: ${err.message}`);
    });
  }).catch((err) => {
    results.push({
      name,
      goal,
      ratio: null,
      target: null,
      base,
      unit: "s",
      note: String(err.message),
    });
    return null;
  });
  if (target) {
    results.push({ name, goal, ratio: ratioOf(target, base, false), target, base, unit: "s" });
  }
}

async function memoryCase(name: string, format: string): Promise<void> {
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  await using server = await startServer({
    threads: THREADS,
    auth_enabled: "false",
    absolute_max_rows: "0",
  });
  const sql = "SELECT i AS id, 'user' || i AS name, 'user' || i || '@example.com' AS email, " +
    "i % 90 AS age FROM range(10000000) t(i)";
  const growth = await repeat(async () => {
    const before = await memoryOf(server.pid);
    await resetPeak(server.pid);
    await timedCurl(`${server.url}/query/${encodeURIComponent(sql)}/result.${format}`, [], "200");
    const after = await memoryOf(server.pid);
    return (after.peak - before.rss) / 1024 / 1024;
  });
  results.push({
    name,
    goal: "< 256 MB",
    ratio: null,
    target: growth,
    base: null,
    unit: "MB peak RSS growth",
  });
}

await ensureWrk();
console.error(`# preparing ${ROWS} rows in ${db}`);
await prepareData();
const authDb = await prepareAuth().catch((err) => {
  console.error(`# auth set-up failed (${err.message}); auth cases skipped`);
  return null;
});

const query = (sql: string, headers: Record<string, string> = {}) =>
  lua.post("/duckdb/query", JSON.stringify({ sql }), headers);
const noAuth = { auth_enabled: "false" };

/** The wrk cases: name, goals, server flags, Lua script, path, connections, baseline mode. */
interface WrkCase {
  name: string;
  goal: string;
  /** Goal of the same case with the read cache bypassed; unset when the case has no cache. */
  uncachedGoal?: string;
  script: (headers: Record<string, string>) => string;
  path: string;
  connections: number;
  baseline: string;
  flags?: Record<string, string>;
  /** The same server runs compared with a second baseline (a row of its own). */
  also?: { name: string; goal: string; uncachedGoal?: string; baseline: string };
}

const ANALYTICS = "SELECT age, count(*), avg(length(name)) FROM users GROUP BY age";
const PAGE = "/duckdb/api/users?filter=age:gt:30&sort=name:asc&page=%d&limit=50";
const WRK_CASES: WrkCase[] = [
  {
    name: "POST /query SELECT 1 (32 conns), vs in-process prepared",
    goal: ">= 0.8",
    uncachedGoal: ">= 0.6",
    script: (h) => query("SELECT 1", h),
    path: "/duckdb/query",
    connections: 32,
    baseline: "select1",
    also: {
      name: "POST /query SELECT 1 (32 conns), vs in-process unprepared",
      goal: "(report)",
      uncachedGoal: ">= 0.8",
      baseline: "select1_unprepared",
    },
  },
  {
    name: "GET /api/users?filter=id:eq:N (1M rows)",
    goal: ">= 0.8",
    uncachedGoal: ">= 0.9",
    script: (h) => lua.randomGet("/duckdb/api/users?filter=id:eq:", ROWS, h),
    path: "/duckdb/api/users",
    connections: 32,
    baseline: "point",
  },
  {
    name: "GET /api/users?filter=id:eq:N hot set of 1,000",
    goal: ">= 5",
    script: (h) => lua.randomGet("/duckdb/api/users?filter=id:eq:", 1000, h),
    path: "/duckdb/api/users",
    connections: 32,
    baseline: "hot",
  },
  {
    name: "GET /api/users?filter=age:gt:30&sort=name:asc&page=P&limit=50, vs the bare page",
    goal: ">= 0.8",
    uncachedGoal: "(report)",
    script: (h) => lua.pageGet(PAGE, 100, h),
    path: "/duckdb/api/users",
    connections: 32,
    baseline: "page",
    also: {
      name: "GET /api/users?filter=age:gt:30&sort=name:asc&page=P&limit=50, vs page + count",
      goal: "(report)",
      uncachedGoal: ">= 0.8",
      baseline: "page_count",
    },
  },
  {
    name: "POST /query analytics GROUP BY (8 conns)",
    goal: ">= 0.9",
    uncachedGoal: "(report)",
    script: (h) => query(ANALYTICS, h),
    path: "/duckdb/query",
    connections: 8,
    baseline: "analytics",
  },
  {
    name: "POST /api/users single row, vs prepared insert + commit",
    goal: ">= 0.8",
    script: () => lua.insert("/duckdb/api/users"),
    path: "/duckdb/api/users",
    connections: 32,
    baseline: "insert",
  },
  {
    name: "POST /api/users single row, change feeds off",
    goal: "(report)",
    script: () => lua.insert("/duckdb/api/users"),
    path: "/duckdb/api/users",
    connections: 32,
    baseline: "insert",
    flags: { change_feeds: "false" },
  },
];

for (const c of WRK_CASES) await throughputCase(c);

/** The req/s of two servers under the same load, alternating: {@link PAIRS_PER_REPEAT} pairs per repeat. */
interface Pairs {
  bases: number[];
  targets: number[];
  errors: number;
}

/**
 * Pairs of short runs per repeat in {@link interleaved}: the same time under load as one pair of
 * `SECONDS` runs, in more, shorter pairs, so a pair's two runs are closer in time and its median
 * rests on more pairs.
 */
const PAIRS_PER_REPEAT = 3;

/**
 * Warms both servers up, then alternates wrk load (32 connections) between the base and the
 * target: `REPEATS` × {@link PAIRS_PER_REPEAT} pairs of `SECONDS` / {@link PAIRS_PER_REPEAT}
 * seconds (at least one) each, every other pair in reverse order (base, target; target, base),
 * so drift of the machine and what one run leaves behind (the collector's clean-up after a
 * load) hit both sides alike.
 */
async function interleaved(
  base: { url: string; script: string },
  target: { url: string; script: string },
): Promise<Pairs> {
  const run = (side: { url: string; script: string }, seconds: number) =>
    wrk(side.url, side.script, { connections: 32, seconds });
  await run(base, 1);
  await run(target, 1);
  const seconds = Math.max(1, Math.round(SECONDS / PAIRS_PER_REPEAT));
  const pairs: Pairs = { bases: [], targets: [], errors: 0 };
  for (let i = 0; i < REPEATS * PAIRS_PER_REPEAT; i++) {
    const first = i % 2 ? target : base;
    const one = await run(first, seconds);
    const other = await run(first === base ? target : base, seconds);
    const [a, b] = first === base ? [one, other] : [other, one];
    pairs.bases.push(a.requestsPerSecond);
    pairs.targets.push(b.requestsPerSecond);
    pairs.errors += a.non2xx + b.non2xx;
  }
  return pairs;
}

/** The result row of an interleaved case (`note` when every answer was 2xx). */
function pairedResult(name: string, goal: string, pairs: Pairs, note: string): CaseResult {
  return {
    name,
    goal,
    ratio: pairedRatio(pairs.targets, pairs.bases),
    target: summarize(pairs.targets),
    base: summarize(pairs.bases),
    unit: "req/s",
    note: pairs.errors ? `${pairs.errors} non-2xx responses` : note,
  };
}

/**
 * Auth on vs off: two servers (one with keys, one without) run side by side and the load
 * alternates between them, so drift of this shared machine hits both alike; each on/off pair
 * gives one ratio.
 */
async function authCase(authDb: string): Promise<void> {
  const name = "auth on vs off: POST /query SELECT 1";
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  try {
    await using off = await startServer({ threads: THREADS, auth_enabled: "false" });
    await using on = await startServer({ threads: THREADS, auth_database_path: authDb });
    const script = (key?: string) =>
      lua.post("/duckdb/query", '{"sql":"SELECT 1"}', key ? { "X-API-Key": key } : {});
    const pairs = await interleaved(
      { url: `${off.url}/query`, script: script() },
      { url: `${on.url}/query`, script: script(ADMIN_KEY) },
    );
    results.push(
      pairedResult(name, ">= 0.95", pairs, "baseline: duckserve with auth off, interleaved"),
    );
  } catch (err) {
    results.push(failedCase(name, ">= 0.95", "req/s", err));
  }
}
if (authDb) await authCase(authDb);

/**
 * Access log and metrics on vs off: cached `POST /query SELECT 1`, two servers side by side (one
 * writing the access log to a file and counting Prometheus metrics, one with both off) with the
 * load alternating between them; each on/off pair gives one ratio. The server with metrics is
 * scraped once a second during its runs, as Prometheus would.
 */
async function telemetryCase(): Promise<void> {
  const name = "access log + metrics on vs off: POST /query SELECT 1 cached";
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  try {
    await using off = await startServer({ ...noAuth, threads: THREADS, metrics: "false" });
    await using on = await startServer({
      ...noAuth,
      threads: THREADS,
      access_log: `${work}/access.log`,
    });
    const script = lua.post("/duckdb/query", '{"sql":"SELECT 1"}');
    const scraper = setInterval(() => {
      fetch(`${on.url}/metrics`).then((r) => r.body?.cancel()).catch(() => {});
    }, 1000);
    let pairs: Pairs;
    try {
      pairs = await interleaved(
        { url: `${off.url}/query`, script },
        { url: `${on.url}/query`, script },
      );
    } finally {
      clearInterval(scraper);
    }
    const logged = (await Deno.readTextFile(`${work}/access.log`)).split("\n").length - 1;
    results.push(
      pairedResult(
        name,
        ">= 0.95",
        pairs,
        `baseline: access_log off, metrics false, interleaved; ${logged} lines logged`,
      ),
    );
  } catch (err) {
    results.push(failedCase(name, ">= 0.95", "req/s", err));
  }
}
await telemetryCase();

/**
 * The dashboard's feed, one viewer vs none: cached `POST /query SELECT 1` on two servers side by
 * side, one with a viewer reading `GET /duckdb/dashboard/feed` the whole time (the collector
 * subscribed to the events, a tick a second), the load alternating between them; each pair gives
 * one ratio.
 */
async function dashboardCase(): Promise<void> {
  const name = "dashboard feed, one viewer vs none: POST /query SELECT 1 cached";
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  try {
    await using none = await startServer({ ...noAuth, threads: THREADS });
    await using watched = await startServer({ ...noAuth, threads: THREADS });
    const viewer = new AbortController();
    const feed = await fetch(`${watched.url}/dashboard/feed`, {
      headers: { accept: "text/event-stream" },
      signal: viewer.signal,
    });
    if (feed.status !== 200) throw new Error(`the feed answered ${feed.status}`);
    let ticks = 0;
    const reading = (async () => {
      for await (const piece of feed.body!.pipeThrough(new TextDecoderStream())) {
        ticks += piece.split("event: tick").length - 1;
      }
    })().catch(() => {});
    const script = lua.post("/duckdb/query", '{"sql":"SELECT 1"}');
    let pairs: Pairs;
    try {
      pairs = await interleaved(
        { url: `${none.url}/query`, script },
        { url: `${watched.url}/query`, script },
      );
    } finally {
      viewer.abort();
      await reading;
    }
    results.push(
      pairedResult(
        name,
        ">= 0.95",
        pairs,
        `baseline: the same server without a viewer, interleaved; ${ticks} ticks read`,
      ),
    );
  } catch (err) {
    results.push(failedCase(name, ">= 0.95", "req/s", err));
  }
}
await dashboardCase();

/** A certificate for 127.0.0.1 signed by a CA made here (openssl); `pem` is the CA clients trust. */
async function benchCertificate(): Promise<{ cert: string; key: string; pem: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const at = (name: string) => `${work}/${name}`;
  await sh(
    "openssl",
    ["req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.crt")]
      .concat(["-days", "2", "-subj", "/CN=bench CA"]),
  );
  await sh(
    "openssl",
    ["req", ...ec, "-keyout", at("tls.key"), "-out", at("tls.csr")]
      .concat(["-subj", "/CN=localhost"]),
  );
  await Deno.writeTextFile(at("tls.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await sh(
    "openssl",
    ["x509", "-req", "-in", at("tls.csr"), "-CA", at("ca.crt")]
      .concat(["-CAkey", at("ca.key"), "-set_serial", "1", "-days", "2"])
      .concat(["-extfile", at("tls.ext"), "-out", at("tls.crt")]),
  );
  return { cert: at("tls.crt"), key: at("tls.key"), pem: await Deno.readTextFile(at("ca.crt")) };
}

/**
 * HTTPS throughput: cached `SELECT 1` over HTTP/2 with TLS against plain HTTP/1.1 with 32
 * requests in flight, two servers side by side with the load alternating between them (h2load
 * for both), so drift of this shared machine hits both alike; each pair gives one ratio. HTTP/1.1
 * needs 32 connections for that; HTTP/2 is measured as clients use it (4 connections of 8
 * multiplexed streams) and, for the report, also like HTTP/1.1 (32 connections of 1 stream).
 */
async function httpsCase(): Promise<void> {
  const names = {
    multiplexed: "HTTP/2 + TLS (4 conns x 8 streams) vs plain HTTP/1.1 (32 conns): SELECT 1 cached",
    single: "HTTP/2 + TLS (32 conns x 1 stream) vs plain HTTP/1.1 (32 conns): SELECT 1 cached",
  };
  if (!wanted(names.multiplexed) && !wanted(names.single)) return;
  console.error(`# ${names.multiplexed}`);
  try {
    const tls = await benchCertificate();
    await using plain = await startServer({ threads: THREADS, auth_enabled: "false" });
    await using secure = await startServer(
      { threads: THREADS, auth_enabled: "false", tls_cert: tls.cert, tls_key: tls.key },
      tls.pem,
    );
    const body = '{"sql":"SELECT 1"}';
    const h1 = (seconds: number) =>
      h2load(`${plain.url}/query`, body, { connections: 32, seconds, h1: true });
    const h2 = (seconds: number, connections: number, streams: number) =>
      h2load(`${secure.url}/query`, body, { connections, streams, seconds });
    await h1(1);
    await h2(1, 4, 8);
    const runs = { plain: [] as number[], multiplexed: [] as number[], single: [] as number[] };
    let failed = 0;
    for (let i = 0; i < REPEATS; i++) {
      const a = await h1(SECONDS);
      const b = await h2(SECONDS, 4, 8);
      const c = await h2(SECONDS, 32, 1);
      runs.plain.push(a.requestsPerSecond);
      runs.multiplexed.push(b.requestsPerSecond);
      runs.single.push(c.requestsPerSecond);
      failed += a.failed + b.failed + c.failed;
    }
    const note = failed
      ? `${failed} non-2xx responses`
      : "baseline: duckserve over plain HTTP/1.1, interleaved";
    for (const [key, goal] of [["multiplexed", ">= 0.7"], ["single", "(report)"]] as const) {
      results.push({
        name: names[key],
        goal,
        ratio: summarize(runs[key].map((v, i) => v / runs.plain[i])),
        target: summarize(runs[key]),
        base: summarize(runs.plain),
        unit: "req/s",
        note,
      });
    }
  } catch (err) {
    results.push(failedCase(names.multiplexed, ">= 0.7", "req/s", err));
  }
}
await httpsCase();

/** The bulk bodies: Content-Type, the baseline's DuckDB reader, the goal. */
const BULK = [
  { format: "json", type: "application/json", goal: ">= 0.8" },
  { format: "csv", type: "text/csv", goal: ">= 0.8" },
  { format: "parquet", type: "application/vnd.apache.parquet", goal: ">= 0.8" },
  { format: "ndjson", type: "application/x-ndjson", goal: "(report)" },
];

/** POST /api/users with a body of 100k rows vs DuckDB's reader of the same file into the table. */
async function bulkCase(bulk: (typeof BULK)[number]): Promise<void> {
  const name = `POST /api/users ${bulk.format} body of 100k rows, vs DuckDB's reader`;
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  let next = 50_000_000 + BULK.indexOf(bulk) * 100_000_000;
  const file = async () => {
    const path = `${work}/bulk-${next}.${bulk.format}`;
    await baseline(["make", "--format", bulk.format, "--file", path, "--start", String(next)]);
    next += 1_000_000;
    return path;
  };
  const post = (url: string, path: string) =>
    timedCurl(
      `${url}/api/users`,
      ["-H", `Content-Type: ${bulk.type}`, "--data-binary", `@${path}`],
      "201",
    );
  try {
    // Each repeat: DuckDB's reader in process, then a fresh server (the file has one owner).
    const bases: number[] = [];
    const targets: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const args = ["bulk", "--db", db, "--file", await file(), "--reader", bulk.format];
      bases.push((await baseline([...args, "--connections", "1"])).seconds);
      const body = await file();
      await using server = await startServer({
        database_path: db,
        threads: THREADS,
        auth_enabled: "false",
      });
      targets.push(await post(server.url, body));
    }
    const [target, base] = [summarize(targets), summarize(bases)];
    results.push({
      name,
      goal: bulk.goal,
      ratio: pairedRatio(targets, bases, false),
      target,
      base,
      unit: "s",
    });
  } catch (err) {
    results.push(failedCase(name, bulk.goal, "s", err));
  }
}
for (const bulk of BULK) await bulkCase(bulk);

/**
 * Revalidation: a GET with `If-None-Match` of its current tag (304, no body) vs the cached 200 of
 * the same request, on one server with the load alternating between the two.
 */
async function revalidationCase(): Promise<void> {
  const name = "GET /api/users page with If-None-Match, unchanged (304), vs cached 200";
  if (!wanted(name)) return;
  console.error(`# ${name}`);
  try {
    await using server = await startServer({ database_path: db, threads: THREADS, ...noAuth });
    const path = "/duckdb/api/users?filter=age:gt:30&sort=name:asc&page=3&limit=50";
    const url = `${new URL(server.url).origin}${path}`;
    const first = await fetch(url);
    await first.body?.cancel();
    const tag = first.headers.get("etag");
    if (!tag) throw new Error("no ETag on the answer");
    const get = (headers: Record<string, string>) => `
wrk.method = "GET"
${luaHeaders(headers)}`;
    const plain = get({});
    const revalidate = get({ "If-None-Match": tag.replaceAll('"', '\\"') });
    await wrk(url, plain, { connections: 32, seconds: 1 });
    await wrk(url, revalidate, { connections: 32, seconds: 1 });
    const cached: number[] = [];
    const notModified: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      cached.push((await wrk(url, plain, { connections: 32, seconds: SECONDS })).requestsPerSecond);
      notModified.push(
        (await wrk(url, revalidate, { connections: 32, seconds: SECONDS })).requestsPerSecond,
      );
    }
    results.push({
      name,
      goal: ">= 1.5",
      ratio: summarize(notModified.map((v, i) => v / cached[i])),
      target: summarize(notModified),
      base: summarize(cached),
      unit: "req/s",
      note: "baseline: duckserve's cached 200 of the same request, interleaved",
    });
  } catch (err) {
    results.push(failedCase(name, ">= 1.5", "req/s", err));
  }
}
await revalidationCase();

const everything = "SELECT * FROM users";
const path = (fmt: string) => (base: string) =>
  `${base}/query/${encodeURIComponent(everything)}/result.${fmt}`;
await exportCase("export 1M rows CSV", ">= 0.7", path("csv"), {}, "csv", everything);
await exportCase("export 1M rows NDJSON", ">= 0.7", path("ndjson"), {}, "json", everything);
await exportCase("export 1M rows Parquet", ">= 0.7", path("parquet"), {}, "parquet", everything);
await exportCase(
  "export 1M rows JSON envelope",
  ">= 0.6",
  path("json"),
  {},
  "json_array",
  everything,
);
await exportCase(
  "export 1M rows Arrow IPC (vs COPY parquet)",
  ">= 0.3",
  path("arrow"),
  {},
  "parquet",
  everything,
);
for (const format of ["csv", "ndjson", "parquet", "arrow", "json"]) {
  await memoryCase(`export 10M rows ${format}: peak RSS growth`, format);
}

await Deno.remove(work, { recursive: true });

const fmt = (n: number | undefined, digits = 2) => n === undefined ? "-" : n.toFixed(digits);
const ratioText = (r: Summary | null | undefined) =>
  r ? `${fmt(r.min)} / **${fmt(r.median)}** / ${fmt(r.max)}` : "-";
const lines = [
  "| case | goal | ratio (min / median / max) | uncached goal | uncached ratio | duckserve (median) | uncached (median) | baseline (median) | note |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const r of results) {
  const unc = r.uncached;
  lines.push(
    `| ${r.name} | ${r.goal} | ${ratioText(r.ratio)} | ${unc?.goal ?? "-"} | ${
      ratioText(unc?.ratio)
    } | ${r.target ? `${fmt(r.target.median, 1)} ${r.unit}` : "-"} | ${
      unc ? `${fmt(unc.target.median, 1)} ${r.unit}` : "-"
    } | ${r.base ? `${fmt(r.base.median, 1)} ${r.unit}` : "-"} | ${r.note ?? ""} |`,
  );
}
console.log(lines.join("\n"));
await Deno.writeTextFile(
  "bench/results.json",
  JSON.stringify(
    { date: new Date().toISOString(), repeats: REPEATS, seconds: SECONDS, rows: ROWS, results },
    null,
    2,
  ) + "\n",
);
