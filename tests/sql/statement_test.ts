import { equal } from "node:assert/strict";
import { explainedStatement, leadingKeyword } from "../../lib/sql/statement.ts";

Deno.test("explainedStatement() and leadingKeyword() read the statement head", () => {
  equal(explainedStatement("EXPLAIN SELECT 1"), "SELECT 1");
  equal(explainedStatement("EXPLAIN ANALYZE DELETE FROM t"), "DELETE FROM t");
  equal(explainedStatement("EXPLAIN (FORMAT json) SELECT 1"), "SELECT 1");
  equal(explainedStatement("EXPLAIN (SELECT 1)"), "(SELECT 1)");
  equal(explainedStatement("SELECT 1"), null);
  equal(leadingKeyword("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"), "insert");
  equal(leadingKeyword("  pragma table_info('t')"), "pragma");
});
