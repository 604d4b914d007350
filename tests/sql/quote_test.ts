import { equal } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { openEngine } from "../../lib/db/engine.ts";
import { quoteIdentifier, sqlString } from "../../lib/sql/quote.ts";

Deno.test("quoteIdentifier() and sqlString() double their quote character", () => {
  equal(quoteIdentifier("plain"), '"plain"');
  equal(quoteIdentifier('a"b'), '"a""b"');
  equal(quoteIdentifier(""), '""');
  equal(sqlString("it's"), "'it''s'");
  equal(sqlString("''"), "''''''");
  equal(sqlString(""), "''");
});

Deno.test("quoted text round-trips through DuckDB unchanged", async () => {
  const engine = await openEngine(
    await loadConfig({ env: {}, flags: { threads: "1", database_path: ":memory:" } }),
  );
  const lease = await engine.pool.acquire();
  try {
    for (const text of ["plain", 'a"b', "it's", "semi;colon -- not a comment", "Ünï\\code"]) {
      const statement = await lease.prepare(
        `SELECT ${sqlString(text)} AS ${quoteIdentifier(text)}`,
      );
      const reader = await statement.runAndReadAll();
      equal(reader.columnName(0), text);
      equal(reader.getRows()[0][0], text);
    }
  } finally {
    lease.release();
    await engine.close();
  }
});
