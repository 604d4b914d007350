import { deepEqual, equal, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { compilePolicy } from "../../lib/auth/policy.ts";
import {
  checkStatement,
  type PlanContext,
  planScript,
  type StatementPlan,
} from "../../lib/auth/authorize_sql.ts";

const instance = await DuckDBInstance.create(":memory:");
const connection = await instance.connect();
const serialize = async (sql: string) => {
  const reader = await connection.runAndReadAll(
    "SELECT system.main.json_serialize_sql($1::VARCHAR, skip_null := true, skip_empty := true)",
    [sql],
  );
  return JSON.parse(String(reader.getRows()[0][0]));
};
// As the server wires it: read_stream() (streams on) checks its own permissions.
const context: PlanContext = { mainCatalog: "memory", selfAuthorizing: new Set(["read_stream"]) };
const plan = async (sql: string) => (await planScript(sql, serialize, context))!;
const one = async (sql: string) => (await plan(sql))[0];

const TYPE: Record<string, string> = {
  select: "SELECT",
  insert: "INSERT",
  update: "UPDATE",
  delete: "DELETE",
  explain: "EXPLAIN",
};

/** The denial message (or "ok") for `sql` under the grants, typed as planned. */
async function decide(grants: [string, string][], sql: string, userFunctions: string[] = []) {
  const policy = compilePolicy(grants.map(([table, operations]) => ({ table, operations })));
  const plans = await plan(sql);
  for (const p of plans) {
    const denial = checkStatement(
      policy,
      p,
      TYPE[p.kind] ?? p.keyword.toUpperCase(),
      new Set(userFunctions),
    );
    if (denial) return `${denial.operation} ${denial.table}`;
  }
  return "ok";
}

const ANALYST: [string, string][] = [["reports", "rq"]];

Deno.test("planScript() lists the tables a SELECT reads, not its CTE names", async () => {
  const tables = (
    p: StatementPlan,
  ) => [...new Set(p.needs.map((n) => `${n.operation}:${n.table}`))];
  deepEqual(tables(await one("SELECT * FROM Reports r JOIN main.secret s USING (id)")), [
    "q:main.reports",
    "r:main.reports",
    "q:main.secret",
    "r:main.secret",
  ]);
  deepEqual(tables(await one("WITH x AS (SELECT * FROM reports) SELECT * FROM x")), [
    "q:main.reports",
    "r:main.reports",
  ]);
  // a CTE shadows a table of the same name, but only inside its scope
  deepEqual(tables(await one("WITH reports AS (SELECT * FROM secret) SELECT * FROM reports")), [
    "q:main.secret",
    "r:main.secret",
  ]);
  deepEqual(
    tables(
      await one("SELECT * FROM secret, (WITH secret AS (SELECT 1) SELECT * FROM secret) s"),
    ),
    ["q:main.secret", "r:main.secret"],
  );
  // a CTE does not see a later sibling: b inside a is the table b
  deepEqual(
    tables(await one("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b")),
    ["q:main.b", "r:main.b"],
  );
  deepEqual(
    tables(
      await one(
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t",
      ),
    ),
    [],
  );
  deepEqual(tables(await one("SELECT * FROM memory.Sales.orders")), [
    "q:sales.orders",
    "r:sales.orders",
  ]);
});

Deno.test("planScript() can analyse every ordinary SELECT shape", async () => {
  const corpus = [
    "SELECT a, count(*) FILTER (WHERE b > 0), sum(c ORDER BY d) FROM t GROUP BY ROLLUP (a) HAVING count(*) > 1 ORDER BY 1 DESC NULLS LAST LIMIT 10 OFFSET 5",
    "SELECT DISTINCT ON (a) a, row_number() OVER (PARTITION BY b ORDER BY c ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t QUALIFY a > 1",
    "SELECT CASE WHEN a BETWEEN 1 AND 2 THEN 'x' ELSE 'y' END, a IN (1, 2), b LIKE 'x%', c::VARCHAR, TRY_CAST(d AS INT) FROM t",
    "SELECT [x * 2 FOR x IN [1, 2]], list_transform([1], x -> x + 1), {'a': 1}.a, [1, 2][1], 'a' COLLATE nocase FROM t",
    "SELECT * EXCLUDE (a) REPLACE (b + 1 AS b), COLUMNS('x.*') FROM t USING SAMPLE 10%",
    "SELECT * FROM a UNION ALL SELECT * FROM b EXCEPT SELECT * FROM c INTERSECT SELECT * FROM d",
    "SELECT * FROM a ASOF JOIN b ON a.t >= b.t POSITIONAL JOIN c, LATERAL (SELECT * FROM d WHERE d.x = a.x) l",
    "PIVOT t ON k IN ('a', 'b') USING sum(v) GROUP BY g",
    "UNPIVOT t ON a, b INTO NAME k VALUE v",
    "DESCRIBE t",
    "SUMMARIZE t",
    "FROM t SELECT a WHERE b = ? AND c = ?",
    "TABLE t",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT * FROM t GROUP BY GROUPING SETS ((a), ()) ",
    "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a) AND a = ANY (SELECT b FROM v)",
    "SELECT $name, $other",
    "SELECT * FROM range(10) r, generate_series(1, 3) g, unnest([1, 2]) u",
    "SELECT current_date, now(), random(), 1 IS DISTINCT FROM 2, NOT true, a IS NULL FROM t",
  ];
  for (const sql of corpus) {
    const p = await one(sql);
    equal(p.kind, "select", sql);
    equal(p.readAll, null, sql);
    equal(p.unrestricted, null, sql);
  }
});

Deno.test("checkStatement(): q on one table allows SELECTs on it and nothing else", async () => {
  const cases: [string, string][] = [
    ["SELECT * FROM reports", "ok"],
    ["SELECT count(*), max(v) FROM REPORTS WHERE v > 1", "ok"],
    ["SELECT * FROM main.reports r1 JOIN reports r2 USING (id)", "ok"],
    ["WITH x AS (SELECT * FROM reports) SELECT * FROM x", "ok"],
    ["SELECT * FROM reports WHERE id IN (SELECT id FROM reports)", "ok"],
    ["SELECT (SELECT max(v) FROM reports)", "ok"],
    ["DESCRIBE reports", "ok"],
    ["SUMMARIZE reports", "ok"],
    ["EXPLAIN SELECT * FROM reports", "ok"],
    ["SELECT 1", "ok"],
    ["SELECT * FROM range(3)", "ok"],
    ["SELECT 1; SELECT * FROM reports", "ok"],
    ["SELECT * FROM secret", "q secret"],
    ["SELECT * FROM reports JOIN secret USING (id)", "q secret"],
    ["SELECT * FROM reports WHERE id IN (SELECT id FROM secret)", "q secret"],
    ["SELECT * FROM reports, LATERAL (SELECT * FROM secret) s", "q secret"],
    ["SELECT * FROM reports UNION SELECT * FROM secret", "q secret"],
    ["WITH reports AS (SELECT * FROM secret) SELECT * FROM reports", "q secret"],
    ["SELECT * FROM sales.reports", "q sales.reports"],
    ["SELECT * FROM other.main.reports", "q other.main.reports"],
    ["SELECT * FROM query_table('secret')", "q *"],
    ["SELECT * FROM query('SELECT * FROM secret')", "q *"],
    ["SELECT * FROM read_csv('/etc/passwd')", "q *"],
    ["SELECT * FROM read_parquet('x.parquet')", "q *"],
    ["SELECT * FROM glob('*')", "q *"],
    ["SELECT * FROM duckdb_tables()", "q *"],
    ["SELECT * FROM 'data.csv'", 'q "data.csv"'],
    ["SHOW TABLES", "q *"],
    ["PRAGMA table_info('reports')", "q *"],
    ["SELECT nextval('seq')", "q *"],
    ["SELECT pg_get_viewdef(1)", "q *"],
    ["SELECT sales.f(1) FROM reports", "q *"],
    ["SELECT 1; SELECT * FROM secret", "q secret"],
    ["INSERT INTO reports VALUES (1)", "c reports"],
    ["CREATE TABLE x (a INT)", "q *"],
    ["SET search_path = 'other'", "q *"],
    ["EXPLAIN ANALYZE DELETE FROM reports", "d reports"],
  ];
  for (const [sql, expected] of cases) equal(await decide(ANALYST, sql), expected, sql);
});

Deno.test("checkStatement(): user-defined functions (which may shadow built-ins) need q,r on *", async () => {
  equal(await decide(ANALYST, "SELECT lower(v) FROM reports"), "ok");
  equal(await decide(ANALYST, "SELECT lower(v) FROM reports", ["lower"]), "q *");
  equal(await decide(ANALYST, "SELECT * FROM range(3)", ["range"]), "q *");
  equal(await decide(ANALYST, "SELECT * FROM my_table_macro()"), "q *");
  equal(await decide([["*", "rq"]], "SELECT lower(v) FROM reports", ["lower"]), "ok");
});

Deno.test("checkStatement(): read_stream() needs only q; it checks the stream grant when it runs", async () => {
  equal(await decide(ANALYST, "SELECT * FROM read_stream('orders')"), "ok");
  equal(await decide(ANALYST, "SELECT value FROM system.main.read_stream('_changes/x')"), "ok");
  equal(
    await decide(ANALYST, "SELECT * FROM read_stream('o') JOIN secret ON true"),
    "q secret",
  );
  equal(await decide(ANALYST, "SELECT * FROM sales.read_stream('orders')"), "q *");
  // a user-defined macro may shadow the name: then it is any other macro
  equal(await decide(ANALYST, "SELECT * FROM read_stream('orders')", ["read_stream"]), "q *");
});

Deno.test("planScript(): only the table functions the wiring names authorize themselves", async () => {
  const policy = compilePolicy(ANALYST.map(([table, operations]) => ({ table, operations })));
  const sql = "SELECT * FROM read_stream('orders')";
  for (const selfAuthorizing of [new Set<string>(), new Set(["other_function"])]) {
    const [p] = (await planScript(sql, serialize, { mainCatalog: "memory", selfAuthorizing }))!;
    equal(p.readAll, "the table function read_stream()");
    equal(checkStatement(policy, p, "SELECT", new Set())?.table, "*");
  }
});

Deno.test("checkStatement(): writes need q plus c, u or d on the written table", async () => {
  const WRITER: [string, string][] = [["reports", "cuq"], ["src", "rq"]];
  const cases: [string, string][] = [
    ["INSERT INTO reports VALUES (1, 2)", "ok"],
    ["INSERT INTO reports SELECT * FROM src", "ok"],
    ["INSERT INTO reports (id, v) SELECT id, v FROM src WHERE v > (SELECT 1)", "ok"],
    ["WITH s AS (SELECT * FROM src) INSERT INTO reports SELECT * FROM s", "ok"],
    ["UPDATE reports SET v = 1 WHERE id = ?", "ok"],
    ["UPDATE reports r SET v = s.v FROM src s WHERE s.id = r.id", "ok"],
    ["INSERT INTO reports VALUES (1, 2) ON CONFLICT DO UPDATE SET v = excluded.v", "ok"],
    ["INSERT OR REPLACE INTO reports VALUES (1, 2)", "ok"],
    ["INSERT INTO reports SELECT * FROM secret", "q secret"],
    ["UPDATE reports SET v = (SELECT max(v) FROM secret)", "q secret"],
    ["UPDATE reports SET v = 1 WHERE id IN (SELECT id FROM secret)", "q secret"],
    ["UPDATE reports SET v = 1 FROM secret WHERE secret.id = reports.id", "q secret"],
    [
      "INSERT INTO reports VALUES (1, 2) ON CONFLICT DO UPDATE SET v = (SELECT 1 FROM secret)",
      "q secret",
    ],
    ["WITH s AS (SELECT * FROM secret) INSERT INTO reports SELECT * FROM s", "q secret"],
    ["INSERT INTO reports VALUES (1, 2) RETURNING *", "r reports"],
    ["DELETE FROM reports", "d reports"],
    ["TRUNCATE reports", "d reports"],
    ["INSERT INTO src VALUES (1, 2)", "c src"],
    ["INSERT INTO secret VALUES (1, 2)", "q secret"],
    ["INSERT INTO reports SELECT * FROM read_csv('x.csv')", "q *"],
    ["MERGE INTO reports USING src ON reports.id = src.id WHEN MATCHED THEN DELETE", "q *"],
  ];
  for (const [sql, expected] of cases) equal(await decide(WRITER, sql), expected, sql);
  const DELETER: [string, string][] = [["reports", "dq"], ["audit", "rq"]];
  equal(await decide(DELETER, "DELETE FROM reports USING audit WHERE audit.id = reports.id"), "ok");
  equal(
    await decide(DELETER, "DELETE FROM reports WHERE id IN (SELECT id FROM secret)"),
    "q secret",
  );
  equal(await decide(DELETER, "DELETE FROM reports RETURNING id"), "r reports");
});

Deno.test("checkStatement(): admin may do anything, q,r on * may read anything", async () => {
  const ADMIN: [string, string][] = [["*", "crudq"]];
  for (const sql of ["CREATE TABLE x (a INT)", "SELECT * FROM read_csv('x')", "DROP TABLE t"]) {
    equal(await decide(ADMIN, sql), "ok", sql);
  }
  const ANALYST_ALL: [string, string][] = [["*", "rq"]];
  equal(await decide(ANALYST_ALL, "SELECT * FROM query_table('secret')"), "ok");
  equal(await decide(ANALYST_ALL, "SHOW TABLES"), "ok");
  equal(await decide(ANALYST_ALL, "INSERT INTO reports VALUES (1)"), "c reports");
  equal(await decide(ANALYST_ALL, "CREATE TABLE x (a INT)"), "q *");
  // a statement DuckDB types differently than planned is never trusted
  const policy = compilePolicy([{ table: "reports", operations: "rq" }]);
  const p = await one("SELECT * FROM reports");
  ok(checkStatement(policy, p, "DELETE", null));
  ok(checkStatement(policy, undefined, "SELECT", null));
  equal(
    checkStatement(compilePolicy([{ table: "*", operations: "rq" }]), undefined, "SELECT", null),
    null,
  );
});
