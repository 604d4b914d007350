import { equal } from "node:assert/strict";
import { openEngine } from "../../lib/db/engine.ts";
import { invalidateCatalog } from "../../lib/db/catalog.ts";
import { acquire, createGuard } from "../../lib/db/run.ts";
import type { Lease } from "../../lib/db/pool.ts";
import { bumpDataVersion } from "../../lib/db/versions.ts";
import { isCacheableSelect } from "../../lib/query/cacheable.ts";
import { testConfig } from "../_helpers.ts";

/** Runs DDL as the server does: the catalog is dropped and the data version moves on. */
async function ddl(lease: Lease, pool: object, sql: string): Promise<void> {
  await lease.connection.run(sql);
  invalidateCatalog(pool);
  bumpDataVersion(pool);
}

Deno.test("isCacheableSelect() keeps only answers that depend on base tables alone", async () => {
  const engine = await openEngine(await testConfig());
  const guard = createGuard(10_000);
  const lease = await acquire(engine.pool, guard);
  try {
    await lease.connection.run(
      "CREATE TABLE b (id INTEGER, v VARCHAR); CREATE VIEW bv AS SELECT * FROM b; " +
        "CREATE SEQUENCE s; CREATE MACRO twice(x) AS x * 2; CREATE SCHEMA other; " +
        "CREATE TABLE other.t (x INTEGER)",
    );
    const cacheable = (sql: string) => isCacheableSelect(lease, guard, engine.pool, sql);
    const yes = [
      "SELECT 1 AS one",
      "SELECT upper(v), count(*) OVER () FROM b WHERE id >= ? ORDER BY id",
      "WITH c AS (SELECT id FROM b) SELECT * FROM c",
      "SELECT x FROM other.t",
      "SELECT (SELECT max(id) FROM b) AS m",
    ];
    const no = [
      "SELECT random() AS r",
      "SELECT now()",
      "SELECT current_date",
      "SELECT CURRENT_TIMESTAMP",
      "SELECT current_user",
      "SELECT nextval('s')",
      "SELECT * FROM range(3)",
      "SELECT * FROM bv",
      "SELECT * FROM b USING SAMPLE 10",
      "SELECT twice(id) FROM b",
      "SELECT (SELECT max(random()) FROM b)",
      "SELECT * FROM memory.main.b", // a catalog name: possibly another database
      "SELECT 1; SELECT 2", // not one statement
      "SELECT nope FROM nowhere", // unknown table
      "this is not SQL",
    ];
    for (const sql of yes) equal(await cacheable(sql), true, sql);
    for (const sql of no) equal(await cacheable(sql), false, sql);

    // A table replaced by a view stops being cacheable: after DDL the server drops the catalog
    // and moves the data version on, and decisions are remade.
    await ddl(lease, engine.pool, "CREATE TABLE swap AS SELECT 1 AS x");
    equal(await cacheable("SELECT * FROM swap"), true);
    await ddl(lease, engine.pool, "DROP TABLE swap; CREATE VIEW swap AS SELECT 1 AS x");
    equal(await cacheable("SELECT * FROM swap"), false);
    // A macro that shadows a consistent function is caught the same way.
    equal(await cacheable("SELECT abs(id) FROM b"), true);
    await ddl(lease, engine.pool, "CREATE MACRO abs(x) AS random()");
    equal(await cacheable("SELECT abs(id) FROM b"), false);
  } finally {
    lease.release(true);
    await engine.close();
  }
});
