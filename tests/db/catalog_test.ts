import { deepEqual } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { openEngine } from "../../lib/db/engine.ts";
import { findTable, quoteIdentifier, readCatalog } from "../../lib/db/catalog.ts";
import { createGuard } from "../../lib/db/run.ts";

Deno.test("readCatalog() lists tables and views with columns, nullability, defaults and keys", async () => {
  const engine = await openEngine(await loadConfig({ env: {}, flags: { threads: "1" } }));
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
