import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { ApiError } from "../lib/errors.ts";
import { createAuth } from "../lib/auth/mod.ts";
import { catalogNameOf } from "../lib/catalog_name.ts";
import { hashKey } from "../lib/auth/keys.ts";
import { addRole, removeKey, setKeyActive, setPermission } from "../lib/auth/store.ts";
import { parseOperations } from "../lib/permissions.ts";
import {
  type AuthTestServer,
  sqlPath,
  startAuthServer,
  startTestServer,
  testConfig,
  timed,
} from "./_helpers.ts";

const SETUP = "CREATE TABLE reports (id INTEGER PRIMARY KEY, v INTEGER); " +
  "CREATE TABLE secret (id INTEGER, s VARCHAR); CREATE SCHEMA sales; " +
  "CREATE TABLE sales.orders (id INTEGER); CREATE VIEW secret_view AS SELECT * FROM secret; " +
  "INSERT INTO reports VALUES (1, 10), (2, 20); INSERT INTO secret VALUES (1, 'top secret')";

async function setUp(t: AuthTestServer): Promise<void> {
  const r = await t.query(SETUP, undefined, t.as(t.keys.admin));
  equal(r.status, 200, r.text);
}

function keyId(key: string): string {
  return key.slice(4, 12);
}

/** The problem body without the per-request id. */
function stable(body: Record<string, unknown>): Record<string, unknown> {
  const { request_id: _, ...rest } = body;
  return rest;
}

Deno.test("missing, unknown, inactive and expired keys get one identical 401", async () => {
  await using t = await startAuthServer();
  const expired = await t.mintKey({ role: "admin", expiresAt: Date.now() - 1000, now: 0 });
  const inactive = await t.mintKey({ role: "admin" });
  await setKeyActive(t.authPath, keyId(inactive), false);
  ok(
    await t.eventually(async () => (await t.query("SELECT 1", [], t.as(inactive))).status === 401),
  );

  const bodies = [];
  for (
    const headers of [
      {},
      t.as("dsk_aaaaaaaa_" + "A".repeat(43)),
      t.as(inactive),
      t.as(expired),
      { authorization: `Basic ${btoa(`x:${t.keys.admin}`)}` },
      { authorization: "Bearer " },
    ] as Record<string, string>[]
  ) {
    const r = await t.query("SELECT 1", undefined, headers);
    equal(r.status, 401);
    equal(r.headers.get("content-type"), "application/problem+json");
    equal(r.headers.get("www-authenticate"), 'Bearer realm="duckserve"');
    equal(r.body.request_id, r.headers.get("x-request-id"));
    bodies.push(stable(r.body));
  }
  for (const body of bodies) deepEqual(body, bodies[0]);
  deepEqual(bodies[0], {
    type: "about:blank",
    title: "Unauthorized",
    status: 401,
    detail: "Missing or invalid X-API-Key header",
    code: "unauthorized",
    error: "Unauthorized",
    message: "Missing or invalid X-API-Key header",
  });
  // the same key works in either header
  equal((await t.query("SELECT 1", undefined, t.as(t.keys.admin))).status, 200);
  const bearer = await t.query("SELECT 1 AS one", undefined, {
    authorization: `Bearer ${t.keys.admin}`,
  });
  deepEqual(bearer.body.data, [{ one: 1 }]);
  // unknown paths need a key first (nothing about routes leaks)
  equal((await t.request("/nowhere")).status, 401);
  equal((await t.request("/nowhere", { headers: t.as(t.keys.reader) })).status, 404);
});

Deno.test("public endpoints answer without a key", async () => {
  await using t = await startAuthServer();
  const health = await t.request("/health");
  equal(health.status, 200);
  equal(health.body.status, "ok");
  for (const path of ["/openapi.json", "/docs", "/livez", "/readyz"]) {
    const r = await t.request(path);
    ok(r.status !== 401, `${path} must not need a key`);
  }
});

Deno.test("the default roles and a custom role on POST and GET /query", async () => {
  await using t = await startAuthServer({ roles: { analyst: [["reports", "rq"]] } });
  await setUp(t);
  const select = "SELECT id FROM reports ORDER BY id";
  const cases: [role: string, sql: string, post: number, get: number][] = [
    ["admin", select, 200, 200],
    ["admin", "SELECT * FROM secret", 200, 200],
    ["editor", select, 403, 403],
    ["reader", select, 403, 403],
    ["analyst", select, 200, 200],
    ["analyst", "SELECT * FROM secret", 403, 403],
    ["analyst", "SELECT * FROM reports JOIN secret USING (id)", 403, 403],
  ];
  for (const [role, sql, post, get] of cases) {
    const headers = t.as(t.keys[role]);
    const p = await t.query(sql, undefined, headers);
    equal(p.status, post, `${role} POST ${sql}: ${p.text}`);
    const g = await t.request(sqlPath(sql), { headers });
    equal(g.status, get, `${role} GET ${sql}: ${g.text}`);
    for (const r of [p, g]) {
      if (r.status === 200) ok(Array.isArray(r.body.data));
      else equal(r.body.code, "forbidden");
    }
  }
  // a 403 names the operation and the table
  const denied = await t.query("SELECT * FROM secret", undefined, t.as(t.keys.analyst));
  equal(
    denied.body.detail,
    "Forbidden: insufficient permissions for QUERY operation on table 'secret'",
  );
  deepEqual([denied.body.operation, denied.body.table], ["query", "secret"]);
  const editor = await t.query(select, undefined, t.as(t.keys.editor));
  equal(editor.body.detail, "Forbidden: insufficient permissions for raw SQL queries");
  deepEqual([editor.body.operation, editor.body.table], ["query", "*"]);
  // writes: admin yes, the analyst (no c on reports) no, and nothing changed
  equal((await t.query("INSERT INTO reports VALUES (3, 30)", [], t.as(t.keys.admin))).status, 200);
  const w = await t.query("INSERT INTO reports VALUES (4, 40)", [], t.as(t.keys.analyst));
  deepEqual([w.status, w.body.operation, w.body.table], [403, "create", "reports"]);
  const count = await t.query("SELECT count(*) AS n FROM reports", [], t.as(t.keys.analyst));
  deepEqual(count.body.data, [{ n: 3 }]);
});

Deno.test("the default roles and a custom role on the schema and document endpoints", async () => {
  await using t = await startAuthServer({ roles: { analyst: [["reports", "rq"]] } });
  await setUp(t);
  const names = async (role: string) => {
    const r = await t.request("/tables", { headers: t.as(t.keys[role]) });
    equal(r.status, 200, r.text);
    return r.body.tables.map((x: { name: string; schema: string }) =>
      x.schema === "main" ? x.name : `${x.schema}.${x.name}`
    ).sort();
  };
  const all = ["reports", "sales.orders", "secret", "secret_view"];
  deepEqual(await names("admin"), all);
  deepEqual(await names("editor"), all);
  deepEqual(await names("reader"), all);
  deepEqual(await names("analyst"), ["reports"]);
  const one = async (role: string, table: string) =>
    (await t.request(`/tables/${table}`, { headers: t.as(t.keys[role]) })).status;
  equal(await one("analyst", "reports"), 200);
  equal(await one("analyst", "secret"), 403);
  equal(await one("analyst", "no_such_table"), 403, "403 before 404");
  equal(await one("admin", "no_such_table"), 404);
  equal(await one("reader", "sales.orders"), 200);
  equal((await t.request("/tables")).status, 401);
  // the document is public, but a bad key is still refused
  equal((await t.request("/openapi.json")).status, 200);
  equal(
    (await t.request("/openapi.json", { headers: t.as("not-a-real-key-000000000000") })).status,
    401,
  );
  equal((await t.request("/openapi.json", { headers: t.as(t.keys.analyst) })).status, 200);
});

Deno.test("raw SQL is authorized per table: joins, subqueries, CTEs, views, table functions", async () => {
  await using t = await startAuthServer({
    roles: {
      analyst: [["reports", "rq"], ["secret_view", "rq"]],
      writer: [["reports", "cudq"], ["sales.orders", "rq"]],
    },
  });
  await setUp(t);
  const analyst = t.as(t.keys.analyst);
  const writer = t.as(t.keys.writer);
  const cases: [Record<string, string>, string, number][] = [
    [analyst, "SELECT r.id, (SELECT max(v) FROM reports) AS m FROM Reports r ORDER BY 1", 200],
    [analyst, "WITH x AS (SELECT * FROM reports) SELECT count(*) AS n FROM x", 200],
    [analyst, "WITH reports AS (SELECT * FROM secret) SELECT * FROM reports", 403],
    [analyst, "SELECT * FROM reports WHERE id IN (SELECT id FROM secret)", 403],
    [analyst, "SELECT * FROM reports r JOIN main.secret s ON r.id = s.id", 403],
    // a granted view reads its base table for the caller; the base table itself stays closed
    [analyst, "SELECT s FROM secret_view", 200],
    [analyst, "SELECT s FROM secret", 403],
    [analyst, "SELECT * FROM query_table('secret')", 403],
    [analyst, "SELECT * FROM query('SELECT * FROM secret')", 403],
    [analyst, "SELECT * FROM read_csv('/etc/passwd')", 403],
    [analyst, "SELECT * FROM duckdb_tables()", 403],
    [analyst, "SHOW TABLES", 403],
    [analyst, "SELECT * FROM range(3)", 200],
    [analyst, "DESCRIBE reports", 200],
    [analyst, "CREATE TABLE x (a INTEGER)", 403],
    [writer, "INSERT INTO reports SELECT id + 100, 1 FROM sales.orders", 200],
    [writer, "UPDATE reports SET v = v + 1 WHERE id = ?", 200],
    [writer, "DELETE FROM reports WHERE id IN (SELECT id FROM sales.orders)", 200],
    [writer, "UPDATE reports SET v = (SELECT count(*) FROM secret)", 403],
    [writer, "INSERT INTO sales.orders VALUES (9)", 403],
  ];
  for (const [headers, sql, status] of cases) {
    const params = sql.includes("?") ? [1] : undefined;
    const r = await t.query(sql, params, headers);
    equal(r.status, status, `${sql}: ${r.text}`);
    if (status === 403) equal(r.body.code, "forbidden");
  }
  // a script is checked as a whole before any of it runs
  const script = await t.query(
    "INSERT INTO reports VALUES (50, 5); SELECT * FROM secret",
    undefined,
    writer,
  );
  equal(script.status, 403);
  const n = await t.query(
    "SELECT count(*) AS n FROM reports WHERE id = 50",
    [],
    t.as(t.keys.admin),
  );
  deepEqual(n.body.data, [{ n: 0 }]);
});

Deno.test("raw SQL refuses before DuckDB looks at the catalog: no 404/403 oracle", async () => {
  await using t = await startAuthServer({
    roles: { analyst: [["reports", "rq"], ["planned", "rq"]] },
  });
  await setUp(t);
  const analyst = t.as(t.keys.analyst);
  const status = async (sql: string) => {
    const r = await t.query(sql, undefined, analyst);
    return `${r.status} ${r.body.code}`;
  };
  // a table that exists and one that does not look the same to a role without rights on them
  equal(await status("SELECT * FROM secret"), "403 forbidden");
  equal(await status("SELECT * FROM no_such_table"), "403 forbidden");
  equal(await status("SELECT * FROM read_csv('/nonexistent.csv')"), "403 forbidden");
  equal(await status("PRAGMA table_info('no_such_table')"), "403 forbidden");
  // a granted name that does not exist is a plain 404; a syntax error stays a 400
  equal(await status("SELECT * FROM planned"), "404 unknown_table");
  equal(await status("SELEC * FROM secret"), "400 syntax_error");
  // the same over GET
  const g = await t.request(sqlPath("SELECT * FROM no_such_table"), { headers: analyst });
  equal(g.status, 403);
});

Deno.test("a macro shadowing a built-in is caught once it exists (decision caches follow DDL)", async () => {
  await using t = await startAuthServer({ roles: { analyst: [["reports", "rq"]] } });
  await setUp(t);
  const sql = "SELECT upper('a') AS u FROM reports LIMIT 1";
  const first = await t.query(sql, undefined, t.as(t.keys.analyst));
  deepEqual(first.body.data, [{ u: "A" }]);
  const ddl = await t.query(
    "CREATE MACRO upper(x) AS (SELECT max(s) FROM secret)",
    undefined,
    t.as(t.keys.admin),
  );
  equal(ddl.status, 200, ddl.text);
  const after = await t.query(sql, undefined, t.as(t.keys.analyst));
  equal(after.status, 403, after.text);
  match(after.body.detail, /user-defined function upper\(\)/);
  // admins are not affected
  deepEqual((await t.query(sql, undefined, t.as(t.keys.admin))).body.data, [{ u: "top secret" }]);
});

Deno.test("expiry is checked on every request against the clock", async () => {
  await using t = await startAuthServer();
  const key = await t.mintKey({ role: "admin", expiresAt: Date.now() + 3000 });
  ok(await t.eventually(async () => (await t.query("SELECT 1", [], t.as(key))).status === 200));
  ok(
    await t.eventually(async () => (await t.query("SELECT 1", [], t.as(key))).status === 401, 5000),
  );
});

Deno.test("keys, roles and grants changed while running take effect within 2 s, losing no request", async () => {
  await using t = await startAuthServer({ roles: { analyst: [["reports", "rq"]] } });
  await setUp(t);
  // steady traffic with an unrelated key all along: never anything but 200
  let stop = false;
  const statuses: number[] = [];
  const traffic = (async () => {
    while (!stop) {
      statuses.push((await t.query("SELECT 1", [], t.as(t.keys.admin))).status);
    }
  })();
  const status = async (key: string, sql = "SELECT 1") =>
    (await t.query(sql, [], t.as(key))).status;

  const key = await t.mintKey({ role: "reader" });
  const added = await timed(async () =>
    (await t.request("/nowhere", { headers: t.as(key) })).status === 404
  );
  await removeKey(t.authPath, key);
  const revoked = await timed(async () =>
    (await t.request("/nowhere", { headers: t.as(key) })).status === 401
  );
  await setPermission(t.authPath, "analyst", "secret", parseOperations("rq"));
  const granted = await timed(async () =>
    await status(t.keys.analyst, "SELECT * FROM secret") === 200
  );
  await addRole(t.authPath, "late");
  const late = await t.mintKey({ role: "late" });
  const role = await timed(async () => await status(late) === 403);
  stop = true;
  await traffic;
  for (const ms of [added, revoked, granted, role]) ok(ms < 2000, `took ${ms} ms`);
  ok(statuses.length > 10);
  deepEqual([...new Set(statuses)], [200]);
});

Deno.test("failed authentications are rate limited per address with Retry-After", async () => {
  await using t = await startAuthServer({
    flags: { auth_failure_limit: "5", auth_failure_window: "1m" },
  });
  // Requests without a key do not count (a browser or probe is not guessing keys).
  for (let i = 0; i < 8; i++) equal((await t.query("SELECT 1", [], {})).status, 401);
  for (let i = 0; i < 5; i++) {
    equal((await t.query("SELECT 1", [], t.as(`wrong-key-${i}-xxxxxxxxxxxxxxxx`))).status, 401);
  }
  const limited = await t.query("SELECT 1", [], t.as("wrong-key-x-xxxxxxxxxxxxxxxxxx"));
  equal(limited.status, 429);
  equal(limited.body.code, "too_many_requests");
  const retry = Number(limited.headers.get("retry-after"));
  ok(retry > 0 && retry <= 60, `retry-after ${retry}`);
  // a right key from the same address is refused too (no oracle while limited)
  equal((await t.query("SELECT 1", [], t.as(t.keys.admin))).status, 429);
  // public endpoints stay open
  equal((await t.request("/health")).status, 200);
});

Deno.test("keys never appear in logs, only key ids", async () => {
  await using t = await startAuthServer({ roles: { analyst: [["reports", "rq"]] } });
  await setUp(t);
  const wrong = "dsk_zzzzzzzz_" + "B".repeat(43);
  await t.query("SELECT 1", [], t.as(t.keys.admin));
  await t.query("SELECT * FROM secret", [], t.as(t.keys.analyst));
  await t.query("SELECT 1", [], t.as(wrong));
  await t.query("SELECT 1", [], { authorization: `Bearer ${t.keys.reader}` });
  const logs = t.logs.join("\n");
  for (const key of [...Object.values(t.keys), wrong]) {
    ok(!logs.includes(key), "a key was logged");
    ok(!logs.includes(key.slice(13)), "a key's secret was logged");
    ok(!logs.includes(hashKey(key)), "a key digest was logged");
  }
  ok(logs.includes(`"key_id":"${keyId(t.keys.admin)}"`));
  ok(
    t.logs.some((l) => JSON.parse(l).event === "auth_failed" && JSON.parse(l).reason === "unknown"),
  );
});

Deno.test("user SQL cannot reach the auth store, even with an admin key", async () => {
  await using t = await startAuthServer();
  const admin = t.as(t.keys.admin);
  const path = t.authPath.replaceAll("'", "''");
  const attempts = [
    `ATTACH '${path}' AS auth (READ_ONLY)`,
    `ATTACH '${path}' AS auth`,
    `SELECT * FROM read_blob('${path}')`,
    `SELECT * FROM read_text('${path}')`,
    `SELECT * FROM read_csv('${path}')`,
    `SELECT * FROM '${path}'`,
    `COPY (SELECT 1) TO '${path}'`,
    `SELECT * FROM query_table('api_keys')`,
    `SELECT * FROM query('SELECT * FROM api_keys')`,
    "SELECT * FROM api_keys",
    `SELECT * FROM glob('${path}')`,
  ];
  for (const sql of attempts) {
    const r = await t.query(sql, undefined, admin);
    ok(r.status >= 400 && r.status < 500, `${sql}: ${r.status} ${r.text}`);
    ok(!r.text.includes(hashKey(t.keys.admin)));
  }
  const r = await t.query(`SELECT * FROM read_blob('${path}')`, undefined, admin);
  equal(r.body.code, "sandbox_violation");
});

Deno.test("a first start creates the auth store and announces one admin key, once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-zero-config-" });
  try {
    const path = `${dir}/data/auth.duckdb`;
    let key: string;
    {
      await using t = await startTestServer({ auth_enabled: "true", auth_database_path: path });
      equal(t.announcements.length, 1);
      const text = t.announcements[0];
      match(text, /will not be shown again/);
      key = /admin API key: (\S+)/.exec(text)![1];
      const r = await t.query("CREATE TABLE t AS SELECT 1 AS one", [], { "x-api-key": key });
      equal(r.status, 200);
      ok(!t.logs.join("\n").includes(key));
      ok(t.logs.some((l) => JSON.parse(l).event === "auth_database_created"));
    }
    await using t = await startTestServer({ auth_enabled: "true", auth_database_path: path });
    equal(t.announcements.length, 0);
    equal((await t.query("SELECT 1", [], { "x-api-key": key })).status, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("authorize() matches grants the way DuckDB resolves names (the CRUD contract)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-authorize-" });
  const config = await testConfig({
    auth_enabled: "true",
    auth_database_path: `${dir}/auth.duckdb`,
  });
  const auth = await createAuth(config, { announce: () => {} });
  try {
    await addRole(config.auth_database_path, "clerk");
    await setPermission(config.auth_database_path, "clerk", "reports", ["r"]);
    await setPermission(config.auth_database_path, "clerk", "Sales.Orders", ["c", "r"]);
    const auth2 = await createAuth(config);
    try {
      const clerk = { keyId: "test0000", role: "clerk" };
      for (const name of ["reports", "REPORTS", "main.reports", "Main.Reports", '"reports"']) {
        auth2.authorize(clerk, "r", name);
      }
      auth2.authorize(clerk, "c", "sales.orders");
      auth2.authorize(clerk, "r", "SALES.ORDERS");
      auth2.authorize(clerk, "r", "memory.main.reports");
      const refused: [Parameters<typeof auth2.authorize>[1], string][] = [
        ["c", "reports"],
        ["r", "orders"],
        ["r", "sales.reports"],
        ["r", "other.main.reports"],
        ["r", "odd name"],
        ["r", 'bad"name'],
        ["r", "*"],
      ];
      for (const [op, name] of refused) {
        throws(() => auth2.authorize(clerk, op, name), (err: ApiError) => {
          equal(err.status, 403);
          equal(err.code, "forbidden");
          equal(err.extra.table, name);
          match(err.message, new RegExp(`on table '${name.replace(/[.*"]/g, "\\$&")}'`));
          return true;
        }, `${op} ${name}`);
      }
      const admin = { keyId: "test0001", role: "admin" };
      for (const name of ["anything", 'bad"name', "a.b.c.d"]) auth2.authorize(admin, "d", name);
      throws(() => auth2.authorize({ keyId: "x", role: "gone" }, "r", "reports"), ApiError);
    } finally {
      await auth2.close();
    }
  } finally {
    await auth.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("catalogNameOf() names the main database as DuckDB does", async () => {
  equal(catalogNameOf(":memory:"), "memory");
  for (const file of ["shop.duckdb", "my.data.db", "main.duckdb", "system.db"]) {
    const dir = await Deno.makeTempDir({ prefix: "duckserve-catalog-" });
    try {
      await using t = await startTestServer({ database_path: `${dir}/${file}` });
      const r = await t.query("SELECT current_database() AS name");
      deepEqual(r.body.data, [{ name: catalogNameOf(`${dir}/${file}`) }], file);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
