import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { ApiError } from "../lib/errors.ts";
import { createGuard, type Guard } from "../lib/db/run.ts";
import { parseRawQuery } from "../lib/query/raw.ts";
import { startTestServer } from "./_helpers.ts";
import { api } from "./_api.ts";
import { MAX_JSON_DEPTH } from "../lib/json.ts";
import { MAX_PARAM_VALUES } from "../lib/db/bind.ts";
import { uniqueColumnNames } from "../lib/db/rows.ts";

const nest = (depth: number) => "[".repeat(depth) + "1" + "]".repeat(depth);

Deno.test("deeply nested params are a quick 400 naming the limit, never a block or a 500", async () => {
  await using t = await startTestServer({ query_timeout: "3s" });
  for (const depth of [1000, 3000, 100_000]) {
    const started = performance.now();
    const r = await t.request("/query", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"sql": "SELECT ?::VARCHAR AS x", "params": [${nest(depth)}]}`,
    });
    deepEqual([r.status, r.body.code], [400, "invalid_request"], r.text);
    match(r.body.detail, new RegExp(`${MAX_JSON_DEPTH}`));
    equal(r.body.max_depth, MAX_JSON_DEPTH);
    ok(performance.now() - started < 1500, `depth ${depth} took ${performance.now() - started} ms`);
  }
  // Within the limit, nesting still binds (as nested lists).
  const ok60 = await t.query("SELECT len(?::VARCHAR) AS n", [JSON.parse(nest(60))]);
  deepEqual([ok60.status, ok60.body.data], [200, [{ n: 121 }]], ok60.text);
  // Table bodies are JSON bodies too.
  await t.query("CREATE TABLE deep (j JSON)");
  const r = await api(t).send("POST", "deep", `{"j": ${nest(500)}}`);
  deepEqual([r.status, r.body.code], [400, "invalid_request"], r.text);
  // The server is still responsive afterwards.
  equal((await t.request("/livez")).status, 200);
});

Deno.test("params hold at most MAX_PARAM_VALUES values, counted at every level", async () => {
  await using t = await startTestServer();
  const full = await t.query("SELECT len(?) AS n", [Array(MAX_PARAM_VALUES - 1).fill(1)]);
  deepEqual([full.status, full.body.data], [200, [{ n: MAX_PARAM_VALUES - 1 }]], full.text);
  for (
    const params of [
      [Array(MAX_PARAM_VALUES).fill(1)],
      [Array(MAX_PARAM_VALUES / 2).fill([1])],
      { a: Array(MAX_PARAM_VALUES).fill({ b: 1 }) },
    ]
  ) {
    const r = await t.query("SELECT len(?) AS n", params);
    deepEqual([r.status, r.body.code], [400, "invalid_request"], r.text.slice(0, 300));
    match(r.body.detail, new RegExp(`${MAX_PARAM_VALUES}`));
  }
});

Deno.test("converting params counts against the request's query_timeout", () => {
  const body = () => ({ sql: "SELECT ? AS a, ? AS b", params: [Array(5000).fill(1), [[1], [2]]] });
  // The guard of a request whose query_timeout has passed (or whose client left) stops it.
  const expired: Guard = { deadline: performance.now() - 1, timeoutMs: 50 };
  throws(() => parseRawQuery(body(), expired), (err: unknown) => {
    ok(err instanceof ApiError, String(err));
    deepEqual([err.status, err.code], [504, "query_timeout"]);
    match(err.message, /query_timeout \(50 ms\)/);
    return true;
  });
  const left = new AbortController();
  left.abort();
  throws(
    () => parseRawQuery(body(), createGuard(60_000, left.signal)),
    (err: unknown) => err instanceof ApiError && err.code === "client_closed_request",
  );
  // With time left the conversion runs, as without a guard.
  deepEqual(parseRawQuery(body(), createGuard(60_000)).sql, "SELECT ? AS a, ? AS b");
});

Deno.test("list params keep every item: NULLs first, mixed numbers widen", async () => {
  await using t = await startTestServer();
  let r = await t.query("SELECT ? AS a, typeof(?) AS t", [[null, 1], [null, 1]]);
  deepEqual(r.body.data, [{ a: [null, 1], t: "INTEGER[]" }], r.text);
  r = await t.query("SELECT ? AS a, typeof(?) AS t", [[1.5, 2], [1, 1.5]]);
  deepEqual(r.body.data, [{ a: [1.5, 2], t: "DOUBLE[]" }], r.text);
  r = await t.query("SELECT ? AS a, typeof(?) AS t", [[1, 3000000000], [1, 3000000000]]);
  deepEqual(r.body.data, [{ a: [1, 3000000000], t: "BIGINT[]" }], r.text);
  r = await t.query("SELECT ? AS s", [{ a: [[1], [2, 3]], b: { c: "x" } }]);
  deepEqual(r.body.data, [{ s: { a: [[1], [2, 3]], b: { c: "x" } } }], r.text);
  r = await t.query("SELECT ? AS a", [[1, "x"]]);
  deepEqual([r.status, r.body.code], [400, "parameter_error"], r.text);
  r = await t.request("/query", {
    method: "POST",
    body: '{"sql": "SELECT 1", "params": 1.00000000000000000001}',
  });
  deepEqual([r.status, r.body.code], [400, "invalid_request"], r.text);
});

Deno.test("select, sort and filters: repeats and over-long lists are a quick 400 with their code", async () => {
  await using t = await startTestServer({ query_timeout: "3s" });
  const a = api(t);
  await a.sql("CREATE TABLE t AS SELECT range AS id, 'x' || range AS name FROM range(5)");
  const cases: [string, string, RegExp][] = [
    [`t?select=${Array(10_000).fill("name").join(",")}`, "bad_select", /at most 1000/],
    [`t?select=id,name,ID`, "bad_select", /"id" is named more than once/],
    [`t?select=${Array.from({ length: 1001 }, (_, i) => `c${i}`).join(",")}`, "bad_select", /1000/],
    [`t?sort=${Array(10_000).fill("name").join(",")}`, "bad_sort", /at most 32/],
    [`t?sort=name,id:desc,NAME:desc`, "bad_sort", /"name" is already a sort key/],
    [`t?limit=2&sort=id,id`, "bad_sort", /already a sort key/],
    [`t?filter=${Array(1001).fill("id:gte:0").join(",")}`, "bad_filter", /at most 1000/],
    [`t?${Array(1001).fill("filter=id:gte:0").join("&")}`, "bad_filter", /at most 1000/],
    [
      `t?filter=id:in:${Array(10_001).fill("1").join("%7C")}`,
      "bad_filter",
      /at most 10000/,
    ],
  ];
  for (const [path, code, detail] of cases) {
    const started = performance.now();
    const r = await a.get(path);
    deepEqual([r.status, r.body.code], [400, code], `${path.slice(0, 60)}: ${r.text}`);
    match(r.body.detail, detail);
    ok(performance.now() - started < 1500, `${path.slice(0, 40)} took too long`);
  }
  // the limits themselves are fine
  const full = await a.get(`t?sort=id&filter=${Array(1000).fill("id:gte:0").join(",")}`);
  deepEqual([full.status, full.body.data.length], [200, 5], full.text);
  const many = await a.get(
    `t?filter=id:in:${Array.from({ length: 10_000 }, (_, i) => i % 7).join("%7C")}`,
  );
  deepEqual([many.status, many.body.data.length], [200, 5], many.text);
  // writes count their conditions too
  const put = await a.put("t", {
    where: Array(1001).fill({ column: "id", op: "gte", value: 0 }),
    set: { name: "y" },
  });
  deepEqual([put.status, put.body.code], [400, "bad_filter"], put.text);
  const inList = await a.put("t", {
    where: [{ column: "id", op: "in", value: Array(10_001).fill(1) }],
    set: { name: "y" },
  });
  deepEqual([inList.status, inList.body.code], [400, "bad_filter"], inList.text);
  const del = await a.del(`t?${Array(1001).fill("where=id:gte:0").join("&")}`);
  deepEqual([del.status, del.body.code], [400, "bad_filter"], del.text);
  equal(await a.count("t"), 5);
});

Deno.test("uniqueColumnNames() is linear in repeats and skips names already taken", () => {
  deepEqual(uniqueColumnNames(["a", "a_1", "a", "a", "b", "a_2"]), [
    "a",
    "a_1",
    "a_2",
    "a_3",
    "b",
    "a_2_1",
  ]);
  const started = performance.now();
  const names = uniqueColumnNames(Array(50_000).fill("a"));
  deepEqual([names.length, names[1], names.at(-1)], [50_000, "a_1", "a_49999"]);
  equal(new Set(names).size, 50_000);
  ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
});
