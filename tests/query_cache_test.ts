import { deepEqual, equal, notEqual } from "node:assert/strict";
import { sqlPath, startTestServer } from "./_helpers.ts";

Deno.test("deterministic raw SELECTs are answered from the cache until the next write", async () => {
  await using t = await startTestServer();
  let r = await t.query("SELECT 1 AS one");
  equal(r.headers.get("x-cache"), "miss");
  r = await t.query("SELECT 1 AS one");
  equal(r.headers.get("x-cache"), "hit");
  deepEqual(r.body.data, [{ one: 1 }]);

  await t.query("CREATE TABLE q (id INTEGER, v VARCHAR); INSERT INTO q VALUES (1, 'a')");
  const sql = "SELECT upper(v) AS v, count(*) OVER () AS n FROM q WHERE id >= ? ORDER BY id";
  await t.query(sql, [0]);
  r = await t.query(sql, [0]);
  equal(r.headers.get("x-cache"), "hit");
  deepEqual(r.body.data, [{ v: "A", n: 1 }]);
  // other values are another answer
  r = await t.query(sql, [5]);
  equal(r.headers.get("x-cache"), "miss");
  deepEqual(r.body.data, []);
  // a raw write invalidates
  await t.query("INSERT INTO q VALUES (2, 'b')");
  r = await t.query(sql, [0]);
  equal(r.headers.get("x-cache"), "miss");
  equal(r.body.data.length, 2);
  // a CRUD write invalidates
  await t.query(sql, [0]);
  await t.request("/api/q", { method: "POST", body: JSON.stringify({ id: 3, v: "c" }) });
  r = await t.query(sql, [0]);
  equal(r.body.data.length, 3);
  // GET query URLs share the mechanism
  await t.request(sqlPath("SELECT count(*) AS n FROM q"));
  r = await t.request(sqlPath("SELECT count(*) AS n FROM q"));
  equal(r.headers.get("x-cache"), "hit");
  deepEqual(r.body.data, [{ n: 3 }]);
  // Cache-Control: no-cache runs the query
  r = await t.query("SELECT 1 AS one", undefined, { "cache-control": "no-cache" });
  equal(r.headers.get("x-cache"), "miss");
  // A trailing semicolon is still one SELECT: wrapped, capped and cached like any other.
  await t.query("SELECT 2 AS two;");
  r = await t.query("SELECT 2 AS two;");
  equal(r.headers.get("x-cache"), "hit");
  deepEqual(r.body.data, [{ two: 2 }]);
});

Deno.test("answers that depend on the clock, randomness, files, streams, views or macros are never cached", async () => {
  await using t = await startTestServer();
  await t.query(
    "CREATE TABLE b (id INTEGER); INSERT INTO b SELECT range FROM range(100); " +
      "CREATE VIEW bv AS SELECT * FROM b; CREATE SEQUENCE s; CREATE MACRO twice(x) AS x * 2",
  );
  const never = [
    "SELECT random() AS r",
    "SELECT now() AS t",
    "SELECT current_date AS d",
    "SELECT CURRENT_TIMESTAMP AS t",
    "SELECT gen_random_uuid() AS u",
    "SELECT uuid() AS u",
    "SELECT nextval('s') AS n",
    "SELECT * FROM range(3)",
    "SELECT * FROM bv",
    "SELECT * FROM b USING SAMPLE 10",
    "SELECT twice(id) FROM b",
    "SELECT (SELECT max(random()) FROM b) AS nested",
  ];
  for (const sql of never) {
    await t.query(sql);
    const r = await t.query(sql);
    equal(r.status, 200, `${sql}: ${r.text}`);
    equal(r.headers.get("x-cache"), null, sql);
  }
  const a = await t.query("SELECT random() AS r");
  const b = await t.query("SELECT random() AS r");
  notEqual(a.body.data[0].r, b.body.data[0].r);
  // a table replaced by a view stops being cached
  await t.query("CREATE TABLE swap AS SELECT 1 AS x");
  await t.query("SELECT * FROM swap");
  equal((await t.query("SELECT * FROM swap")).headers.get("x-cache"), "hit");
  await t.query("DROP TABLE swap; CREATE VIEW swap AS SELECT random() AS x");
  await t.query("SELECT * FROM swap");
  equal((await t.query("SELECT * FROM swap")).headers.get("x-cache"), null);
  // a macro that shadows a deterministic built-in stops its calls being cached
  await t.query("SELECT abs(-1) AS a");
  equal((await t.query("SELECT abs(-1) AS a")).headers.get("x-cache"), "hit");
  await t.query("CREATE MACRO abs(x) AS x + random()");
  await t.query("SELECT abs(-2) AS a");
  const shadowed = await t.query("SELECT abs(-2) AS a");
  equal(shadowed.status, 200, shadowed.text);
  equal(shadowed.headers.get("x-cache"), null);
});

Deno.test("the raw query cache never serves an answer older than a completed write", async () => {
  await using t = await startTestServer({ threads: "4" });
  await t.query("CREATE TABLE w (id INTEGER)");
  let stop = false;
  const readers = Array.from({ length: 3 }, async () => {
    while (!stop) await t.query("SELECT count(*) AS n FROM w");
  });
  for (let i = 1; i <= 40; i++) {
    await t.query("INSERT INTO w VALUES (?)", [i]);
    const r = await t.query("SELECT count(*) AS n FROM w");
    deepEqual(r.body.data, [{ n: i }]);
  }
  stop = true;
  await Promise.all(readers);
});
