import { deepEqual, equal, ok } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { openEngine } from "../../lib/db/engine.ts";
import {
  readSingleStatement,
  readTree,
  type SerializedSql,
  type TreeFindings,
} from "../../lib/sql/parse_tree.ts";

/** DuckDB's own parse trees of each SQL text (`json_serialize_sql`), from a real engine. */
async function serializeAll(texts: string[]): Promise<SerializedSql[]> {
  const engine = await openEngine(
    await loadConfig({ env: {}, flags: { threads: "1", database_path: ":memory:" } }),
  );
  const lease = await engine.pool.acquire();
  try {
    const trees: SerializedSql[] = [];
    for (const sql of texts) {
      const statement = await lease.prepare(
        "SELECT json_serialize_sql($1::VARCHAR, skip_null := true, skip_empty := true)",
      );
      statement.bindVarchar(1, sql);
      const reader = await statement.runAndReadAll();
      trees.push(JSON.parse(String(reader.getRows()[0][0])));
    }
    return trees;
  } finally {
    lease.release();
    await engine.close();
  }
}

const names = (found: TreeFindings) => ({
  tables: found.tables.map((t) => t.join(".")),
  tableFunctions: found.tableFunctions.map((f) => f.name),
  functions: found.functions.map((f) => [f.catalog, f.schema, f.name].filter(Boolean).join(".")),
});

Deno.test("readTree() lists tables, table functions and functions; CTE names are not tables", async () => {
  const [joined, cte, recursive, shown, listing] = await serializeAll([
    "SELECT Lower(o.name), count(*) FROM Sales.Orders o JOIN memory.main.items i USING (id) " +
    "WHERE i.x IN (SELECT y FROM range(3) r(y)) GROUP BY ALL",
    "WITH a AS (SELECT * FROM base), b AS (SELECT * FROM a) SELECT * FROM b, a, other",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "DESCRIBE reports",
    "SHOW TABLES",
  ]);
  // function names are case-folded (`Lower` is `lower`); table names are kept as written
  deepEqual(names(readTree(joined)), {
    tables: ["Sales.Orders", "memory.main.items"],
    tableFunctions: ["range"],
    functions: ["lower", "count_star"],
  });
  deepEqual(readTree(cte).tables.map((t) => t.join(".")), ["base", "other"]);
  deepEqual(readTree(recursive).tables, []);
  deepEqual(readTree(recursive).unknown, []);
  deepEqual(readTree(shown).tables.map((t) => t.join(".")), ["reports"]);
  equal(readTree(shown).catalogListing, false);
  equal(readTree(listing).catalogListing, true);
});

Deno.test("readTree() reports what it does not know; readSingleStatement() wants one statement", async () => {
  const [one, two, broken] = await serializeAll(["SELECT 1", "SELECT 1; SELECT 2", "SELEC 1"]);
  ok(readSingleStatement(one) !== null);
  equal(readSingleStatement(two), null);
  equal(readSingleStatement(broken), null);
  equal(broken.error, true);
  equal(broken.error_type, "parser");
  const odd = readTree({ statements: [{ node: { type: "SOME_NEW_NODE" } }, { class: "NEW" }] });
  deepEqual(odd.unknown, ["SOME_NEW_NODE", "class NEW"]);
  deepEqual(readTree({}).unknown, ["statements"]);
});
