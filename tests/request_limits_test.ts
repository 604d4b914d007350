import { deepEqual, equal, match, ok } from "node:assert/strict";
import { startTestServer } from "./_helpers.ts";
import { api } from "./_api.ts";
import { MAX_JSON_DEPTH } from "../lib/json.ts";
import { MAX_PARAM_VALUES } from "../lib/db/bind.ts";

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
