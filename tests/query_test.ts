import { deepEqual, equal, match, ok } from "node:assert/strict";
import { sqlPath, startTestServer } from "./_helpers.ts";

Deno.test("GET /health answers ok with versions, without a key", async () => {
  await using t = await startTestServer({ auth_enabled: "true" });
  const r = await t.request("/health");
  deepEqual(r.status, 200);
  deepEqual(r.body.status, "ok");
  match(r.body.duckdb_version, /^v\d+\.\d+/);
  ok(r.headers.get("x-request-id"));
});

Deno.test("POST /query returns rows as objects in column order", async () => {
  await using t = await startTestServer();
  const r = await t.query("SELECT 2 AS zeta, 'x' AS alpha, NULL AS mid");
  deepEqual(r.status, 200);
  deepEqual(r.headers.get("content-type"), "application/json");
  deepEqual(r.text, '{"data":[{"zeta":2,"alpha":"x","mid":null}]}');
});

Deno.test("POST /query binds positional, $n and named params with full precision", async () => {
  await using t = await startTestServer();
  let r = await t.query("SELECT ?::BIGINT AS a, ? AS b", [1, "two"]);
  deepEqual(r.body.data, [{ a: 1, b: "two" }]);
  r = await t.query("SELECT $1 AS a, $1 + 1 AS b", [41]);
  deepEqual(r.body.data, [{ a: 41, b: 42 }]);
  r = await t.query("SELECT $name AS n", { name: "duck" });
  deepEqual(r.body.data, [{ n: "duck" }]);
  // 2^63 - 1 travels exactly in both directions
  const big = "9223372036854775807";
  r = await t.request("/query", {
    method: "POST",
    body: `{"sql": "SELECT ?::BIGINT AS big", "params": [${big}]}`,
  });
  deepEqual(r.text, `{"data":[{"big":${big}}]}`);
  // decimal text a double cannot hold binds as an exact DECIMAL, not a rounded DOUBLE
  r = await t.request("/query", {
    method: "POST",
    body: '{"sql": "SELECT ? AS d, typeof(?) AS t", "params": [0.1000000000000000000001, 0.25]}',
  });
  deepEqual(r.text, '{"data":[{"d":0.1000000000000000000001,"t":"DOUBLE"}]}');
  r = await t.query("SELECT ? AS a", []);
  deepEqual(r.status, 400);
  deepEqual(r.body.code, "parameter_error");
});

Deno.test("POST /query reports rows_affected for writes and rows for RETURNING", async () => {
  await using t = await startTestServer();
  let r = await t.query("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR)");
  deepEqual(r.status, 200);
  deepEqual(r.body.success, true);
  deepEqual(r.body.rows_affected, 0);
  r = await t.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  deepEqual([r.body.success, r.body.rows_affected], [true, 2]);
  deepEqual(typeof r.body.execution_time_ms, "number");
  r = await t.query("UPDATE t SET name = 'c' WHERE id = 2");
  deepEqual(r.body.rows_affected, 1);
  r = await t.query("INSERT INTO t VALUES (3, 'z') RETURNING id, name");
  deepEqual(r.body.data, [{ id: 3, name: "z" }]);
  r = await t.query("FROM t ORDER BY id");
  deepEqual(r.body.data.length, 3);
});

Deno.test("CREATE TABLE … AS reports the rows it created, alone, in scripts and with params", async () => {
  await using t = await startTestServer();
  const cases: [string, number, unknown?][] = [
    ["CREATE TABLE c AS SELECT * FROM range(5)", 5],
    ["CREATE OR REPLACE TABLE c AS SELECT * FROM range(7)", 7],
    ["CREATE TABLE IF NOT EXISTS c AS SELECT * FROM range(9)", 0],
    ["CREATE TABLE e AS FROM range(0)", 0],
    ["CREATE TEMP TABLE tmp AS SELECT 1 AS x", 1],
    ["CREATE TABLE p AS SELECT * FROM range(?)", 3, [3]],
    [
      "CREATE TABLE s1 AS FROM range(4); CREATE TABLE s2 AS FROM range(2); INSERT INTO s2 VALUES (9)",
      7,
    ],
    ["CREATE TABLE plain (x INTEGER)", 0],
    ["CREATE VIEW v AS FROM c", 0],
  ];
  for (const [sql, rows, params] of cases) {
    const r = await t.query(sql, params);
    deepEqual(
      [r.status, r.body.success, r.body.rows_affected],
      [200, true, rows],
      `${sql}: ${r.text}`,
    );
  }
  deepEqual((await t.query("SELECT count(*) AS n FROM c")).body.data, [{ n: 7 }]);
});

Deno.test("a multi-statement body runs in one transaction: all or nothing", async () => {
  await using t = await startTestServer();
  let r = await t.query(
    "CREATE TABLE m (id INTEGER PRIMARY KEY); INSERT INTO m VALUES (1); INSERT INTO m VALUES (?)",
    [2],
  );
  deepEqual(r.status, 200);
  deepEqual(r.body.rows_affected, 2);
  r = await t.query("INSERT INTO m VALUES (3); INSERT INTO m VALUES (1)");
  deepEqual(r.status, 409);
  deepEqual(r.body.code, "constraint_violation");
  r = await t.query("SELECT count(*) AS n FROM m");
  deepEqual(r.body.data, [{ n: 2 }]);
  r = await t.query("CREATE TABLE gone (a INT); INSERT INTO missing VALUES (1)");
  deepEqual(r.status, 404);
  r = await t.query(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'gone'",
  );
  deepEqual(r.body.data, [{ n: 0 }]);
  r = await t.query("INSERT INTO m VALUES (9); SELECT count(*) AS n FROM m");
  deepEqual(r.body.data, [{ n: 3 }]);
});

Deno.test("GET /query/{sql}/result.{json,csv} runs reads", async () => {
  await using t = await startTestServer();
  await t.query("CREATE TABLE u AS SELECT * FROM (VALUES (1, 'a,b'), (2, 'c')) v(id, name)");
  let r = await t.request(sqlPath("SELECT * FROM u ORDER BY id"));
  deepEqual(r.status, 200);
  deepEqual(r.body.data, [{ id: 1, name: "a,b" }, { id: 2, name: "c" }]);
  r = await t.request(sqlPath("SELECT * FROM u ORDER BY id", "csv"));
  deepEqual(r.status, 200);
  match(r.headers.get("content-type")!, /^text\/csv/);
  deepEqual(r.text, 'id,name\r\n1,"a,b"\r\n2,c\r\n');
  match(r.headers.get("content-disposition")!, /filename="result\.csv"/);
  // decoded once: + stays a plus, %25 is a percent sign
  r = await t.request(`/query/${encodeURIComponent("SELECT 1+1 AS two, '%' AS p")}/result.json`);
  deepEqual(r.body.data, [{ two: 2, p: "%" }]);
  r = await t.request("/query/SELECT%201/result.xml");
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
  r = await t.request("/query/SELECT%201");
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
});

Deno.test("GET query refuses every write shape and executes nothing", async () => {
  await using t = await startTestServer();
  await t.query("CREATE TABLE w (id INTEGER); INSERT INTO w VALUES (1), (2); CREATE SEQUENCE s");
  const refused = [
    "DELETE FROM w",
    "EXPLAIN ANALYZE DELETE FROM w",
    "WITH x AS (SELECT 1) INSERT INTO w SELECT 3",
    "SELECT 1; DROP TABLE w",
    "SELECT 1; DELETE FROM w",
    "INSERT INTO w VALUES (5)",
    "CREATE TABLE z (a INT)",
    "UPDATE w SET id = 0",
    "DROP TABLE w",
    "SELECT nextval('s')",
    "/* comment */ DELETE FROM w",
    "CHECKPOINT",
  ];
  for (const sql of refused) {
    const r = await t.request(sqlPath(sql));
    ok(r.status >= 400 && r.status < 500, `${sql} -> ${r.status}`);
    deepEqual(r.body.code, "not_read_only", sql);
  }
  const r = await t.query(
    "SELECT count(*) AS n, (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'z') AS z, nextval('s') AS next FROM w",
  );
  deepEqual(r.body.data, [{ n: 2, z: 0, next: 1 }]);
});

Deno.test("GET query accepts every read shape", async () => {
  await using t = await startTestServer();
  await t.query("CREATE TABLE r (id INTEGER)");
  for (
    const sql of [
      "SELECT 1",
      "FROM r",
      "SHOW TABLES",
      "DESCRIBE r",
      "SUMMARIZE r",
      "VALUES (1)",
      "TABLE r",
      "EXPLAIN SELECT 1",
      "WITH a AS (SELECT 1 x) SELECT * FROM a",
      "PRAGMA table_info('r')",
      "SELECT 1; SELECT 2",
    ]
  ) {
    const r = await t.request(sqlPath(sql));
    deepEqual(r.status, 200, `${sql}: ${r.text}`);
    ok(Array.isArray(r.body.data), sql);
  }
});

Deno.test("statement errors map to stable codes and statuses", async () => {
  await using t = await startTestServer();
  await t.query("CREATE TABLE e (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  const cases: [string, number, string][] = [
    ["SELEC 1", 400, "syntax_error"],
    ["SELECT nope FROM e", 400, "binder_error"],
    ["SELECT * FROM nowhere", 404, "unknown_table"],
    ["SELECT 'x'::INTEGER", 400, "conversion_error"],
    ["INSERT INTO e VALUES (1, NULL)", 409, "constraint_violation"],
    ["CREATE TABLE e (a INT)", 409, "already_exists"],
    ["BEGIN", 400, "statement_not_allowed"],
    ["-- only a comment", 400, "sql_required"],
  ];
  for (const [sql, status, code] of cases) {
    const r = await t.query(sql);
    deepEqual([r.status, r.body.code], [status, code], `${sql}: ${r.text}`);
    deepEqual(r.headers.get("content-type"), "application/problem+json");
    deepEqual(r.body.status, status);
    deepEqual(r.body.request_id, r.headers.get("x-request-id"));
    deepEqual(r.body.message, r.body.detail);
    deepEqual(typeof r.body.error, "string");
  }
});

Deno.test("statements DuckDB expands into its own BEGIN … COMMIT run in the request's transaction", async () => {
  await using t = await startTestServer();
  await t.query("CREATE TABLE g (a INT); INSERT INTO g VALUES (1), (2)");
  // A non-constant DEFAULT: DuckDB turns the ALTER into BEGIN; ALTER; UPDATE; ALTER; COMMIT.
  let r = await t.query("ALTER TABLE g ADD COLUMN c TIMESTAMP DEFAULT current_timestamp");
  equal(r.status, 200, r.text);
  r = await t.query("SELECT a, c IS NOT NULL AS filled FROM g ORDER BY a");
  deepEqual(r.body.data, [{ a: 1, filled: true }, { a: 2, filled: true }]);
  // ... and it stays all or nothing with the request's other statements.
  r = await t.query(
    "ALTER TABLE g ADD COLUMN d DOUBLE DEFAULT random(); INSERT INTO g (a) VALUES (NULL::INT + 'x')",
  );
  equal(r.status, 400, r.text);
  r = await t.query("SELECT column_name FROM duckdb_columns() WHERE table_name = 'g'");
  deepEqual(r.body.data.map((c: { column_name: string }) => c.column_name), ["a", "c"]);
  // Transaction statements the user writes are still refused.
  r = await t.query(
    "BEGIN; ALTER TABLE g ADD COLUMN e INT DEFAULT now()::DATE - DATE '2000-01-01'; COMMIT",
  );
  deepEqual([r.status, r.body.code], [400, "statement_not_allowed"]);
});

Deno.test("bad request bodies are 4xx, never 500", async () => {
  await using t = await startTestServer({ max_body_size: "1KB" });
  const post = (body: string) => t.request("/query", { method: "POST", body });
  let r = await post("{not json");
  deepEqual([r.status, r.body.code], [400, "invalid_json"]);
  r = await post("");
  deepEqual([r.status, r.body.code], [400, "invalid_json"]);
  r = await post('{"sql": ""}');
  deepEqual([r.status, r.body.code], [400, "sql_required"]);
  r = await post('{"query": "SELECT 1"}');
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
  r = await post('{"sql": 1}');
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
  r = await post('["SELECT 1"]');
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
  r = await post(JSON.stringify({ sql: `SELECT '${"x".repeat(2000)}'` }));
  deepEqual([r.status, r.body.code], [413, "payload_too_large"]);
  r = await t.request("/query", { method: "PUT", body: "{}" });
  deepEqual([r.status, r.body.code], [405, "method_not_allowed"]);
  r = await t.request("/nowhere");
  deepEqual([r.status, r.body.code], [404, "route_not_found"]);
});

Deno.test("X-Request-ID is echoed when well-formed, replaced otherwise, and logged", async () => {
  await using t = await startTestServer();
  let r = await t.request("/health", { headers: { "x-request-id": "trace-123" } });
  deepEqual(r.headers.get("x-request-id"), "trace-123");
  r = await t.query("SELEC", undefined, { "x-request-id": "trace-456" });
  deepEqual(r.body.request_id, "trace-456");
  for (const bad of ["a".repeat(200), "bad id", 'x"y<script>']) {
    r = await t.request("/health", { headers: { "x-request-id": bad } });
    const id = r.headers.get("x-request-id")!;
    match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  ok(t.logs.some((line) => JSON.parse(line).request_id === "trace-456"));
});

Deno.test("absolute_max_rows caps unpaginated reads and says so; 0 disables the cap", async () => {
  {
    await using t = await startTestServer({ absolute_max_rows: "5" });
    let r = await t.query("SELECT * FROM range(12) t(i)");
    deepEqual(r.headers.get("x-truncated"), "true");
    deepEqual(r.body.data.length, 5);
    deepEqual(r.body.truncated, true);
    deepEqual(r.body.total_available, 12);
    match(r.body.message, /limited to 5 rows/);
    r = await t.query("SELECT * FROM range(5) t(i)");
    deepEqual(r.headers.get("x-truncated"), null);
    deepEqual(r.body.data.length, 5);
    deepEqual(r.body.truncated, undefined);
    // exports (CSV here) are capped by max_export_rows (default unlimited), not this cap
    r = await t.request(sqlPath("SELECT * FROM range(7) t(i)", "csv"));
    deepEqual(r.headers.get("x-truncated"), null);
    deepEqual(r.text.trim().split("\r\n").length, 8);
  }
  {
    await using t = await startTestServer({ absolute_max_rows: "0" });
    const r = await t.query("SELECT * FROM range(25000) t(i)");
    deepEqual(r.body.data.length, 25000);
    deepEqual(r.headers.get("x-truncated"), null);
  }
});

Deno.test("query_timeout interrupts a statement with 504 and the connection stays usable", async () => {
  await using t = await startTestServer({ query_timeout: "300ms", threads: "1" });
  const started = performance.now();
  let r = await t.query("SELECT count(*) FROM range(100000000000) a");
  deepEqual([r.status, r.body.code], [504, "query_timeout"]);
  ok(performance.now() - started < 5000);
  r = await t.query("SELECT 42 AS answer");
  deepEqual(r.body.data, [{ answer: 42 }]);
  r = await t.request("/health");
  deepEqual(r.status, 200);
  // writes are interrupted too, and leave nothing behind
  await t.query("CREATE TABLE big (i BIGINT)");
  r = await t.query("INSERT INTO big SELECT a.range FROM range(100000000000) a");
  deepEqual(r.status, 504);
  r = await t.query("SELECT count(*) AS n FROM big");
  deepEqual(r.body.data, [{ n: 0 }]);
});

Deno.test("a client disconnect interrupts the running statement", async () => {
  await using t = await startTestServer({ query_timeout: "60s", threads: "1" });
  const controller = new AbortController();
  const pending = fetch(`${t.url}/query`, {
    method: "POST",
    body: JSON.stringify({ sql: "SELECT count(*) FROM range(100000000000) a" }),
    signal: controller.signal,
  }).catch((err) => err);
  await new Promise((r) => setTimeout(r, 300));
  controller.abort();
  await pending;
  const started = performance.now();
  const r = await t.query("SELECT 1 AS one"); // the only connection must be free again
  deepEqual(r.body.data, [{ one: 1 }]);
  ok(performance.now() - started < 5000);
});

Deno.test("session state never leaks between requests", async () => {
  await using t = await startTestServer({ threads: "1" });
  await t.query("CREATE SCHEMA other; CREATE TABLE other.only_here (a INT)");
  let r = await t.query("USE other");
  deepEqual(r.status, 200);
  r = await t.query("SELECT * FROM only_here");
  deepEqual(r.status, 404);
  await t.query("SET search_path = 'other'");
  r = await t.query("SELECT * FROM only_here");
  deepEqual(r.status, 404);
  await t.query("CREATE TEMP TABLE tmp_t (a INT)");
  r = await t.query("SELECT * FROM tmp_t");
  deepEqual(r.status, 404);
  r = await t.query("USE other; SELECT count(*) AS n FROM only_here");
  deepEqual(r.body.data, [{ n: 0 }]);
});

Deno.test("concurrent conflicting writes are retried; no update is lost", async () => {
  await using t = await startTestServer({ threads: "4" });
  await t.query(
    "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)",
  );
  const replies = await Promise.all(
    Array.from({ length: 16 }, () => t.query("UPDATE counter SET n = n + 1 WHERE id = 1")),
  );
  let succeeded = 0;
  for (const r of replies) {
    if (r.status === 200) succeeded++;
    else deepEqual([r.status, r.body.code], [409, "transaction_conflict"], r.text);
  }
  ok(succeeded > 0);
  const r = await t.query("SELECT n FROM counter");
  deepEqual(r.body.data, [{ n: succeeded }]);
});

Deno.test("access_mode read_only answers writes with 403", async () => {
  const dir = await Deno.makeTempDir();
  try {
    {
      await using t = await startTestServer({ database_path: `${dir}/main.duckdb` });
      await t.query("CREATE TABLE ro (a INT); INSERT INTO ro VALUES (1)");
    }
    await using t = await startTestServer({
      database_path: `${dir}/main.duckdb`,
      access_mode: "read_only",
    });
    let r = await t.query("INSERT INTO ro VALUES (2)");
    deepEqual([r.status, r.body.code], [403, "read_only"]);
    r = await t.query("SELECT count(*) AS n FROM ro");
    deepEqual(r.body.data, [{ n: 1 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
