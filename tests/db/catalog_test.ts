import { deepEqual, equal } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { openEngine } from "../../lib/db/engine.ts";
import { catalogCache, findTable, invalidateCatalog, readCatalog } from "../../lib/db/catalog.ts";
import { quoteIdentifier } from "../../lib/sql/mod.ts";
import { createGuard } from "../../lib/db/run.ts";

Deno.test("readCatalog() lists tables and views with columns, nullability, defaults and keys", async () => {
  const engine = await openEngine(
    await loadConfig({ env: {}, flags: { threads: "1", database_path: ":memory:" } }),
  );
  const lease = await engine.pool.acquire();
  try {
    await lease.connection.run(
      `CREATE SCHEMA s; CREATE TABLE s.o (id INT PRIMARY KEY, x VARCHAR NOT NULL DEFAULT 'a');
       CREATE TABLE "Users" (id BIGINT, name VARCHAR, PRIMARY KEY (id, name));
       CREATE VIEW v AS SELECT id FROM "Users"; CREATE TEMP TABLE tmp (a INT)`,
    );
    const tables = await readCatalog(lease, createGuard(5000));
    deepEqual(tables.map((t) => [t.schema, t.name, t.kind]), [
      ["main", "Users", "table"],
      ["main", "v", "view"],
      ["s", "o", "table"],
    ]);
    deepEqual(tables[2].columns, [
      { name: "id", type: "INTEGER", nullable: false, default: null, primaryKey: true },
      { name: "x", type: "VARCHAR", nullable: false, default: "'a'", primaryKey: false },
    ]);
    deepEqual(tables[0].primaryKey, ["id", "name"]);
    deepEqual(findTable(tables, "users")?.name, "Users");
    deepEqual(findTable(tables, "o")?.schema, "s");
    deepEqual(findTable(tables, "o", "main"), null);
    deepEqual(findTable(tables, "nope"), null);
    deepEqual(quoteIdentifier('a"b'), '"a""b"');
  } finally {
    lease.release();
    await engine.close();
  }
});

Deno.test("catalogCache() keeps the catalog until invalidated and never keeps a raced read", async () => {
  const engine = await openEngine(
    await loadConfig({ env: {}, flags: { threads: "1", database_path: ":memory:" } }),
  );
  const lease = await engine.pool.acquire();
  try {
    const cache = catalogCache(engine.pool);
    equal(catalogCache(engine.pool), cache);
    await lease.connection.run("CREATE TABLE a (x INT)");
    const first = await cache.tables(lease, createGuard(5000));
    await lease.connection.run("CREATE TABLE b (x INT)");
    equal(await cache.tables(lease, createGuard(5000)), first); // cached: b not seen yet
    invalidateCatalog(engine.pool);
    deepEqual((await cache.tables(lease, createGuard(5000))).map((t) => t.name), ["a", "b"]);
    // an invalidation while a read is under way: that read is used once but not kept
    const racing = cache.tables(lease, createGuard(5000));
    cache.invalidate();
    await racing;
    await lease.connection.run("CREATE TABLE c (x INT)");
    deepEqual((await cache.tables(lease, createGuard(5000))).map((t) => t.name), ["a", "b", "c"]);
  } finally {
    lease.release();
    await engine.close();
  }
});
