import { deepEqual, equal } from "node:assert/strict";
import {
  decodeCursor,
  encodeCursor,
  keysetPredicate,
  parseReadRequest,
  parseSelect,
  parseSort,
  planRead,
} from "../../lib/query/plan_read.ts";
import { ADULTS, code, column, LIMITS, LOG, read, table, USERS } from "./_fixtures.ts";

Deno.test("parseReadRequest() reads every parameter and keeps the query for links", () => {
  const r = parseReadRequest(
    "users",
    new URLSearchParams(
      "filter=a:eq:1&filter=b:gt:2&sort=a:DESC,b&select=a,b&page=3&limit=7&links=1&count=none&x=y",
    ),
  );
  deepEqual(r.filters.map((f) => f.column), ["a", "b"]);
  deepEqual(r.sort, [{ column: "a", direction: "desc" }, { column: "b", direction: "asc" }]);
  deepEqual([r.select, r.page, r.limit, r.links, r.count, r.after], [
    ["a", "b"],
    3,
    7,
    true,
    "none",
    null,
  ]);
  deepEqual(r.query.at(-1), ["x", "y"]);
  deepEqual(r.table, { text: "users", candidates: [{ name: "users" }] });
});

Deno.test("parseReadRequest() refuses bad page, limit, count, links and repeats instead of defaulting", () => {
  const parse = (q: string) => parseReadRequest("t", new URLSearchParams(q));
  for (
    const q of [
      "page=0",
      "page=-1",
      "page=abc",
      "page=1.5",
      "page=",
      "limit=0",
      "limit=x",
      "limit=1e3",
    ]
  ) {
    code(() => parse(q), "bad_pagination", /must be a positive integer/);
  }
  code(() => parse("page=1&after=x"), "bad_pagination", /cannot be combined/);
  code(() => parse("count=estimated"), "bad_pagination", /exact or none/);
  code(() => parse("links=yes"), "invalid_request", /links/);
  code(() => parse("page=1&page=2"), "invalid_request", /more than once/);
});

Deno.test("parseSort() and parseSelect() read their lists and reject empty parts", () => {
  deepEqual(parseSort("a,b:desc,c\\:d:asc"), [
    { column: "a", direction: "asc" },
    { column: "b", direction: "desc" },
    { column: "c:d", direction: "asc" },
  ]);
  deepEqual(parseSort(null), []);
  code(() => parseSort("a:sideways"), "bad_sort", /'asc' or 'desc'/);
  code(() => parseSort(":asc"), "bad_sort", /empty/);
  code(() => parseSort("a,,b"), "bad_sort", /empty/);
  code(() => parseSort("a:desc;DROP TABLE t"), "bad_sort");
  deepEqual(parseSelect("a,b\\,c"), ["a", "b,c"]);
  deepEqual(parseSelect("*"), null);
  code(() => parseSelect("a,"), "invalid_request", /empty/);
});

Deno.test("planRead() without page or limit reads everything up to absolute_max_rows", () => {
  const plan = read("filter=age:gt:18");
  deepEqual(plan.mode, { kind: "all", cap: 10000 });
  deepEqual(plan.order, []);
  deepEqual(plan.where, [{ sql: `"age" > CAST(? AS INTEGER)`, params: [18n] }]);
  equal(plan.star, true);
});

Deno.test("planRead() pages with a total order: the primary key breaks ties", () => {
  const plan = read("sort=name:desc&page=3&limit=20");
  deepEqual(plan.mode, { kind: "page", page: 3, limit: 20, offset: 40 });
  deepEqual(plan.order.map((k) => [k.sql, k.direction]), [[`"name"`, "desc"], [`"id"`, "asc"]]);
  equal(plan.cursorKeys, plan.order);
  deepEqual(read("sort=id:desc&limit=5").order.map((k) => k.sql), [`"id"`]);
  deepEqual(read("limit=5", LOG).order.map((k) => k.sql), ["rowid"]);
  deepEqual(read("sort=msg&limit=5", LOG).order.map((k) => k.sql), [`"msg"`, "rowid"]);
  // views have no rowid: paged, but no cursors
  deepEqual(read("limit=5", ADULTS).order, []);
  equal(read("limit=5", ADULTS).cursorKeys, null);
});

Deno.test("planRead() clamps limit to max_rows_per_page and says so", () => {
  const plan = read("limit=5000");
  deepEqual(plan.mode, { kind: "page", page: 1, limit: 100, offset: 0 });
  equal(plan.requestedLimit, 5000);
  equal(read("limit=100").requestedLimit, null);
});

Deno.test("planRead() resolves select, sort and filter columns in the catalog", () => {
  deepEqual(read("select=NAME,id").columns.map((c) => c.name), ["name", "id"]);
  equal(read("select=NAME,id").star, false);
  code(() => read("select=name,secret"), "unknown_column", /"secret" in select/);
  code(() => read('sort=name";--'), "unknown_column");
  code(() => read("filter=x:eq:1"), "unknown_column");
  code(() => read("after=", ADULTS), "bad_pagination", /view/);
  code(() => read("page=999999999999999&limit=100"), "bad_pagination", /too large/);
});

Deno.test("encodeCursor() and decodeCursor() round-trip and refuse foreign cursors", () => {
  const keys = read("sort=name&limit=5").order;
  const cursor = encodeCursor(USERS, keys, ['Zoë, "the" | one', "42"]);
  equal(/^[A-Za-z0-9_-]+$/.test(cursor), true);
  deepEqual(decodeCursor(cursor, USERS, keys), ['Zoë, "the" | one', "42"]);
  code(
    () => decodeCursor(cursor, USERS, read("sort=name:desc&limit=5").order),
    "bad_pagination",
    /another table or sort/,
  );
  code(() => decodeCursor(cursor, LOG, keys), "bad_pagination", /another/);
  code(() => decodeCursor("not a cursor", USERS, keys), "bad_pagination", /not a cursor/);
  code(() => decodeCursor(btoa('{"v":1}'), USERS, keys), "bad_pagination");
  const plan = read(`sort=name&limit=5&after=${cursor}`);
  deepEqual(plan.mode, {
    kind: "cursor",
    limit: 5,
    after: {
      sql: `(("name" > ? OR "name" IS NULL) OR ("name" = ? AND "id" > CAST(? AS INTEGER)))`,
      params: ['Zoë, "the" | one', 'Zoë, "the" | one', 42n],
    },
  });
});

Deno.test("keysetPredicate() orders NULLs last in both directions", () => {
  const t = table("t", [
    column("a", "INTEGER"),
    column("b", "VARCHAR"),
    column("id", "BIGINT", true),
  ]);
  const keys =
    planRead(parseReadRequest("t", new URLSearchParams("sort=a:desc,b&limit=2")), t, LIMITS).order;
  deepEqual(keysetPredicate(keys, ["5", null, "9"]), {
    sql:
      `(("a" < CAST(? AS INTEGER) OR "a" IS NULL) OR ("a" = CAST(? AS INTEGER) AND "b" IS NULL AND "id" > CAST(? AS BIGINT)))`,
    params: [5n, 5n, 9n],
  });
  deepEqual(keysetPredicate(keys, [null, null, "9"]), {
    sql: `("a" IS NULL AND "b" IS NULL AND "id" > CAST(? AS BIGINT))`,
    params: [9n],
  });
});
