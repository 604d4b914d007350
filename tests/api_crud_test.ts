import { deepEqual, equal, match, ok } from "node:assert/strict";
import { startTestServer } from "./_helpers.ts";
import { api, ids } from "./_api.ts";

const USERS_DDL = `CREATE SEQUENCE users_seq;
  CREATE TABLE users (id INTEGER PRIMARY KEY DEFAULT nextval('users_seq'), name VARCHAR,
    email VARCHAR, age INTEGER, status VARCHAR DEFAULT 'active',
    created_at TIMESTAMP DEFAULT TIMESTAMP '2025-01-15 10:30:00')`;

Deno.test("the README's CRUD examples work unchanged, with the same success bodies", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(USERS_DDL);
  let r = await a.post("users", { name: "John Doe", email: "john@example.com", age: 30 });
  equal(r.status, 201);
  equal(r.text, '{"success":true,"rows_affected":1}');
  r = await a.get("users");
  equal(r.status, 200);
  deepEqual(r.body, {
    data: [{
      id: 1,
      name: "John Doe",
      email: "john@example.com",
      age: 30,
      status: "active",
      created_at: "2025-01-15T10:30:00",
    }],
  });
  r = await a.get("users?page=1&limit=20&filter=age:gt:18&sort=name:asc");
  deepEqual(r.body.pagination, {
    page: 1,
    limit: 20,
    total_rows: 1,
    total_pages: 1,
    has_more: false,
  });
  r = await a.put("users", {
    where: { id: 1 },
    set: { age: 31, created_at: "2025-01-01T00:00:00Z" },
  });
  equal(r.status, 200);
  equal(r.text, '{"success":true,"rows_affected":1}');
  r = await a.put("users", { where: [{ column: "id", op: "eq", value: 1 }], set: { name: "Jo" } });
  equal(r.text, '{"success":true,"rows_affected":1}');
  r = await a.get("users?filter=status:in:active|pending&select=name,age,created_at");
  deepEqual(r.body.data, [{ name: "Jo", age: 31, created_at: "2025-01-01T00:00:00" }]);
  r = await a.del("users?where=id:eq:1&dry_run=true");
  equal(r.text, '{"dry_run":true,"affected_rows":1}');
  equal(await a.count("users"), 1);
  r = await a.del("users?where=id:eq:1");
  equal(r.status, 200);
  equal(r.text, '{"success":true,"rows_affected":1}');
  equal(await a.count("users"), 0);
});

Deno.test("POST writes only the given columns, so DEFAULTs and sequences apply", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(USERS_DDL);
  equal((await a.post("users", { name: "a" })).status, 201);
  equal((await a.post("users", {})).status, 201);
  equal(
    (await a.post("users", [{ name: "b", status: null }, { name: "c" }, { email: "d@x" }])).text,
    '{"success":true,"rows_affected":3}',
  );
  const r = await a.get("users?select=id,name,email,status,created_at");
  deepEqual(r.body.data, [
    { id: 1, name: "a", email: null, status: "active", created_at: "2025-01-15T10:30:00" },
    { id: 2, name: null, email: null, status: "active", created_at: "2025-01-15T10:30:00" },
    { id: 3, name: "b", email: null, status: null, created_at: "2025-01-15T10:30:00" },
    { id: 4, name: "c", email: null, status: "active", created_at: "2025-01-15T10:30:00" },
    { id: 5, name: null, email: "d@x", status: "active", created_at: "2025-01-15T10:30:00" },
  ]);
});

Deno.test("POST refuses unknown columns and non-object bodies with 400, writing nothing", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(USERS_DDL);
  let r = await a.post("users", { name: "a", nickname: "x" });
  equal(r.status, 400);
  equal(r.body.code, "unknown_column");
  match(r.body.detail, /"nickname"/);
  r = await a.post("users", [{ name: "a" }, { name: "b", nope: 1 }]);
  deepEqual([r.status, r.body.code], [400, "unknown_column"]);
  match(r.body.detail, /row 1/);
  for (const body of ["[]", "42", '"x"', "[1]", "null"]) {
    r = await a.send("POST", "users", body);
    deepEqual([r.status, r.body.code], [400, "invalid_request"], body);
  }
  r = await a.send("POST", "users", "{bad json");
  deepEqual([r.status, r.body.code], [400, "invalid_json"]);
  equal(await a.count("users"), 0);
});

Deno.test("a bulk insert is one transaction: a failing row leaves the table as it was", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, qty INTEGER CHECK (qty >= 0))",
  );
  await a.post("items", { id: 1, name: "seed", qty: 1 });
  const rows = Array.from({ length: 500 }, (_, i) => ({ id: i + 10, name: `n${i}`, qty: i }));
  // a duplicate key in the middle
  let r = await a.post("items", [
    ...rows.slice(0, 250),
    { id: 1, name: "dup", qty: 0 },
    ...rows.slice(250),
  ]);
  deepEqual([r.status, r.body.code], [409, "constraint_violation"]);
  // a NOT NULL violation, a CHECK violation, a type error: each 4xx, nothing written
  r = await a.post("items", [...rows, { id: 9999, name: null, qty: 1 }]);
  deepEqual([r.status, r.body.code], [409, "constraint_violation"]);
  r = await a.post("items", [...rows, { id: 9999, name: "x", qty: -1 }]);
  deepEqual([r.status, r.body.code], [409, "constraint_violation"]);
  r = await a.post("items", [...rows, { id: 9999, name: "x", qty: "lots" }]);
  deepEqual([r.status, r.body.code], [400, "conversion_error"]);
  match(r.body.detail, /row 500, column "qty"/);
  // rows with different columns run as several statements: still all or nothing
  r = await a.post("items", [{ id: 2, name: "a" }, { id: 3, name: "b", qty: 5 }, {
    id: 1,
    name: "dup",
  }]);
  deepEqual([r.status, r.body.code], [409, "constraint_violation"]);
  equal(await a.count("items"), 1);
  r = await a.post("items", rows);
  equal(r.text, '{"success":true,"rows_affected":500}');
  r = await a.post("items", [{ id: 2, name: "a" }, { id: 3, name: "b", qty: 5 }, {
    id: 4,
    name: "c",
    qty: 6,
  }]);
  equal(r.text, '{"success":true,"rows_affected":3}');
  equal(await a.count("items"), 504);
  // no request data is left in the connection's staging table
  r = await t.query(
    "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'duckserve_stage'",
  );
  deepEqual(r.body.data, [{ n: 0 }]);
});

Deno.test("Prefer: return=representation answers with the written rows", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(USERS_DDL);
  const prefer = { prefer: "return=representation" };
  let r = await a.post("users", [{ name: "a" }, { name: "b" }], prefer);
  equal(r.status, 201);
  equal(r.headers.get("preference-applied"), "return=representation");
  deepEqual(r.body.data.map((u: { id: number; status: string }) => [u.id, u.status]), [[
    1,
    "active",
  ], [2, "active"]]);
  deepEqual([r.body.success, r.body.rows_affected], [true, 2]);
  r = await a.put("users", { where: { id: 2 }, set: { age: 9 } }, prefer);
  deepEqual([r.status, r.body.data[0].age, r.body.rows_affected], [200, 9, 1]);
  r = await a.del("users?where=id:eq:1", { ...prefer, accept: "text/csv" });
  equal(r.status, 200);
  equal(r.text, "id,name,email,age,status,created_at\r\n1,a,,,active,2025-01-15T10:30:00\r\n");
});

Deno.test("upserts: on_conflict and Prefer: resolution merge or ignore duplicates", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE kv (k VARCHAR PRIMARY KEY, v INTEGER, note VARCHAR, email VARCHAR UNIQUE)",
  );
  await a.post("kv", [{ k: "a", v: 1, note: "first" }, { k: "b", v: 2, note: "first" }]);
  let r = await a.post("kv?on_conflict=k", [{ k: "a", v: 10 }, { k: "c", v: 3 }]);
  equal(r.status, 201);
  r = await a.post("kv", { k: "b", v: 20 }, { prefer: "resolution=merge-duplicates" });
  equal(r.status, 201);
  r = await a.post("kv", [{ k: "a", v: 99, note: "ignored" }, { k: "d", v: 4 }], {
    prefer: "resolution=ignore-duplicates",
  });
  equal(r.text, '{"success":true,"rows_affected":1}');
  r = await a.post("kv?on_conflict=email", { k: "e", email: "x@y" });
  equal(r.status, 201);
  r = await a.post("kv?on_conflict=email", { k: "e2", email: "x@y", v: 5 });
  equal(r.status, 201);
  r = await a.get("kv?sort=k");
  deepEqual(r.body.data.map((x: { k: string; v: number; note: string }) => [x.k, x.v, x.note]), [
    ["a", 10, "first"],
    ["b", 20, "first"],
    ["c", 3, null],
    ["d", 4, null],
    ["e2", 5, null],
  ]);
  r = await a.post("kv?on_conflict=note", { k: "z", note: "first" });
  deepEqual([r.status, r.body.code], [400, "binder_error"]);
  r = await a.post("kv", { k: "a" });
  deepEqual([r.status, r.body.code], [409, "constraint_violation"]);
});

Deno.test("PUT takes the object and array where forms, refuses empty where or set, and is atomic", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE p (id INTEGER PRIMARY KEY, name VARCHAR UNIQUE, n INTEGER, gone TIMESTAMP)",
  );
  await a.post("p", [{ id: 1, name: "a", n: 1 }, { id: 2, name: "b", n: 2 }, {
    id: 3,
    name: "c",
    n: 3,
    gone: "2024-01-01",
  }]);
  let r = await a.put("p", { where: { gone: null }, set: { n: 0 } });
  equal(r.text, '{"success":true,"rows_affected":2}');
  r = await a.put("p", {
    where: [{ column: "id", op: "gte", value: 2 }, { column: "name", op: "in", value: ["b", "c"] }],
    set: { n: 7 },
  });
  equal(r.body.rows_affected, 2);
  r = await a.put("p", {
    where: [{ column: "gone", op: "is", value: "notnull" }],
    set: { gone: null },
  });
  equal(r.body.rows_affected, 1);
  r = await a.put("p", { where: { id: 999 }, set: { n: 1 } });
  equal(r.text, '{"success":true,"rows_affected":0}');
  for (
    const [body, code] of [
      [{ set: { n: 1 } }, "where_required"],
      [{ where: {}, set: { n: 1 } }, "where_required"],
      [{ where: [], set: { n: 1 } }, "where_required"],
      [{ where: { id: 1 } }, "invalid_request"],
      [{ where: { id: 1 }, set: {} }, "invalid_request"],
      [{ where: { id: 1 }, set: { nope: 1 } }, "unknown_column"],
      [{ where: { nope: 1 }, set: { n: 1 } }, "unknown_column"],
      [{ where: [{ column: "id", op: "like!", value: 1 }], set: { n: 1 } }, "bad_filter"],
      [{ where: { id: 1 }, set: { n: "many" } }, "conversion_error"],
    ] as const
  ) {
    r = await a.put("p", body);
    deepEqual([r.status, r.body.code], [400, code], JSON.stringify(body));
  }
  // one row would violate UNIQUE: no row changes
  r = await a.put("p", {
    where: [{ column: "id", op: "in", value: [1, 2] }],
    set: { name: "same" },
  });
  deepEqual([r.status, r.body.code], [409, "constraint_violation"]);
  r = await a.get("p?sort=id&select=name,n");
  deepEqual(r.body.data, [{ name: "a", n: 0 }, { name: "b", n: 7 }, { name: "c", n: 7 }]);
});

Deno.test("DELETE needs where; dry_run counts and deletes nothing", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE d AS SELECT range::INTEGER AS id, (range % 3)::INTEGER AS g FROM range(10)",
  );
  let r = await a.del("d");
  deepEqual([r.status, r.body.code], [400, "where_required"]);
  match(r.body.message, /WHERE clause is required for DELETE operation/);
  r = await a.del("d?where=");
  equal(r.status, 400);
  r = await a.del("d?where=g:eq:1&dry_run=1");
  equal(r.text, '{"dry_run":true,"affected_rows":3}');
  r = await a.del("d?where=g:eq:1&dry_run=yes");
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
  r = await a.del("d?where=id:in:3|4|5&where=g:ne:0");
  equal(r.text, '{"success":true,"rows_affected":2}');
  r = await a.del("d?where=id:zz:1");
  deepEqual([r.status, r.body.code], [400, "bad_filter"]);
  r = await a.del("d?where=idx:eq:1");
  deepEqual([r.status, r.body.code], [400, "unknown_column"]);
  equal(await a.count("d"), 8);
});

const TYPED_DDL = `CREATE TABLE typed (id INTEGER PRIMARY KEY, i INTEGER, b BIGINT, d DECIMAL(18,3),
  s VARCHAR, dt DATE, ts TIMESTAMP, ok BOOLEAN, u UUID)`;

// Exact JSON (big integers and decimals written as numbers a double cannot hold).
const TYPED_ROWS = `[
  {"id":1,"i":1,"b":9007199254740993,"d":0.125,"s":"O'Brien \\"q\\"","dt":"2024-01-01",
   "ts":"2024-01-01T10:00:00","ok":true,"u":"00000000-0000-0000-0000-000000000001"},
  {"id":2,"i":2,"b":9007199254740992,"d":12345678901234.567,"s":"Zoë ☃ 日本","dt":"2024-02-29",
   "ts":"2024-02-29 23:59:59.123456","ok":false,"u":"00000000-0000-0000-0000-000000000002"},
  {"id":3,"i":3,"b":-9223372036854775808,"d":-1.5,"s":"a,b:c|d","dt":"1999-12-31",
   "ts":"1999-12-31 00:00:00","ok":null,"u":"00000000-0000-0000-0000-000000000003"},
  {"id":4}
]`;

Deno.test("every operator works on every type (INTEGER, BIGINT, DECIMAL, VARCHAR, DATE, TIMESTAMP, BOOLEAN, UUID)", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(TYPED_DDL);
  equal((await a.send("POST", "typed", TYPED_ROWS)).status, 201);
  const u = (n: number) => `00000000-0000-0000-0000-00000000000${n}`;
  const cases: [string, number[]][] = [
    ["i:eq:2", [2]],
    ["i:ne:2", [1, 3]],
    ["i:gt:1", [2, 3]],
    ["i:gte:2", [2, 3]],
    ["i:lt:2", [1]],
    ["i:lte:2", [1, 2]],
    ["i:in:1|3", [1, 3]],
    ["i:nin:1|3", [2]],
    ["i:is:null", [4]],
    ["i:is:notnull", [1, 2, 3]],
    ["i:like:2%", [2]],
    ["b:eq:9007199254740993", [1]],
    ["b:eq:9007199254740992", [2]],
    ["b:gt:9007199254740992", [1]],
    ["b:lt:0", [3]],
    ["b:in:9007199254740993|-9223372036854775808", [1, 3]],
    ["b:nin:9007199254740993", [2, 3]],
    ["d:eq:0.125", [1]],
    ["d:eq:12345678901234.567", [2]],
    ["d:gt:100", [2]],
    ["d:lte:0.125", [1, 3]],
    ["d:in:0.125|-1.5", [1, 3]],
    ["d:ne:0.125", [2, 3]],
    [`s:eq:O'Brien "q"`, [1]],
    ["s:eq:Zoë ☃ 日本", [2]],
    ["s:eq:a\\,b\\:c\\|d", [3]],
    ["s:in:Zoë ☃ 日本|a\\,b\\:c\\|d", [2, 3]],
    ["s:gt:P", [2, 3]],
    ["s:like:Zo%", [2]],
    ["s:like:zo%", []],
    ["s:ilike:zo%", [2]],
    ["s:like:%\\,b%", [3]],
    ["dt:eq:2024-02-29", [2]],
    ["dt:lt:2024-01-01", [3]],
    ["dt:gte:2024-01-01", [1, 2]],
    ["dt:in:2024-01-01|1999-12-31", [1, 3]],
    ["ts:eq:2024-02-29 23:59:59.123456", [2]],
    ["ts:gt:2024-01-01T00:00:00", [1, 2]],
    ["ts:lt:2000-01-01", [3]],
    ["ts:in:2024-01-01 10:00:00|1999-12-31T00:00:00", [1, 3]],
    ["ok:eq:true", [1]],
    ["ok:eq:false", [2]],
    ["ok:ne:true", [2]],
    ["ok:is:null", [3, 4]],
    ["ok:in:true|false", [1, 2]],
    [`u:eq:${u(2)}`, [2]],
    [`u:in:${u(1)}|${u(3)}`, [1, 3]],
    [`u:nin:${u(1)}|${u(3)}`, [2]],
    [`u:gt:${u(1)}`, [2, 3]],
    ["u:like:%3", [3]],
    ["i:gte:1,b:gt:0,ok:eq:true", [1]],
  ];
  for (const [filter, expected] of cases) {
    const r = await a.get(`typed?sort=id&filter=${encodeURIComponent(filter)}`);
    equal(r.status, 200, `${filter}: ${r.text}`);
    deepEqual(ids(r), expected, filter);
  }
  // values come back exactly as written
  const r = await a.get("typed?filter=id:lt:3&sort=id&select=b,d,s,dt,ts,u");
  equal(
    r.text,
    '{"data":[{"b":9007199254740993,"d":0.125,"s":"O\'Brien \\"q\\"","dt":"2024-01-01",' +
      '"ts":"2024-01-01T10:00:00","u":"00000000-0000-0000-0000-000000000001"},' +
      '{"b":9007199254740992,"d":12345678901234.567,"s":"Zoë ☃ 日本","dt":"2024-02-29",' +
      '"ts":"2024-02-29T23:59:59.123456","u":"00000000-0000-0000-0000-000000000002"}]}',
  );
});

Deno.test("values that do not fit the column are 400 naming the offending part", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(TYPED_DDL);
  await a.sql("INSERT INTO typed (id) VALUES (1)"); // DuckDB casts only when a row is read
  const cases: [string, RegExp][] = [
    ["i:eq:abc", /filter i:eq:abc.*INTEGER/],
    ["i:gt:5.5", /filter i:gt:5\.5/],
    ["i:eq:99999999999", /out of range/],
    ["b:eq:9223372036854775808", /out of range/],
    ["dt:eq:2024-13-45", /filter dt:eq:2024-13-45/],
    ["ts:lt:yesterday", /filter ts:lt:yesterday/],
    ["u:eq:not-a-uuid", /filter u:eq:not-a-uuid/],
    ["d:eq:1.2.3", /filter d:eq:1\.2\.3/],
    ["ok:eq:maybe", /filter ok:eq:maybe/],
  ];
  for (const [filter, message] of cases) {
    const r = await a.get(`typed?filter=${encodeURIComponent(filter)}`);
    deepEqual([r.status, r.body.code], [400, "conversion_error"], `${filter}: ${r.text}`);
    match(r.body.detail, message);
    equal(r.headers.get("content-type"), "application/problem+json");
  }
  let r = await a.post("typed", { id: 2, dt: "someday" });
  deepEqual([r.status, r.body.code], [400, "conversion_error"]);
  match(r.body.detail, /the body, column "dt"/);
  r = await a.post("typed", [{ id: 2 }, { id: 3, u: "nope" }]);
  match(r.body.detail, /row 1, column "u"/);
  r = await a.put("typed", { where: { id: 1 }, set: { ok: "perhaps" } });
  match(r.body.detail, /set\.ok/);
  r = await a.post("typed", { id: 2, i: 1.5 });
  match(r.body.detail, /the body, column "i".*1\.5/);
  equal(await a.count("typed"), 1);
});

Deno.test("pagination: empty table, last page, a page beyond the end, count=none", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql("CREATE TABLE n (id INTEGER PRIMARY KEY)");
  let r = await a.get("n?page=1&limit=10&links=true");
  deepEqual(r.body, {
    data: [],
    pagination: { page: 1, limit: 10, total_rows: 0, total_pages: 0, has_more: false },
    _links: {
      self: "/duckdb/api/n?limit=10&page=1&links=true",
      first: "/duckdb/api/n?limit=10&page=1&links=true",
    },
    next_cursor: null,
  });
  r = await a.get("n?page=3&limit=10");
  deepEqual(r.body.pagination, {
    page: 3,
    limit: 10,
    total_rows: 0,
    total_pages: 0,
    has_more: false,
  });
  await a.sql("INSERT INTO n SELECT range FROM range(25)");
  r = await a.get("n?page=3&limit=10&links=true");
  deepEqual(ids(r), [20, 21, 22, 23, 24]);
  deepEqual(r.body.pagination, {
    page: 3,
    limit: 10,
    total_rows: 25,
    total_pages: 3,
    has_more: false,
  });
  deepEqual(Object.keys(r.body._links), ["self", "first", "prev", "last"]);
  equal(r.body.next_cursor, null);
  r = await a.get("n?page=4&limit=10");
  deepEqual(r.body.data, []);
  deepEqual(r.body.pagination, {
    page: 4,
    limit: 10,
    total_rows: 25,
    total_pages: 3,
    has_more: false,
  });
  r = await a.get("n?page=2&limit=10&count=none&links=true");
  deepEqual(r.body.pagination, { page: 2, limit: 10, has_more: true });
  deepEqual(Object.keys(r.body._links), ["self", "first", "prev", "next"]);
  equal(r.headers.get("x-total-count"), null);
  r = await a.get("n?limit=10&filter=id:gt:100");
  deepEqual(r.body.pagination, {
    page: 1,
    limit: 10,
    total_rows: 0,
    total_pages: 0,
    has_more: false,
  });
  for (
    const q of [
      "page=0",
      "page=-2",
      "page=x",
      "limit=0",
      "limit=ten",
      "page=1&page=2",
      "count=maybe",
    ]
  ) {
    r = await a.get(`n?${q}`);
    equal(r.status, 400, q);
    ok(["bad_pagination", "invalid_request"].includes(r.body.code), q);
  }
});

Deno.test("links=true adds _links and the same RFC 8288 Link header, keeping other parameters", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    `${USERS_DDL}; INSERT INTO users (name, age) SELECT 'u' || range, range FROM range(100)`,
  );
  let r = await a.get("users?page=2&limit=10&links=true");
  deepEqual(r.body._links, {
    self: "/duckdb/api/users?limit=10&page=2&links=true",
    first: "/duckdb/api/users?limit=10&page=1&links=true",
    prev: "/duckdb/api/users?limit=10&page=1&links=true",
    next: "/duckdb/api/users?limit=10&page=3&links=true",
    last: "/duckdb/api/users?limit=10&page=10&links=true",
  });
  deepEqual(r.body.pagination, {
    page: 2,
    limit: 10,
    total_rows: 100,
    total_pages: 10,
    has_more: true,
  });
  equal(
    r.headers.get("link"),
    Object.entries(r.body._links).map(([rel, url]) => `<${url}>; rel="${rel}"`).join(", "),
  );
  r = await a.get("users?filter=age:gte:50&sort=age:desc&limit=20&links=true");
  equal(
    r.body._links.next,
    "/duckdb/api/users?filter=age%3Agte%3A50&sort=age%3Adesc&limit=20&page=2&links=true",
  );
  // following the links walks every row once
  const seen: number[] = [];
  let next: string | undefined = "/duckdb/api/users?limit=30&links=true";
  while (next) {
    const page = await t.request(next.slice("/duckdb".length));
    seen.push(...ids(page));
    next = page.body._links.next;
  }
  deepEqual(seen, Array.from({ length: 100 }, (_, i) => i + 1));
  r = await a.get("users?page=1&limit=10");
  equal(r.body._links, undefined);
  equal(r.headers.get("link"), null);
});

Deno.test("a limit above max_rows_per_page is clamped and said so", async () => {
  await using t = await startTestServer({ max_rows_per_page: "5" });
  const a = api(t);
  await a.sql("CREATE TABLE n AS SELECT range AS id FROM range(12)");
  let r = await a.get("n?limit=50");
  equal(r.body.data.length, 5);
  deepEqual(r.body.pagination, {
    page: 1,
    limit: 5,
    total_rows: 12,
    total_pages: 3,
    has_more: true,
    limit_clamped: true,
    requested_limit: 50,
  });
  equal(r.headers.get("x-limit-clamped"), "50 -> 5");
  r = await a.get("n?page=2");
  deepEqual([r.body.data.length, r.body.pagination.limit], [5, 5]);
});

Deno.test("unpaginated reads stop at absolute_max_rows and say so; 0 disables the cap", async () => {
  await using t = await startTestServer({ absolute_max_rows: "7" });
  const a = api(t);
  await a.sql("CREATE TABLE n AS SELECT range AS id FROM range(20)");
  let r = await a.get("n");
  equal(r.body.data.length, 7);
  deepEqual([r.body.truncated, r.body.total_available], [true, 20]);
  match(r.body.message, /limited to 7 rows/);
  equal(r.headers.get("x-truncated"), "true");
  r = await a.get("n?filter=id:lt:7");
  deepEqual(Object.keys(r.body), ["data"]);
  equal(r.headers.get("x-truncated"), null);
  r = await a.get("n?count=none");
  deepEqual([r.body.data.length, r.body.truncated, r.body.total_available], [7, true, undefined]);
  // exports (CSV here) follow max_export_rows (default 0: unlimited), not absolute_max_rows
  r = await a.get("n", { accept: "text/csv" });
  equal(r.text.trim().split("\n").length, 21);
  equal(r.headers.get("x-truncated"), null);
  await using e = await startTestServer({ absolute_max_rows: "7", max_export_rows: "3" });
  await api(e).sql("CREATE TABLE n AS SELECT range AS id FROM range(20)");
  r = await api(e).get("n?format=csv");
  equal(r.text.trim().split("\n").length, 4);
  equal(r.headers.get("x-truncated"), "true");
  r = await api(e).get("n?download=1");
  deepEqual([r.body.data.length, r.body.total_available], [3, 20]);
  match(r.headers.get("content-disposition")!, /attachment; filename="n\.json"/);
  await using u = await startTestServer({ absolute_max_rows: "0" });
  const b = api(u);
  await b.sql("CREATE TABLE n AS SELECT range AS id FROM range(5000)");
  r = await b.get("n?format=ndjson");
  equal(r.text.trim().split("\n").length, 5000);
  r = await b.get("n");
  deepEqual([r.body.data.length, r.body.truncated], [5000, undefined]);
});

Deno.test("GET answers in every format: Accept with q-values or format=", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql("CREATE TABLE f (id INTEGER, s VARCHAR); INSERT INTO f VALUES (1, 'a,b'), (2, NULL)");
  let r = await a.get("f?sort=id", { accept: "text/csv" });
  equal(r.headers.get("content-type"), "text/csv; charset=utf-8");
  equal(r.text, 'id,s\r\n1,"a,b"\r\n2,\r\n');
  r = await a.get("f?sort=id&format=ndjson");
  equal(r.text, '{"id":1,"s":"a,b"}\n{"id":2,"s":null}\n');
  r = await a.get("f?page=1&limit=1&sort=id", { accept: "text/csv;q=0.5, application/json" });
  equal(r.headers.get("content-type"), "application/json");
  r = await a.get("f?page=2&limit=1&sort=id", { accept: "text/csv" });
  equal(r.text, "id,s\r\n2,\r\n");
  equal(r.headers.get("x-total-count"), "2");
  r = await a.get("f", { accept: "image/png" });
  equal(r.status, 406);
});

Deno.test("sort orders by several columns, NULLs last, and rejects bad directions", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql(
    "CREATE TABLE s (id INTEGER PRIMARY KEY, g INTEGER, n VARCHAR); " +
      "INSERT INTO s VALUES (1, 2, 'b'), (2, NULL, 'a'), (3, 1, 'c'), (4, 2, 'a')",
  );
  deepEqual(ids(await a.get("s?sort=g:desc,n:asc")), [4, 1, 3, 2]);
  deepEqual(ids(await a.get("s?sort=g,n:DESC")), [3, 1, 4, 2]);
  let r = await a.get("s?sort=g:up");
  deepEqual([r.status, r.body.code], [400, "bad_sort"]);
  match(r.body.detail, /'asc' or 'desc'/);
  r = await a.get("s?sort=");
  equal(r.status, 200);
  r = await a.get("s?sort=zz");
  deepEqual([r.status, r.body.code], [400, "unknown_column"]);
  r = await a.get("s?select=n,zz");
  deepEqual([r.status, r.body.code], [400, "unknown_column"]);
});

Deno.test("cursor pagination walks the same rows as offset pagination over 10,000 rows", async () => {
  await using t = await startTestServer({ max_rows_per_page: "1000" });
  const a = api(t);
  await a.sql(`CREATE TABLE big (id INTEGER PRIMARY KEY, grp INTEGER, label VARCHAR, ts TIMESTAMP);
    INSERT INTO big SELECT range, CASE WHEN range % 13 = 0 THEN NULL ELSE range % 17 END,
      'l' || (range % 101), TIMESTAMP '2024-01-01' + INTERVAL (range % 50) MINUTE FROM range(10000);
    CREATE TABLE nokey AS SELECT range % 10 AS v FROM range(10000)`);
  const walk = async (query: string, table = "big", key = "id") => {
    const byOffset: unknown[] = [];
    for (let page = 1;; page++) {
      const r = await a.get(`${table}?${query}&page=${page}&limit=300&count=none`);
      byOffset.push(...ids(r, key));
      if (!r.body.pagination.has_more) break;
    }
    const byCursor: unknown[] = [];
    let cursor = "";
    for (let i = 0;; i++) {
      const r = await a.get(`${table}?${query}&limit=300&count=none&after=${cursor}`);
      equal(r.status, 200, r.text);
      byCursor.push(...ids(r, key));
      if (r.body.next_cursor === null) break;
      cursor = r.body.next_cursor;
      ok(i < 200, "the walk must end");
    }
    return { byOffset, byCursor };
  };
  for (
    const query of ["sort=grp:desc,label", "sort=ts,grp:desc", "filter=grp:lt:5&sort=label:desc"]
  ) {
    const { byOffset, byCursor } = await walk(query);
    deepEqual(byCursor, byOffset, query);
    if (!query.startsWith("filter")) equal(new Set(byCursor).size, 10000, query);
  }
  // no primary key: rowid breaks the ties
  await a.sql("ALTER TABLE nokey ADD COLUMN n INTEGER; UPDATE nokey SET n = rowid");
  const { byOffset, byCursor } = await walk("sort=v:desc", "nokey", "n");
  deepEqual(byCursor, byOffset);
  equal(new Set(byCursor).size, 10000);
  // the cursor names its order: another sort refuses it
  const r1 = await a.get("big?sort=label&limit=10");
  const r2 = await a.get(`big?sort=grp&limit=10&after=${r1.body.next_cursor}`);
  deepEqual([r2.status, r2.body.code], [400, "bad_pagination"]);
  const r3 = await a.get("big?after=garbage&limit=10");
  deepEqual([r3.status, r3.body.code], [400, "bad_pagination"]);
  // links in cursor mode
  const r4 = await a.get(`big?limit=10&after=${r1.body.next_cursor}&sort=label&links=true`);
  deepEqual(Object.keys(r4.body._links), ["self", "first", "next"]);
  equal(r4.headers.get("x-next-cursor"), r4.body.next_cursor);
});
