import { deepEqual, equal } from "node:assert/strict";
import { findWriteTargets } from "../../lib/sql/write_targets.ts";

function shape(sql: string): string[] {
  return findWriteTargets(sql)!.map((t) =>
    `${t.statement}${t.temporary ? " TEMP" : ""} ${t.tables.map((p) => p.join(".")).join(",")}`
  );
}

Deno.test("findWriteTargets() finds the target of INSERT, UPDATE, DELETE, TRUNCATE, MERGE", () => {
  deepEqual(shape("INSERT INTO orders SELECT * FROM staging"), ["INSERT orders"]);
  deepEqual(shape("insert or replace into Sales.Orders (id) values (1)"), ["INSERT Sales.Orders"]);
  deepEqual(shape("INSERT OR IGNORE INTO t BY NAME SELECT 1 AS id"), ["INSERT t"]);
  deepEqual(shape('UPDATE "My Table" AS m SET v = 1 FROM other WHERE m.id = other.id'), [
    "UPDATE My Table",
  ]);
  deepEqual(shape("delete from memory.main.t where id in (select id from u)"), [
    "DELETE memory.main.t",
  ]);
  deepEqual(shape("TRUNCATE TABLE logs"), ["TRUNCATE logs"]);
  deepEqual(shape("truncate logs"), ["TRUNCATE logs"]);
  deepEqual(shape("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"), ["MERGE t"]);
});

Deno.test("findWriteTargets() looks behind WITH clauses and EXPLAIN ANALYZE only", () => {
  deepEqual(
    shape(
      "WITH RECURSIVE x(n) AS (SELECT 1 UNION SELECT n + 1 FROM x WHERE n < 3) " +
        "INSERT INTO nums SELECT n FROM x",
    ),
    ["INSERT nums"],
  );
  deepEqual(shape("WITH d AS (SELECT 1 AS id) DELETE FROM t USING d WHERE t.id = d.id"), [
    "DELETE t",
  ]);
  deepEqual(shape("EXPLAIN ANALYZE DELETE FROM t"), ["DELETE t"]);
  deepEqual(shape("EXPLAIN (ANALYZE, FORMAT json) UPDATE t SET a = 1"), ["UPDATE t"]);
  deepEqual(shape("EXPLAIN DELETE FROM t"), []);
  deepEqual(shape("WITH x AS (SELECT 1) SELECT * FROM x"), []);
});

Deno.test("findWriteTargets() reports table DDL and COPY FROM, not views or exports", () => {
  deepEqual(shape("CREATE TABLE t (id INT)"), ["CREATE t"]);
  deepEqual(shape("create or replace table s.t as select 1"), ["CREATE s.t"]);
  deepEqual(shape("CREATE TABLE IF NOT EXISTS t (id INT)"), ["CREATE t"]);
  deepEqual(shape("CREATE TEMP TABLE scratch AS SELECT 1"), ["CREATE TEMP scratch"]);
  deepEqual(shape("DROP TABLE IF EXISTS a, s.b CASCADE"), ["DROP a,s.b"]);
  deepEqual(shape("ALTER TABLE t ADD COLUMN c INT"), ["ALTER t"]);
  deepEqual(shape("ALTER TABLE s.t RENAME TO u"), ["ALTER s.t,s.u"]);
  deepEqual(shape("ALTER TABLE t RENAME COLUMN a TO b"), ["ALTER t"]);
  deepEqual(shape("COPY t FROM 'data.csv' (HEADER)"), ["COPY t"]);
  deepEqual(shape("COPY t (a, b) FROM 'data.csv'"), ["COPY t"]);
  deepEqual(shape("COPY t TO 'out.csv'"), []);
  deepEqual(shape("COPY (SELECT 1) TO 'out.csv'"), []);
  deepEqual(shape("CREATE VIEW v AS SELECT 1"), []);
  deepEqual(shape("DROP VIEW v"), []);
  deepEqual(shape("SELECT 1; PRAGMA version; CALL pragma_version()"), []);
});

Deno.test("findWriteTargets() splits scripts only at top-level semicolons", () => {
  deepEqual(
    shape(
      "INSERT INTO a VALUES (';'); -- DELETE FROM x;\n" +
        "/* UPDATE y SET z = 1; */ UPDATE b SET s = $$;DROP TABLE c;$$; " +
        'DELETE FROM "we;ird""name" WHERE s = E\'\\\';\'',
    ),
    ["INSERT a", "UPDATE b", 'DELETE we;ird"name'],
  );
  deepEqual(shape("SELECT $1, $name; INSERT INTO t VALUES ($1)"), ["INSERT t"]);
});

Deno.test("findWriteTargets() returns null for text that never ends", () => {
  equal(findWriteTargets("INSERT INTO t VALUES ('open"), null);
  equal(findWriteTargets('UPDATE "t SET a = 1'), null);
  equal(findWriteTargets("DELETE FROM t /* unclosed"), null);
});
