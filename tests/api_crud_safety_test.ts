import { deepEqual, equal, match, ok } from "node:assert/strict";
import { sqlPath, startAuthServer, startTestServer, testConfig } from "./_helpers.ts";
import { api, ids } from "./_api.ts";
import { ApiError, ERROR_CODES } from "../lib/errors.ts";
import { openEngine } from "../lib/db/engine.ts";
import { createApp } from "../lib/http/app.ts";
import { createLogger } from "../lib/log.ts";
import type { Auth } from "../lib/auth/mod.ts";

Deno.test("DDL between requests is seen at once: add, rename and drop columns and tables", async () => {
  await using t = await startTestServer({ threads: "2" });
  const a = api(t);
  await a.sql("CREATE TABLE e (id INTEGER PRIMARY KEY, name VARCHAR)");
  await a.post("e", { id: 1, name: "a" });
  deepEqual((await a.get("e")).body.data, [{ id: 1, name: "a" }]); // warms the catalog cache
  await a.sql("ALTER TABLE e ADD COLUMN score INTEGER DEFAULT 5");
  equal((await a.post("e", { id: 2, name: "b", score: 9 })).status, 201);
  deepEqual((await a.get("e?select=id,score&sort=id")).body.data, [{ id: 1, score: 5 }, {
    id: 2,
    score: 9,
  }]);
  deepEqual(ids(await a.get("e?filter=score:gt:6")), [2]);
  await a.sql("ALTER TABLE e RENAME COLUMN score TO points");
  equal((await a.get("e?select=score")).body.code, "unknown_column");
  deepEqual((await a.get("e?select=points&sort=id")).body.data, [{ points: 5 }, { points: 9 }]);
  await a.sql("ALTER TABLE e DROP COLUMN points");
  equal((await a.post("e", { id: 3, points: 1 })).body.code, "unknown_column");
  await a.sql("ALTER TABLE e RENAME TO f");
  equal((await a.get("e")).status, 404);
  equal((await a.get("f")).body.data.length, 2);
  await a.sql("DROP TABLE f");
  equal((await a.get("f")).status, 404);
  // a multi-statement script with DDL, then at once through the API
  await a.sql(
    "CREATE TABLE g (x INTEGER); INSERT INTO g VALUES (1); ALTER TABLE g ADD COLUMN y VARCHAR",
  );
  equal((await a.post("g", { x: 2, y: "new" })).status, 201);
  deepEqual((await a.get("g?filter=y:eq:new")).body.data, [{ x: 2, y: "new" }]);
  // failed DDL changes nothing, and the catalog stays right
  equal((await t.query("ALTER TABLE g ADD COLUMN x INTEGER")).status >= 400, true);
  equal((await t.query("CREATE TABLE h (a INTEGER); SELECT * FROM nowhere")).status, 404);
  equal((await a.get("h")).status, 404);
  deepEqual((await a.get("g?sort=x")).body.data, [{ x: 1, y: null }, { x: 2, y: "new" }]);
  // recreate with other columns under the same name
  await a.sql("DROP TABLE g; CREATE TABLE g (z DATE)");
  equal((await a.post("g", { z: "2024-05-06" })).status, 201);
  deepEqual((await a.get("g")).body.data, [{ z: "2024-05-06" }]);
  equal((await a.get("g?filter=x:eq:1")).body.code, "unknown_column");
});

Deno.test("injection attempts in every position are 4xx and leave the table intact", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR); INSERT INTO users VALUES (1, 'a'), (2, 'b')",
  );
  const evil = [
    `x"; DROP TABLE users; --`,
    `id) OR 1=1 --`,
    `name' OR '1'='1`,
    `users; DROP TABLE users`,
    `id = id; DELETE FROM users; --`,
  ];
  for (const e of evil) {
    const q = encodeURIComponent(e);
    for (
      const path of [
        `${q}`,
        `users?filter=${q}:eq:1`,
        `users?sort=${q}`,
        `users?sort=id:${q}`,
        `users?select=${q}`,
      ]
    ) {
      const r = await a.get(path);
      ok(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.text}`);
    }
    let r = await a.post("users", { [e]: 1 });
    equal(r.status, 400, e);
    r = await a.post(`${encodeURIComponent(e)}`, { id: 9 });
    equal(r.status, 404, e);
    r = await a.put("users", { where: { [e]: 1 }, set: { name: "x" } });
    equal(r.status, 400, e);
    r = await a.put("users", { where: { id: 1 }, set: { [e]: "x" } });
    equal(r.status, 400, e);
    r = await a.del(`users?where=${encodeURIComponent(`${e}:eq:1`)}`);
    equal(r.status, 400, e);
    r = await a.post(`users?on_conflict=${encodeURIComponent(e)}`, { id: 1 });
    equal(r.status, 400, e);
    // as a value it is just text: no match, or stored verbatim
    r = await a.get(`users?filter=name:eq:${encodeURIComponent(e)}`);
    deepEqual([r.status, r.body.data], [200, []]);
    r = await a.get(`users?filter=id:eq:${encodeURIComponent(e)}`);
    deepEqual([r.status, r.body.code], [400, "conversion_error"]);
  }
  const r = await a.post("users", { id: 3, name: evil[0] });
  equal(r.status, 201);
  deepEqual((await a.get(`users?filter=name:eq:${encodeURIComponent(evil[0])}`)).body.data, [{
    id: 3,
    name: evil[0],
  }]);
  equal(await a.count("users"), 3);
  // a forged cursor only ever binds values
  const forged = btoa(
    JSON.stringify({ v: 1, t: "main.users", o: ["id:asc"], k: ["1); DROP TABLE users; --"] }),
  );
  equal((await a.get(`users?limit=1&after=${forged}`)).status, 400);
  equal(await a.count("users"), 3);
});

Deno.test("reserved words, quotes, spaces and unicode as table and column names work", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    `CREATE TABLE "order" ("select" INTEGER PRIMARY KEY, "group" VARCHAR, "my col" VARCHAR,
    "qu""ote" INTEGER, "größe" DOUBLE, "a,b:c|d" VARCHAR)`,
  );
  await a.sql(`CREATE TABLE "odd ""name"" tbl" (id INTEGER)`);
  let r = await a.post("order", [
    { select: 1, group: "g1", "my col": "x y", 'qu"ote': 7, "größe": 1.5, "a,b:c|d": "p" },
    { select: 2, group: "g2", "my col": "z", 'qu"ote': 8, "größe": 2.5, "a,b:c|d": "q" },
  ]);
  equal(r.status, 201, r.text);
  r = await a.get(
    `order?filter=${
      encodeURIComponent('qu"ote:gt:7,größe:gte:2,a\\,b\\:c\\|d:eq:q')
    }&sort=group:desc&select=select,my col`,
  );
  deepEqual(r.body.data, [{ select: 2, "my col": "z" }]);
  r = await a.put("order", { where: { "my col": "x y" }, set: { group: "G", "größe": 3 } });
  equal(r.body.rows_affected, 1);
  r = await a.get("order?page=1&limit=1&sort=größe:desc");
  deepEqual([r.body.data[0].select, r.body.data[0].group], [1, "G"]);
  r = await a.get(`order?limit=1&after=${r.body.next_cursor}&sort=größe:desc`);
  deepEqual(ids(r, "select"), [2]);
  r = await a.del(`order?where=${encodeURIComponent("group:eq:G")}`);
  equal(r.body.rows_affected, 1);
  r = await a.post(encodeURIComponent('"odd ""name"" tbl"'), { id: 5 });
  equal(r.status, 201, r.text);
  r = await a.get(encodeURIComponent('odd "name" tbl'));
  deepEqual(r.body.data, [{ id: 5 }]);
});

Deno.test("names resolve the way DuckDB does: any case, schema-qualified, quoted", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(`CREATE TABLE "Users" ("Name" VARCHAR); INSERT INTO "Users" VALUES ('a');
    CREATE SCHEMA sales; CREATE TABLE sales.orders (id INTEGER, total DECIMAL(10,2));
    INSERT INTO sales.orders VALUES (1, 9.99); CREATE TABLE "sales.orders" (x INTEGER)`);
  deepEqual((await a.get("users?filter=name:eq:a")).body.data, [{ Name: "a" }]);
  deepEqual((await a.get("USERS?select=NAME")).body.data, [{ Name: "a" }]);
  deepEqual((await a.get("main.Users")).body.data, [{ Name: "a" }]);
  deepEqual((await a.get("sales.orders")).body.data, [{ id: 1, total: 9.99 }]);
  deepEqual((await a.get("orders")).body.data, [{ id: 1, total: 9.99 }]);
  deepEqual((await a.get(encodeURIComponent('"sales.orders"'))).body.data, []);
  equal((await a.post("sales.orders", { id: 2, total: "0.01" })).status, 201);
  equal((await a.get("sales.nope")).status, 404);
  equal((await a.get("nope.orders")).status, 404);
});

Deno.test("views are readable; writing to a view is a clear 405", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE base (id INTEGER, age INTEGER); INSERT INTO base VALUES (1, 10), (2, 30);" +
      "CREATE VIEW adults AS SELECT * FROM base WHERE age >= 18",
  );
  deepEqual((await a.get("adults")).body.data, [{ id: 2, age: 30 }]);
  deepEqual((await a.get("adults?page=1&limit=5")).body.pagination.total_rows, 1);
  equal((await a.get("adults?after=&limit=5")).body.code, "bad_pagination");
  for (
    const r of [
      await a.post("adults", { id: 3, age: 40 }),
      await a.put("adults", { where: { id: 2 }, set: { age: 1 } }),
      await a.del("adults?where=id:eq:2"),
    ]
  ) {
    deepEqual([r.status, r.body.code], [405, "method_not_allowed"]);
    match(r.body.detail, /view/);
    equal(r.headers.get("allow"), "GET, HEAD");
  }
  equal(await a.count("base"), 2);
});

Deno.test("other methods get 405 with Allow; HEAD answers headers only and frees its connection", async () => {
  // one connection, and no row cap so reads stream: a HEAD that kept its result would hang the GET
  await using t = await startTestServer({
    threads: "1",
    absolute_max_rows: "0",
    query_timeout: "2s",
  });
  const a = api(t);
  await a.sql("CREATE TABLE h AS SELECT range AS id FROM range(3)");
  let r = await t.request("/api/h", { method: "PATCH", body: "{}" });
  deepEqual([r.status, r.body.code, r.headers.get("allow")], [
    405,
    "method_not_allowed",
    "GET, HEAD, POST, PUT, DELETE",
  ]);
  r = await t.request("/api/h/extra");
  equal(r.status, 404);
  r = await t.request("/api/");
  equal(r.status, 400);
  for (let i = 0; i < 5; i++) {
    r = await t.request("/api/h?format=csv", { method: "HEAD" });
    deepEqual([r.status, r.text, r.headers.get("content-type")], [
      200,
      "",
      "text/csv; charset=utf-8",
    ]);
  }
  r = await a.get("h"); // one connection in the pool: HEAD must not have kept it
  equal(r.body.data.length, 3);
  for (let i = 0; i < 3; i++) {
    r = await t.request(sqlPath("SELECT 42 AS x"), { method: "HEAD" });
    deepEqual([r.status, r.text], [200, ""]);
  }
  r = await t.request(sqlPath("SELECT 42 AS x"));
  equal(r.text, '{"data":[{"x":42}]}');
});

Deno.test("authorization comes before the existence check: no 404-versus-403 oracle", async () => {
  const config = await testConfig();
  const engine = await openEngine(config);
  const asked: string[] = [];
  const auth: Auth = {
    authenticate: () => ({ keyId: "k1", role: "reader" }),
    authorize: (_principal, op, table) => {
      asked.push(`${op}:${table}`);
      if (table.startsWith("ok")) return;
      if (op !== "r" || table === "secret" || table === "missing") {
        throw new ApiError("forbidden", `Forbidden: ${op} on ${table}`);
      }
    },
    authorizeSql: () => Promise.resolve(),
    authorizeStatement: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const app = createApp({ config, engine, auth, log: createLogger("silent") });
  try {
    const lease = await engine.pool.acquire();
    await lease.connection.run("CREATE TABLE secret (a INTEGER); CREATE TABLE open (a INTEGER)");
    lease.release();
    const call = async (
      method: string,
      path: string,
      body?: string,
      headers: Record<string, string> = {},
    ) => {
      const res = await app.fetch(
        new Request(`http://x/duckdb/api/${path}`, { method, body, headers }),
      );
      return { status: res.status, body: await res.json() };
    };
    equal((await call("GET", "missing")).status, 403);
    equal((await call("GET", "secret?filter=bad")).status, 403);
    equal((await call("GET", "open")).status, 200);
    equal((await call("GET", "nope")).status, 404);
    equal((await call("POST", "open", "{}")).status, 403);
    equal((await call("PUT", "open", "not json")).status, 403);
    equal((await call("DELETE", "open?where=a:eq:1")).status, 403);
    asked.length = 0;
    equal(
      (await call("POST", "ok?on_conflict=a", "{}", { prefer: "return=representation" })).status,
      404,
    );
    deepEqual(asked, ["c:ok", "u:ok", "r:ok"]);
    asked.length = 0;
    await call("POST", "ok_2", "{}", { prefer: "resolution=ignore-duplicates" });
    await call("DELETE", "ok_3?where=a:eq:1", undefined, { prefer: "return=representation" });
    deepEqual(asked, ["c:ok_2", "d:ok_3", "r:ok_3"]);
  } finally {
    await engine.close();
  }
});

Deno.test("CRUD statements run under query_timeout", async () => {
  await using t = await startTestServer({ query_timeout: "300ms" });
  const a = api(t);
  await a.sql("CREATE VIEW slow AS SELECT count(*) AS n FROM range(100000000000) a");
  const started = performance.now();
  const r = await a.get("slow");
  deepEqual([r.status, r.body.code], [504, "query_timeout"]);
  ok(performance.now() - started < 5000);
  equal((await a.get("slow?filter=n:eq:1")).status, 504);
});

Deno.test("concurrent updates of one row are retried on conflict, never 500", async () => {
  await using t = await startTestServer({ threads: "4" });
  const a = api(t);
  await a.sql("CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO c VALUES (1, 0)");
  const replies = await Promise.all(
    Array.from({ length: 12 }, (_, i) => a.put("c", { where: { id: 1 }, set: { v: i + 1 } })),
  );
  for (const r of replies) {
    ok(r.status === 200 || (r.status === 409 && r.body.code === "transaction_conflict"), r.text);
  }
  ok(replies.filter((r) => r.status === 200).length >= 1);
  const v = (await a.get("c")).body.data[0].v;
  ok(v >= 1 && v <= 12);
});

Deno.test("every CRUD error code answers with its status, problem+json and a stable shape", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql("CREATE TABLE w (id INTEGER PRIMARY KEY, n INTEGER)");
  const cases: [string, () => ReturnType<typeof a.get>][] = [
    ["unknown_table", () => a.get("nowhere")],
    ["unknown_column", () => a.get("w?filter=zz:eq:1")],
    ["bad_filter", () => a.get("w?filter=n:near:1")],
    ["bad_sort", () => a.get("w?sort=n:sideways")],
    ["bad_select", () => a.get("w?select=n,id,N")],
    ["bad_pagination", () => a.get("w?page=0")],
    ["unknown_parameter", () => a.get("w?offest=1")],
    ["where_required", () => a.del("w")],
    ["conversion_error", () => a.get("w?filter=n:eq:x")],
    [
      "constraint_violation",
      async () => (await a.post("w", { id: 1 }), await a.post("w", { id: 1 })),
    ],
    ["method_not_allowed", () => t.request("/api/w", { method: "PATCH" })],
  ];
  for (const [code, call] of cases) {
    const r = await call();
    equal(r.body.code, code, r.text);
    equal(r.status, ERROR_CODES[code as keyof typeof ERROR_CODES][0]);
    equal(r.headers.get("content-type"), "application/problem+json");
    deepEqual(
      ["type", "title", "status", "detail", "code", "request_id", "error", "message"].every((k) =>
        k in r.body
      ),
      true,
    );
    equal(r.body.request_id, r.headers.get("x-request-id"));
    equal(/LINE \d+:/.test(r.body.detail), false, "no echo of generated SQL");
  }
});

Deno.test("with real keys, each method needs its operation, and 403 comes before 404", async () => {
  await using t = await startAuthServer({
    roles: { clerk: [["reports", "r"]], writer: [["reports", "c"]] },
  });
  const setup = await t.query(
    "CREATE TABLE reports (id INTEGER PRIMARY KEY, v INTEGER); CREATE TABLE secret (s VARCHAR)",
    undefined,
    t.as(t.keys.admin),
  );
  equal(setup.status, 200, setup.text);
  const call = async (key: string | null, method: string, path: string, body?: unknown, h = {}) =>
    (await t.request(`/api/${path}`, {
      method,
      headers: { ...(key ? t.as(key) : {}), ...h },
      body: body === undefined ? undefined : JSON.stringify(body),
    })).status;
  const { admin, editor, reader, clerk, writer } = t.keys;
  equal(await call(null, "GET", "reports"), 401);
  equal(await call(editor, "POST", "reports", { id: 1, v: 1 }), 201);
  equal(await call(reader, "GET", "reports"), 200);
  equal(await call(reader, "GET", "missing"), 404);
  for (
    const [method, body] of [["POST", { id: 2 }], ["PUT", { where: { id: 1 }, set: { v: 2 } }]]
  ) {
    equal(await call(reader, method as string, "reports", body), 403, `${method}`);
  }
  equal(await call(reader, "DELETE", "reports?where=id:eq:1"), 403);
  equal(await call(clerk, "GET", "reports?filter=v:eq:1"), 200);
  equal(await call(clerk, "GET", "secret"), 403);
  equal(await call(clerk, "GET", "missing"), 403); // not 404: no existence oracle
  equal(await call(clerk, "POST", "missing", { id: 1 }), 403);
  equal(await call(writer, "POST", "reports", { id: 3, v: 3 }), 201);
  equal(await call(writer, "GET", "reports"), 403);
  equal(await call(writer, "POST", "reports", { id: 4 }, { prefer: "return=representation" }), 403);
  equal(await call(writer, "POST", "reports?on_conflict=id", { id: 3, v: 9 }), 403);
  equal(
    await call(writer, "POST", "reports", { id: 3 }, { prefer: "resolution=ignore-duplicates" }),
    201,
  );
  equal(
    await call(editor, "POST", "reports?on_conflict=id", { id: 3, v: 9 }, {
      prefer: "return=representation",
    }),
    201,
  );
  equal(await call(editor, "DELETE", "reports?where=id:eq:1&dry_run=1"), 200);
  equal(await call(admin, "DELETE", "reports?where=id:gte:0"), 200);
  const left = await t.query("SELECT count(*)::INTEGER AS n FROM reports", undefined, t.as(admin));
  deepEqual(left.body.data, [{ n: 0 }]);
});
