import { deepEqual, equal } from "node:assert/strict";
import { dissectWrite } from "../../lib/sql/write_shape.ts";

Deno.test("dissectWrite() finds the target, flags and probes of INSERT", () => {
  deepEqual(dissectWrite("INSERT INTO reports VALUES (1, 2)"), {
    kind: "insert",
    target: ["reports"],
    upsert: false,
    returning: false,
    probes: ["SELECT * FROM (VALUES (1, 2)) AS duckserve_source"],
  });
  deepEqual(
    dissectWrite(
      'WITH s AS (SELECT * FROM src) INSERT OR REPLACE INTO "Sales".orders AS o BY NAME (a, "b") ' +
        "SELECT * FROM s RETURNING *, (SELECT 1 FROM audit)",
    ),
    {
      kind: "insert",
      target: ["Sales", "orders"],
      upsert: true,
      returning: true,
      probes: [
        "WITH s AS (SELECT * FROM src) SELECT * FROM (SELECT * FROM s) AS duckserve_source",
        "WITH s AS (SELECT * FROM src) SELECT *, (SELECT 1 FROM audit)",
      ],
    },
  );
  deepEqual(
    dissectWrite(
      "INSERT INTO t (SELECT x FROM a) ON CONFLICT (id) WHERE ok DO UPDATE SET v = " +
        "(SELECT max(v) FROM b) WHERE excluded.v > 0",
    )?.probes,
    [
      "SELECT * FROM ((SELECT x FROM a)) AS duckserve_source",
      "SELECT ok",
      "SELECT v = (SELECT max(v) FROM b)",
      "SELECT excluded.v > 0",
    ],
  );
  equal(dissectWrite("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING")?.upsert, false);
  equal(dissectWrite("INSERT INTO t DEFAULT VALUES")?.probes.length, 0);
  equal(dissectWrite("INSERT INTO memory.main.t SELECT 1")?.target.length, 3);
});

Deno.test("dissectWrite() handles UPDATE, DELETE and TRUNCATE", () => {
  deepEqual(
    dissectWrite(
      "UPDATE reports AS r SET v = s.v, (a, b) = (1, 2) FROM src s WHERE s.id = r.id RETURNING r.id",
    ),
    {
      kind: "update",
      target: ["reports"],
      upsert: false,
      returning: true,
      probes: [
        "SELECT v = s.v, (a, b) = (1, 2) FROM src s WHERE s.id = r.id",
        "SELECT r.id",
      ],
    },
  );
  deepEqual(dissectWrite("update t x set a = 1")?.target, ["t"]);
  deepEqual(dissectWrite("UPDATE ONLY t SET a = 1")?.target, ["t"]);
  deepEqual(
    dissectWrite("DELETE FROM ONLY (s.t) USING a, b WHERE a.x IN (SELECT y FROM c)"),
    {
      kind: "delete",
      target: ["s", "t"],
      upsert: false,
      returning: false,
      probes: ["SELECT 1 FROM a, b WHERE a.x IN (SELECT y FROM c)"],
    },
  );
  deepEqual(dissectWrite("DELETE FROM t x")?.probes, ["SELECT 1"]);
  deepEqual(dissectWrite("TRUNCATE TABLE sales.orders"), {
    kind: "delete",
    target: ["sales", "orders"],
    upsert: false,
    returning: false,
    probes: [],
  });
});

Deno.test("dissectWrite() gives up on anything it does not know", () => {
  for (
    const sql of [
      "SELECT 1",
      "CREATE TABLE t (a INT)",
      "INSERT INTO TABLE t VALUES (1)",
      "INSERT INTO 'file.csv' VALUES (1)",
      'DELETE FROM U&"t"',
      "UPDATE t SET",
      "DELETE t",
      "INSERT INTO t VALUES (1); DELETE FROM t",
      "TRUNCATE t, u",
      "WITH x AS (SELECT 1) TRUNCATE t",
      "INSERT INTO t VALUES (1) ON CONFLICT DO SOMETHING",
      "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    ]
  ) {
    equal(dissectWrite(sql), null, sql);
  }
});
