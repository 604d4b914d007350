/**
 * Several databases (issue 18): `databases` attached beside the main one, the same table name in
 * two of them, grants on one but not the other through every route, read-only attach, the
 * start-up error for a file another process holds.
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { withDatabaseFile } from "../lib/db/file.ts";
import { openEngine } from "../lib/db/engine.ts";
import { readCatalog } from "../lib/db/catalog.ts";
import { createGuard } from "../lib/db/run.ts";
import { describeConfig, loadConfig } from "../lib/config.ts";
import { type AuthTestServer, sqlPath, startAuthServer, startTestServer } from "./_helpers.ts";
import { api } from "./_api.ts";
import { feedUrl, readAll } from "./_follow.ts";

/** A database file at `path` with `orders(id, note)` holding `rows`. */
async function seedFile(path: string, rows: [number, string][]): Promise<void> {
  await withDatabaseFile(path, { readOnly: false }, async (db) => {
    await db.run("CREATE TABLE orders (id INTEGER PRIMARY KEY, note VARCHAR)");
    for (const [id, note] of rows) await db.run("INSERT INTO orders VALUES (?, ?)", [id, note]);
  });
}

async function withDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-dbs-test-" });
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** An auth server whose main database and `sales` both hold `orders`; `archive` is read-only. */
async function startTwo(dir: string): Promise<AuthTestServer> {
  await seedFile(`${dir}/sales.duckdb`, [[1, "sale one"], [2, "sale two"]]);
  await seedFile(`${dir}/archive.duckdb`, [[9, "old"]]);
  const s = await startAuthServer({
    roles: {
      main_only: [["orders", "crudq"]],
      sales_only: [["sales.*", "crudq"]],
      archive_reader: [["archive.orders", "rq"]],
    },
    flags: {
      databases: JSON.stringify({
        sales: { path: `${dir}/sales.duckdb` },
        archive: { path: `${dir}/archive.duckdb`, access_mode: "read_only" },
      }),
    },
  });
  const admin = s.as(s.keys.admin);
  const made = await s.query(
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, note VARCHAR); " +
      "INSERT INTO orders VALUES (100, 'main')",
    undefined,
    admin,
  );
  equal(made.status, 200, made.text);
  return s;
}

Deno.test("databases: the same table name in two databases, addressed as {db}.{table}", async () => {
  await withDir(async (dir) => {
    await using s = await startTwo(dir);
    const admin = s.as(s.keys.admin);
    const main = await s.request("/api/orders", { headers: admin });
    equal(main.status, 200, main.text);
    deepEqual(main.body.data.map((r: { id: number }) => r.id), [100]);
    const sales = await s.request("/api/sales.orders?sort=id", { headers: admin });
    equal(sales.status, 200, sales.text);
    deepEqual(sales.body.data.map((r: { note: string }) => r.note), ["sale one", "sale two"]);
    const three = await s.request("/api/sales.main.orders?filter=id:eq:2", { headers: admin });
    deepEqual(three.body.data, [{ id: 2, note: "sale two" }]);
    // Writes go to the named database only.
    const insert = await api(s).post("sales.orders", { id: 3, note: "sale three" }, admin);
    equal(insert.status, 201, insert.text);
    const counts = await s.query(
      "SELECT (SELECT count(*) FROM orders)::INT AS m, (SELECT count(*) FROM sales.orders)::INT AS s",
      undefined,
      admin,
    );
    deepEqual(counts.body.data, [{ m: 1, s: 3 }]);
    // ETags differ between the two tables of one name.
    const a = await s.request("/api/orders", { headers: admin });
    const b = await s.request("/api/sales.orders", { headers: admin });
    ok(a.headers.get("etag") && b.headers.get("etag"));
    ok(a.headers.get("etag") !== b.headers.get("etag"));
    const stale = await s.request("/api/sales.orders", {
      headers: { ...admin, "if-none-match": a.headers.get("etag")! },
    });
    equal(stale.status, 200);
    // /tables names the database.
    const tables = await s.request("/tables", { headers: admin });
    const names = tables.body.tables.map((t: { database?: string; schema: string; name: string }) =>
      [t.database ?? "", t.schema, t.name].join("/")
    );
    deepEqual(names, ["/main/orders", "archive/main/orders", "sales/main/orders"]);
    const one = await s.request("/tables/sales.orders", { headers: admin });
    equal(one.status, 200, one.text);
    equal(one.body.database, "sales");
  });
});

Deno.test("databases: grants on one database but not the other, through every route", async () => {
  await withDir(async (dir) => {
    await using s = await startTwo(dir);
    const mainOnly = s.as(s.keys.main_only);
    const salesOnly = s.as(s.keys.sales_only);
    const expect = async (reply: Promise<{ status: number; text: string }>, status: number) => {
      const r = await reply;
      equal(r.status, status, r.text);
      return r;
    };
    // CRUD
    await expect(s.request("/api/orders", { headers: mainOnly }), 200);
    await expect(s.request("/api/sales.orders", { headers: mainOnly }), 403);
    await expect(s.request("/api/sales.main.orders", { headers: mainOnly }), 403);
    await expect(s.request("/api/sales.orders", { headers: salesOnly }), 200);
    await expect(s.request("/api/orders", { headers: salesOnly }), 403);
    const del = s.request("/api/orders?where=id:eq:100", { method: "DELETE", headers: salesOnly });
    await expect(del, 403);
    // Raw SQL (POST) and GET query
    await expect(s.query("SELECT * FROM orders", undefined, mainOnly), 200);
    await expect(s.query("SELECT * FROM sales.orders", undefined, mainOnly), 403);
    await expect(s.query("SELECT * FROM sales.main.orders", undefined, mainOnly), 403);
    await expect(s.query("SELECT * FROM sales.orders", undefined, salesOnly), 200);
    await expect(s.query("SELECT * FROM orders", undefined, salesOnly), 403);
    await expect(s.query("INSERT INTO sales.orders VALUES (7, 'x')", undefined, mainOnly), 403);
    await expect(s.query("INSERT INTO sales.orders VALUES (7, 'x')", undefined, salesOnly), 200);
    await expect(s.request(sqlPath("SELECT * FROM sales.orders"), { headers: mainOnly }), 403);
    await expect(s.request(sqlPath("SELECT * FROM sales.orders"), { headers: salesOnly }), 200);
    await expect(s.request(sqlPath("SELECT * FROM orders"), { headers: salesOnly }), 403);
    // /tables and OpenAPI list only what the key may read.
    const listed = await expect(s.request("/tables", { headers: salesOnly }), 200);
    deepEqual(
      (listed as unknown as { body: { tables: { database?: string }[] } }).body.tables.map((t) =>
        t.database ?? "main"
      ),
      ["sales"],
    );
    await expect(s.request("/tables/orders", { headers: salesOnly }), 403);
    const doc = await s.request("/openapi.json", { headers: salesOnly });
    equal(doc.status, 200, doc.text);
    ok(doc.body.paths["/api/sales.orders"], Object.keys(doc.body.paths).join(" "));
    ok(!doc.body.paths["/api/orders"]);
    const docMain = await s.request("/openapi.json", { headers: mainOnly });
    ok(docMain.body.paths["/api/orders"]);
    ok(!docMain.body.paths["/api/sales.orders"]);
    // A grant on archive.orders (written without schema) covers archive.main.orders in SQL.
    const reader = s.as(s.keys.archive_reader);
    await expect(s.query("SELECT * FROM archive.main.orders", undefined, reader), 200);
    await expect(s.request("/api/archive.orders", { headers: reader }), 200);
    await expect(s.request("/api/sales.orders", { headers: reader }), 403);
  });
});

Deno.test("databases: a read-only database refuses writes with 403 read_only", async () => {
  await withDir(async (dir) => {
    await using s = await startTwo(dir);
    const admin = s.as(s.keys.admin);
    const rows = await s.request("/api/archive.orders", { headers: admin });
    deepEqual(rows.body.data, [{ id: 9, note: "old" }]);
    const insert = await api(s).post("archive.orders", { id: 10, note: "new" }, admin);
    equal(insert.status, 403, insert.text);
    equal(insert.body.code, "read_only");
    const sql = await s.query("DELETE FROM archive.orders", undefined, admin);
    equal(sql.status, 403, sql.text);
    equal(sql.body.code, "read_only");
    // The main database still takes writes.
    const ok2 = await s.query("INSERT INTO orders VALUES (101, 'x')", undefined, admin);
    equal(ok2.status, 200, ok2.text);
  });
});

Deno.test("databases: user SQL cannot ATTACH or DETACH", async () => {
  await using s = await startTestServer({ databases: '{"scratch": {"path": ":memory:"}}' });
  for (
    const sql of [
      "DETACH scratch",
      "ATTACH ':memory:' AS other",
      // DuckLake's metadata catalogs are DuckLake's alone (admin included).
      'SELECT * FROM "__DuckLake_Metadata_lake".main.ducklake_snapshot',
    ]
  ) {
    const r = await s.query(sql);
    equal(r.status, 403, r.text);
    equal(r.body.code, "sandbox_violation");
  }
  const t = api(s);
  await t.sql("CREATE TABLE scratch.t (x INTEGER); INSERT INTO scratch.t VALUES (1)");
  equal(await t.count("scratch.t"), 1);
  const rows = await t.get("scratch.t");
  deepEqual(rows.body.data, [{ x: 1 }]);
});

Deno.test("databases: config entries are checked, and a file held by another process is explained", async () => {
  const load = (databases: unknown) =>
    loadConfig({
      env: {},
      flags: { database_path: ":memory:", databases: JSON.stringify(databases) },
    });
  await load({ sales: { path: "sales.duckdb" } });
  for (
    const [bad, pattern] of [
      [{ main: { path: "x.duckdb" } }, /reserved/],
      [{ "bad-name": { path: "x.duckdb" } }, /letters, digits/],
      [{ a: { path: "x.duckdb", access_mode: "sometimes" } }, /access_mode/],
      [{ a: { path: ":memory:", access_mode: "read_only" } }, /in-memory/],
      [{ a: { path: "x.duckdb", colour: 1 } }, /unknown key "colour"/],
      [{ a: { path: "/x/a.duckdb" }, b: { path: "/x/a.duckdb" } }, /attaches it already/],
      [{ a: { path: "x", rate_limit: "fast" } }, /rate_limit/],
    ] as const
  ) {
    let error = "";
    await load(bad).catch((e) => error = e.message);
    match(error, pattern, JSON.stringify(bad));
  }
  let env = "";
  await loadConfig({ env: { DUCKDB_DATABASES: "{not json" }, flags: {} }).catch((e) =>
    env = e.message
  );
  match(env, /DUCKDB_DATABASES.*JSON object/);
  await withDir(async (dir) => {
    await seedFile(`${dir}/held.duckdb`, [[1, "a"]]);
    // Another process holds the file read-write.
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DuckDBInstance } from "@duckdb/node-api";
         const i = await DuckDBInstance.create(${JSON.stringify(`${dir}/held.duckdb`)});
         const c = await i.connect(); await c.run("SELECT 1");
         console.log("held"); await new Promise((r) => setTimeout(r, 20000));`,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = holder.stdout.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      match(first, /held/);
      reader.releaseLock();
      let error = "";
      await startTestServer({
        databases: JSON.stringify({
          held: { path: `${dir}/held.duckdb`, access_mode: "read_only" },
        }),
      }).then((s) => s[Symbol.asyncDispose](), (e) => error = e.message);
      match(error, /databases\.held: .*in use by another process.*not even read_only/);
    } finally {
      holder.kill();
      await holder.stdout.cancel().catch(() => {});
      await holder.status;
    }
  });
});

Deno.test("databases: change feeds and streams SQL name the database", async () => {
  await withDir(async (dir) => {
    await using s = await startTwo(dir);
    const admin = s.as(s.keys.admin);
    const insert = await api(s).post("sales.orders", { id: 5, note: "rest" }, admin);
    equal(insert.status, 201, insert.text);
    const sql = await s.query(
      "UPDATE sales.main.orders SET note = 'sql' WHERE id = 5",
      undefined,
      admin,
    );
    equal(sql.status, 200, sql.text);
    const main = await s.query("INSERT INTO orders VALUES (6, 'main')", undefined, admin);
    equal(main.status, 200, main.text);
    const { events } = await readAll(feedUrl(s.url, "sales.orders"), admin);
    deepEqual(events.map((e) => [e.op, e.table]), [["insert", "sales.orders"], [
      "sql",
      "sales.orders",
    ]]);
    const mainFeed = await readAll(feedUrl(s.url, "orders"), admin);
    deepEqual(
      mainFeed.events.filter((e) => e.op !== "sql" || e.statements[0] !== "CREATE")
        .map((e) => [e.op, e.table]).slice(-1),
      [["sql", "orders"]],
    );
    // Reading a feed needs r on its table: the key of the main database may not read sales'.
    const denied = await fetch(`${feedUrl(s.url, "sales.orders")}?offset=-1`, {
      headers: s.as(s.keys.main_only),
    });
    await denied.body?.cancel();
    equal(denied.status, 403);
    await readAll(feedUrl(s.url, "sales.orders"), s.as(s.keys.sales_only));
    // read_stream() in SQL checks the same grant.
    const viaSql = "SELECT count(*)::INT AS n FROM read_stream('_changes/sales.orders')";
    const no = await s.query(viaSql, undefined, s.as(s.keys.main_only));
    equal(no.status, 403, no.text);
    const yes = await s.query(viaSql, undefined, s.as(s.keys.sales_only));
    equal(yes.status, 200, yes.text);
    deepEqual(yes.body.data, [{ n: 2 }]);
  });
});

Deno.test("databases: POST /admin/databases attaches and detaches while serving", async () => {
  await withDir(async (dir) => {
    const open = `${dir}/open`;
    await Deno.mkdir(open);
    await seedFile(`${open}/live.duckdb`, [[1, "live"]]);
    await seedFile(`${dir}/outside.duckdb`, [[1, "outside"]]);
    await using s = await startAuthServer({
      roles: { live_reader: [["live.orders", "r"]] },
      flags: {
        allowed_directories: open,
        databases: JSON.stringify({ boot: { path: ":memory:" } }),
      },
    });
    const admin = { ...s.as(s.keys.admin), "content-type": "application/json" };
    const post = (body: unknown, headers = admin) =>
      s.request("/admin/databases", { method: "POST", headers, body: JSON.stringify(body) });
    // Admin only.
    const denied = await post({ attach: { x: { path: ":memory:" } } }, {
      ...s.as(s.keys.editor),
      "content-type": "application/json",
    });
    equal(denied.status, 403, denied.text);
    // Checked in full first: nothing is attached when one part is wrong.
    const bad = await post({
      attach: { fine: { path: ":memory:" }, main: { path: ":memory:" } },
      detach: ["nope"],
    });
    equal(bad.status, 400, bad.text);
    equal(bad.body.code, "invalid_config");
    equal(bad.body.problems.length, 2, bad.text);
    const listed = await s.request("/admin/databases", { headers: admin });
    deepEqual(Object.keys(listed.body.databases), ["boot"]);
    // A file inside allowed_directories attaches live; its tables are served at once.
    const reader = s.as(s.keys.live_reader);
    equal((await s.request("/api/live.orders", { headers: reader })).status, 404);
    const attached = await post({ attach: { live: { path: `${open}/live.duckdb` } } });
    equal(attached.status, 200, attached.text);
    deepEqual(attached.body.attached, ["live"]);
    deepEqual(Object.keys(attached.body.databases).sort(), ["boot", "live"]);
    const rows = await s.request("/api/live.orders", { headers: reader });
    equal(rows.status, 200, rows.text);
    deepEqual(rows.body.data, [{ id: 1, note: "live" }]);
    // Attach strings and options (another engine's own file access) only at start.
    const lake = await post({ attach: { lake: { path: "ducklake:x.ducklake" } } });
    equal(lake.status, 400, lake.text);
    const typed = await post({
      attach: { typed: { path: `${open}/t.db`, options: { TYPE: "sqlite" } } },
    });
    equal(typed.status, 400, typed.text);
    match(typed.body.problems[0], /only files and :memory:/);
    // A file outside the sandbox is refused with a clear 409, and nothing changes.
    const outside = await post({ attach: { outside: { path: `${dir}/outside.duckdb` } } });
    equal(outside.status, 409, outside.text);
    equal(outside.body.code, "attach_failed");
    match(outside.body.detail, /outside the sandbox/);
    // Detach: the tables are gone (and no cached answer survives).
    const detached = await post({ detach: ["live", "boot"] });
    equal(detached.status, 200, detached.text);
    deepEqual(detached.body.databases, {});
    const gone = await s.request("/api/live.orders", { headers: reader });
    equal(gone.status, 404, gone.text);
    // The file was checkpointed and released: another process may open it now.
    await withDatabaseFile(`${open}/live.duckdb`, { readOnly: true }, async (db) => {
      equal((await db.all("SELECT count(*)::INT AS n FROM orders"))[0].n, 1);
    });
  });
});

Deno.test("databases: attach strings are passed through; without their extension start-up says so", async () => {
  let error = "";
  await startTestServer({
    databases: JSON.stringify({
      lake: { path: "ducklake:/tmp/none.ducklake", options: { DATA_PATH: "/tmp/none" } },
    }),
  }).then((s) => s[Symbol.asyncDispose](), (e) => error = e.message);
  match(
    error,
    /databases\.lake: attaching ducklake:\/tmp\/none\.ducklake needs a DuckDB extension/,
  );
  // Secret-looking options and attach-string parameters are never printed.
  const config = await loadConfig({
    env: {},
    flags: {
      database_path: ":memory:",
      databases: JSON.stringify({
        md: {
          path: "md:shop?motherduck_token=abc123&x=1",
          options: { API_KEY: "s3cr3t", TYPE: "x" },
        },
      }),
    },
  });
  const shown = JSON.stringify(describeConfig(config));
  ok(!shown.includes("abc123") && !shown.includes("s3cr3t"), shown);
  match(shown, /motherduck_token=REDACTED&x=1/);
  match(shown, /"TYPE":"x"/);
});

Deno.test("databases: bulk JSON and CSV inserts into an attached database", async () => {
  await using s = await startTestServer({ databases: '{"sales": ":memory:"}' });
  const t = api(s);
  await t.sql("CREATE TABLE sales.items (id INTEGER PRIMARY KEY, name VARCHAR)");
  const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `n${i}` }));
  const bulk = await t.post("sales.items", rows);
  equal(bulk.status, 201, bulk.text);
  const csv = await t.send("POST", "sales.items", "id,name\n5000,x\n5001,y\n", {
    "content-type": "text/csv",
  });
  equal(csv.status, 201, csv.text);
  equal(await t.count("sales.items"), 3002);
  const updated = await t.put("sales.items", { where: { id: 5000 }, set: { name: "z" } });
  equal(updated.status, 200, updated.text);
  const deleted = await t.del("sales.items?where=id:gte:5000");
  equal(deleted.status, 200, deleted.text);
  equal(await t.count("sales.items"), 3000);
});

Deno.test("databases: the catalog lists attached databases but never DuckLake metadata catalogs", async () => {
  const config = await loadConfig({
    env: {},
    flags: { database_path: ":memory:", databases: '{"sales": ":memory:"}' },
  });
  const engine = await openEngine(config);
  try {
    const spec = { path: ":memory:", access_mode: "read_write" as const, options: {}, hosts: [] };
    await engine.attach("__ducklake_metadata_lake", { ...spec, rate_limit: null });
    const lease = await engine.pool.acquire();
    try {
      await lease.connection.run("CREATE TABLE sales.t (x INTEGER)");
      await lease.connection.run('CREATE TABLE "__ducklake_metadata_lake".main.snap (x INTEGER)');
      await lease.connection.run("CREATE TABLE main_t (x INTEGER)");
      const tables = await readCatalog(lease, createGuard(5000));
      deepEqual(tables.map((t) => [t.database, t.name]), [[null, "main_t"], ["sales", "t"]]);
    } finally {
      lease.release(true);
    }
  } finally {
    await engine.close();
  }
});
