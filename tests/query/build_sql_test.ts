import { deepEqual, equal } from "node:assert/strict";
import {
  buildCountSql,
  buildDeleteSql,
  buildInsertStagedSql,
  buildInsertValuesSql,
  buildReadSql,
  buildStageTableSql,
  buildUpdateSql,
} from "../../lib/query/build_sql.ts";
import { parseReadRequest, planRead } from "../../lib/query/plan_read.ts";
import {
  parseDeleteRequest,
  parseInsertRequest,
  parsePrefer,
  parseUpdateRequest,
  planDelete,
  planInsert,
  planUpdate,
} from "../../lib/query/plan_write.ts";
import type { JsonValue } from "../../lib/http/body.ts";
import { column, LIMITS, LOG, read, table, USERS } from "./_fixtures.ts";

const insert = (body: JsonValue, query = "", prefer = "") =>
  planInsert(
    parseInsertRequest("users", new URLSearchParams(query), parsePrefer(prefer), body),
    USERS,
  );

Deno.test("buildReadSql() selects with typed parameters and a parameterized LIMIT", () => {
  deepEqual(
    buildReadSql(read("filter=age:gte:18,name:like:J%25"), {
      keys: false,
      count: false,
      limit: 10001,
      offset: null,
    }),
    {
      sql:
        `SELECT * FROM "main"."users" WHERE "age" >= CAST(? AS INTEGER) AND "name" LIKE ? LIMIT ?`,
      params: [18n, "J%", 10001n],
    },
  );
  deepEqual(
    buildReadSql(read("select=name,order"), {
      keys: false,
      count: false,
      limit: null,
      offset: null,
    }),
    {
      sql: `SELECT "name", "order" FROM "main"."users"`,
      params: [],
    },
  );
});

Deno.test("buildReadSql() adds the cursor keys and the total count as trailing columns", () => {
  const plan = read("filter=age:gt:1&sort=name:desc&page=2&limit=10");
  deepEqual(buildReadSql(plan, { keys: true, count: true, limit: 11, offset: 10 }), {
    sql: `SELECT *, CAST("name" AS VARCHAR), CAST("id" AS VARCHAR), ` +
      `(SELECT count(*) FROM "main"."users" WHERE "age" > CAST(? AS INTEGER)) ` +
      `FROM "main"."users" WHERE "age" > CAST(? AS INTEGER) ` +
      `ORDER BY "name" DESC NULLS LAST, "id" ASC NULLS LAST LIMIT ? OFFSET ?`,
    params: [1n, 1n, 11n, 10n],
  });
  deepEqual(
    buildReadSql(read("limit=5&sort=raw", table("b", [column("raw", "BLOB")])), {
      keys: true,
      count: false,
      limit: 6,
      offset: 0,
    }).sql,
    `SELECT *, to_base64("raw"), CAST(rowid AS VARCHAR) FROM "main"."b" ORDER BY "raw" ASC NULLS LAST, rowid ASC NULLS LAST LIMIT ? OFFSET ?`,
  );
});

Deno.test("buildReadSql() with lateKeys casts the cursor keys of the page's rows only", () => {
  const plan = read("filter=age:gt:1&sort=name:desc&page=2&limit=10&select=age,name");
  deepEqual(
    buildReadSql(plan, { keys: true, count: true, limit: 11, offset: 10, lateKeys: true }),
    {
      sql: `SELECT "age", "name", CAST("duckserve_key_1" AS VARCHAR), ` +
        `CAST("duckserve_key_2" AS VARCHAR), "duckserve_total" FROM (SELECT "age", "name", ` +
        `"name" AS "duckserve_key_1", "id" AS "duckserve_key_2", ` +
        `(SELECT count(*) FROM "main"."users" WHERE "age" > CAST(? AS INTEGER)) AS ` +
        `"duckserve_total" FROM "main"."users" WHERE "age" > CAST(? AS INTEGER) ` +
        `ORDER BY "name" DESC NULLS LAST, "id" ASC NULLS LAST LIMIT ? OFFSET ?) AS ` +
        `"duckserve_page" ORDER BY "duckserve_key_1" DESC NULLS LAST, "duckserve_key_2" ASC NULLS LAST`,
      params: [1n, 1n, 11n, 10n],
    },
  );
  // Without keys (a view), or with a column that could clash, the one-level form.
  const plain = buildReadSql(plan, {
    keys: false,
    count: true,
    limit: 11,
    offset: 10,
    lateKeys: true,
  });
  equal(plain.sql.startsWith(`SELECT "age", "name", (SELECT count(*)`), true);
});

Deno.test("buildReadSql() puts the keyset condition of a cursor after the filters", () => {
  const first = read("limit=3", LOG);
  deepEqual(buildReadSql(first, { keys: true, count: false, limit: 4, offset: null }), {
    sql: `SELECT *, CAST(rowid AS VARCHAR) FROM "main"."log" ORDER BY rowid ASC NULLS LAST LIMIT ?`,
    params: [4n],
  });
  const cursor = new URLSearchParams(
    `limit=3&filter=msg:ne:x&after=${
      btoa(JSON.stringify({ v: 1, t: "main.log", o: ["rowid:asc"], k: ["7"] }))
    }`,
  );
  const plan = planRead(parseReadRequest("log", cursor), LOG, LIMITS);
  deepEqual(buildReadSql(plan, { keys: true, count: true, limit: 4, offset: null }), {
    sql: `SELECT *, CAST(rowid AS VARCHAR), (SELECT count(*) FROM "main"."log" WHERE "msg" <> ?) ` +
      `FROM "main"."log" WHERE "msg" <> ? AND rowid > CAST(? AS BIGINT) ` +
      `ORDER BY rowid ASC NULLS LAST LIMIT ?`,
    params: ["x", "x", 7n, 4n],
  });
});

Deno.test("buildCountSql() counts with the same conditions", () => {
  deepEqual(buildCountSql(USERS, []), { sql: `SELECT count(*) FROM "main"."users"`, params: [] });
});

Deno.test("buildInsertValuesSql() writes only the given columns, or DEFAULT VALUES", () => {
  const plan = insert({ name: "Zoë", AGE: 30, big: 9007199254740993n });
  deepEqual(buildInsertValuesSql(plan, plan.groups[0]), {
    sql: `INSERT INTO "main"."users" ("name", "age", "big") ` +
      `VALUES (?, CAST(? AS INTEGER), CAST(? AS BIGINT))`,
    params: ["Zoë", 30, 9007199254740993n],
  });
  const empty = insert({}, "", "return=representation");
  deepEqual(buildInsertValuesSql(empty, empty.groups[0]), {
    sql: `INSERT INTO "main"."users" DEFAULT VALUES RETURNING *`,
    params: [],
  });
});

Deno.test("buildInsertValuesSql() upserts on the primary key or the on_conflict columns", () => {
  const merge = insert({ id: 1, name: "a" }, "", "resolution=merge-duplicates");
  equal(
    buildInsertValuesSql(merge, merge.groups[0]).sql,
    `INSERT INTO "main"."users" ("id", "name") VALUES (CAST(? AS INTEGER), ?) ` +
      `ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name"`,
  );
  const ignore = insert({ id: 1, name: "a" }, "on_conflict=name", "resolution=ignore-duplicates");
  equal(
    buildInsertValuesSql(ignore, ignore.groups[0]).sql,
    `INSERT INTO "main"."users" ("id", "name") VALUES (CAST(? AS INTEGER), ?) ` +
      `ON CONFLICT ("name") DO NOTHING`,
  );
  const keyOnly = insert({ id: 1 }, "on_conflict=id");
  equal(
    buildInsertValuesSql(keyOnly, keyOnly.groups[0]).sql.endsWith(`ON CONFLICT ("id") DO NOTHING`),
    true,
  );
});

Deno.test("buildInsertStagedSql() types each staged VARCHAR column like a bound value", () => {
  const plan = insert(
    [{ id: 1, tags: [1], raw: "AA==" }, { id: 2, tags: null, raw: null }],
    "",
    "return=representation",
  );
  equal(
    buildStageTableSql(3),
    `CREATE OR REPLACE TEMP TABLE duckserve_stage ("c1" VARCHAR, "c2" VARCHAR, "c3" VARCHAR)`,
  );
  deepEqual(buildInsertStagedSql(plan, plan.groups[0]), {
    sql: `INSERT INTO "main"."users" ("id", "tags", "raw") SELECT CAST("c1" AS INTEGER), ` +
      `CAST(CAST("c2" AS JSON) AS VARCHAR[]), from_base64("c3") FROM temp.main.duckserve_stage RETURNING *`,
    params: [],
  });
  deepEqual(plan.groups[0].rows, [[1, "[1]", "AA=="], [2, null, null]]);
});

Deno.test("buildUpdateSql() sets typed values under the where conditions", () => {
  const plan = planUpdate(
    parseUpdateRequest("users", parsePrefer(null), {
      where: [{ column: "age", op: "in", value: [1, 2] }],
      set: { name: "x", price: 9.99 },
    }),
    USERS,
  );
  deepEqual(buildUpdateSql(plan), {
    sql: `UPDATE "main"."users" SET "name" = ?, "price" = CAST(? AS DECIMAL(10,2)) ` +
      `WHERE "age" IN (CAST(? AS INTEGER), CAST(? AS INTEGER))`,
    params: ["x", "9.99", 1, 2],
  });
});

Deno.test("buildDeleteSql() deletes, or counts for a dry run", () => {
  const plan = (q: string, prefer = "") =>
    planDelete(parseDeleteRequest("users", new URLSearchParams(q), parsePrefer(prefer)), USERS);
  deepEqual(buildDeleteSql(plan("where=id:eq:1", "return=representation")), {
    sql: `DELETE FROM "main"."users" WHERE "id" = CAST(? AS INTEGER) RETURNING *`,
    params: [1n],
  });
  deepEqual(buildDeleteSql(plan("where=id:eq:1&dry_run=true")), {
    sql: `SELECT count(*) FROM "main"."users" WHERE "id" = CAST(? AS INTEGER)`,
    params: [1n],
  });
});
