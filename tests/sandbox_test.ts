import { deepEqual, equal, ok } from "node:assert/strict";
import { sqlPath, startTestServer } from "./_helpers.ts";

Deno.test("user SQL cannot reach files, extensions or settings outside the sandbox", async () => {
  const secret = await Deno.makeTempFile({ suffix: ".duckdb" });
  await using t = await startTestServer();
  const escapes = [
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/hosts')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    `ATTACH '${secret}' AS stolen`,
    "ATTACH ':memory:' AS other",
    `SELECT * FROM read_blob('${secret}')`,
    "COPY (SELECT 1) TO '/tmp/duckserve-escape.csv'",
    "EXPORT DATABASE '/tmp/duckserve-export'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "SET memory_limit = '1GB'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET allowed_directories = ['/']",
    "RESET enable_external_access",
    "SELECT * FROM query_table('x')",
  ];
  for (const sql of escapes) {
    const r = await t.query(sql);
    ok(r.status >= 400 && r.status < 500, `${sql} -> ${r.status} ${r.text}`);
    ok(r.status !== 200, sql);
  }
  // the specific classification for file and setting access
  for (const sql of [escapes[0], escapes[4], escapes[7], escapes[11]]) {
    const r = await t.query(sql);
    deepEqual([r.status, r.body.code], [403, "sandbox_violation"], `${sql}: ${r.text}`);
  }
  let exists = true;
  try {
    await Deno.stat("/tmp/duckserve-escape.csv");
  } catch {
    exists = false;
  }
  equal(exists, false);
  await Deno.remove(secret);
});

Deno.test("pragmas that change settings are refused; informational ones run", async () => {
  await using t = await startTestServer();
  await t.query("CREATE TABLE p (a INT)");
  for (
    const sql of [
      "PRAGMA enable_object_cache",
      "PRAGMA disable_checkpoint_on_shutdown",
      "pragma /* hidden */ Enable_Verification",
      'PRAGMA "disable_optimizer"',
      "PRAGMA version; PRAGMA enable_profiling",
    ]
  ) {
    const r = await t.query(sql);
    deepEqual([r.status, r.body.code], [403, "sandbox_violation"], `${sql}: ${r.text}`);
  }
  // The setting really is unchanged (DuckDB would report true after the first pragma).
  const setting = await t.query(
    "SELECT value FROM duckdb_settings() WHERE name = 'enable_object_cache'",
  );
  deepEqual(setting.body.data, [{ value: "false" }]);
  const info = await t.query("PRAGMA table_info('p')");
  equal(info.status, 200, info.text);
  deepEqual(info.body.data.map((c: { name: string }) => c.name), ["a"]);
  equal((await t.query("PRAGMA version")).status, 200);
  // A secret needs storage the sandbox closes: a 4xx every time, never a 500.
  for (let i = 0; i < 2; i++) {
    const r = await t.query("CREATE SECRET s (TYPE http)");
    ok(r.status >= 400 && r.status < 500, `CREATE SECRET -> ${r.status} ${r.text}`);
  }
});

Deno.test("allowed_directories opens exactly the configured directories", async () => {
  const open = await Deno.makeTempDir();
  const closed = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${open}/in.csv`, "a,b\n1,2\n");
    await Deno.writeTextFile(`${closed}/out.csv`, "a,b\n1,2\n");
    await using t = await startTestServer({ allowed_directories: open });
    let r = await t.query(`SELECT * FROM read_csv('${open}/in.csv')`);
    deepEqual(r.body.data, [{ a: 1, b: 2 }]);
    r = await t.query(`COPY (SELECT 42 AS x) TO '${open}/written.csv'`);
    equal(r.status, 200, r.text);
    equal((await Deno.readTextFile(`${open}/written.csv`)).trim(), "x\n42");
    r = await t.query(`SELECT * FROM read_csv('${closed}/out.csv')`);
    deepEqual([r.status, r.body.code], [403, "sandbox_violation"]);
    r = await t.query(`SELECT * FROM read_csv('${open}/../${closed.split("/").pop()}/out.csv')`);
    deepEqual([r.status, r.body.code], [403, "sandbox_violation"]);
    // EXPORT and IMPORT DATABASE work inside it (DuckDB runs IMPORT as its own BEGIN … COMMIT
    // script, which runs in the request's transaction).
    await t.query("CREATE TABLE kept AS SELECT i FROM range(5) t(i); CREATE VIEW v AS FROM kept");
    r = await t.query(`EXPORT DATABASE '${open}/export'`);
    equal(r.status, 200, r.text);
    await t.query("DROP VIEW v; DROP TABLE kept");
    r = await t.query(`IMPORT DATABASE '${open}/export'`);
    equal(r.status, 200, r.text);
    deepEqual((await t.query("SELECT count(*) AS n FROM v")).body.data, [{ n: 5 }]);
    r = await t.query(`EXPORT DATABASE '${closed}/export'`);
    deepEqual([r.status, r.body.code], [403, "sandbox_violation"]);
  } finally {
    await Deno.remove(open, { recursive: true });
    await Deno.remove(closed, { recursive: true });
  }
});

Deno.test("a file outside allowed_directories is a 403 whose detail names allowed_directories", async () => {
  const open = await Deno.makeTempDir();
  try {
    await using t = await startTestServer({ allowed_directories: open });
    const outside = [
      "SELECT * FROM read_csv('/etc/hosts')",
      "SELECT * FROM read_parquet('/etc/x.parquet')",
      "SELECT * FROM read_json('/etc/*.json')",
      `SELECT * FROM read_csv(['/etc/hosts', '${open}/in.csv'])`,
      `SELECT * FROM read_blob('${open}/../x')`,
      "COPY (SELECT 1) TO '/tmp/duckserve-outside.csv'",
      "CREATE TABLE z (a INTEGER); COPY z FROM '/etc/hosts'",
      "EXPORT DATABASE '/tmp/duckserve-outside'",
    ];
    for (const sql of outside) {
      const r = await t.query(sql);
      deepEqual([r.status, r.body.code], [403, "sandbox_violation"], `${sql}: ${r.text}`);
      ok(r.body.detail.includes("allowed_directories"), `${sql}: ${r.body.detail}`);
      ok(r.body.detail.startsWith("Permission Error: Cannot access"), r.body.detail);
    }
    const get = await t.request(sqlPath("SELECT * FROM read_csv('/etc/hosts')"));
    deepEqual([get.status, get.body.code], [403, "sandbox_violation"]);
    ok(get.body.detail.includes("allowed_directories"), get.body.detail);
    // Not for what no directory setting opens: remote files, extensions, settings.
    for (
      const sql of [
        "SELECT * FROM 'https://example.com/x.csv'",
        "INSTALL httpfs",
        "SET threads = 1",
      ]
    ) {
      const r = await t.query(sql);
      deepEqual([r.status, r.body.code], [403, "sandbox_violation"], `${sql}: ${r.text}`);
      equal(r.body.detail.includes("allowed_directories"), false, `${sql}: ${r.body.detail}`);
    }
  } finally {
    await Deno.remove(open, { recursive: true });
  }
});
