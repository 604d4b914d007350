import { deepEqual, equal, match, ok } from "node:assert/strict";
import { sqlPath, startTestServer } from "./_helpers.ts";
import { api, ids } from "./_api.ts";

Deno.test("unknown query parameters are a 400 unknown_parameter naming the known ones", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql("CREATE TABLE t AS SELECT range::INTEGER AS id FROM range(10)");
  const json = { "content-type": "application/json" };
  const cases: [string, string, RequestInit, RegExp][] = [
    ["GET", "/api/t?offest=5", {}, /did you mean "offset"\?/],
    ["GET", "/api/t?order=id", {}, /filter, sort, select, page, limit, offset/],
    ["GET", "/api/t?limt=2&filter=id:eq:1", {}, /did you mean "limit"/],
    [
      "POST",
      "/api/t?upsert=id",
      { method: "POST", body: '{"id": 99}', headers: json },
      /on_conflict/,
    ],
    ["POST", "/api/t?delimeter=%3B", {
      method: "POST",
      body: "id\n98\n",
      headers: { "content-type": "text/csv" },
    }, /did you mean "delimiter"/],
    ["PUT", "/api/t?where=id:eq:1", {
      method: "PUT",
      body: '{"where": {"id": 1}, "set": {"id": 100}}',
      headers: json,
    }, /takes format\./],
    ["DELETE", "/api/t?where=id:eq:1&dryrun=1", { method: "DELETE" }, /did you mean "dry_run"/],
    ["POST", "/query?limit=5", {
      method: "POST",
      body: '{"sql": "SELECT 1"}',
      headers: json,
    }, /format, download, delimiter, null, header, big_numbers/],
    ["GET", `${sqlPath("SELECT 1 AS x")}?delimeter=%3B`, {}, /did you mean "delimiter"/],
  ];
  for (const [method, path, init, known] of cases) {
    const r = await t.request(path, init);
    deepEqual([r.status, r.body.code], [400, "unknown_parameter"], `${method} ${path}: ${r.text}`);
    equal(r.headers.get("content-type"), "application/problem+json");
    match(r.body.detail, known, path);
    ok(Array.isArray(r.body.known) && typeof r.body.parameter === "string", r.text);
  }
  // nothing was written or deleted by the refused requests
  deepEqual(ids(await a.get("t?sort=id")), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("every query parameter the reference module took is still taken", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR)");
  await a.sql("INSERT INTO t SELECT range, 'x' || range FROM range(30)");
  const read = await a.get("t?filter=id:gte:5&sort=id:desc&page=2&limit=10&links=true");
  deepEqual([read.status, read.body.pagination.page, read.body.data[0].id], [200, 2, 19]);
  ok(read.body._links.next, read.text);
  const dry = await a.del("t?where=id:lt:3&dry_run=true");
  deepEqual([dry.status, dry.body], [200, { dry_run: true, affected_rows: 3 }]);
  const del = await a.del("t?where=id:lt:3");
  deepEqual([del.status, del.body.rows_affected], [200, 3]);
  // and the output options of this server, on reads and on /query
  const csv = await a.get("t?select=id&limit=2&format=csv&delimiter=;&header=false&download=1");
  deepEqual([csv.status, csv.text], [200, "3\r\n4\r\n"]);
  const q = await t.request("/query?format=ndjson&big_numbers=string", {
    method: "POST",
    body: '{"sql": "SELECT 1::BIGINT AS n"}',
  });
  deepEqual([q.status, q.text], [200, '{"n":"1"}\n']);
  // and a CSV body's parameters on POST /api/{table} (issue 16's uploads)
  const upload = await t.request("/api/t?delimiter=;&null=NA&header=true&format=json", {
    method: "POST",
    body: "id;s\n100;NA\n",
    headers: { "content-type": "text/csv" },
  });
  deepEqual([upload.status, upload.body.rows_affected], [201, 1], upload.text);
  deepEqual((await a.get("t?filter=id:eq:100")).body.data, [{ id: 100, s: null }]);
});

Deno.test("offset with limit pages from any row; links step from there", async () => {
  await using t = await startTestServer();
  const a = api(t);
  await a.sql("CREATE TABLE t AS SELECT range::INTEGER AS id FROM range(10)");
  let r = await a.get("t?sort=id&limit=3&offset=4&links=true");
  equal(r.status, 200, r.text);
  deepEqual(ids(r), [4, 5, 6]);
  deepEqual(r.body.pagination, {
    offset: 4,
    limit: 3,
    total_rows: 10,
    total_pages: 4,
    has_more: true,
  });
  deepEqual(r.body._links, {
    self: "/duckdb/api/t?sort=id&limit=3&offset=4&links=true",
    first: "/duckdb/api/t?sort=id&limit=3&offset=0&links=true",
    prev: "/duckdb/api/t?sort=id&limit=3&offset=1&links=true",
    next: "/duckdb/api/t?sort=id&limit=3&offset=7&links=true",
    last: "/duckdb/api/t?sort=id&limit=3&offset=7&links=true",
  });
  r = await a.get("t?sort=id&limit=3&offset=7&links=true");
  deepEqual([ids(r), r.body.pagination.has_more, r.body._links.next], [
    [7, 8, 9],
    false,
    undefined,
  ]);
  r = await a.get("t?sort=id&offset=8");
  deepEqual([ids(r), r.body.pagination.limit], [[8, 9], 100]);
  r = await a.get("t?sort=id&limit=5&offset=0");
  deepEqual(ids(r), [0, 1, 2, 3, 4]);
  r = await a.get("t?sort=id&limit=5&offset=50&links=true");
  deepEqual([r.status, ids(r), r.body.pagination.total_rows], [200, [], 10]);
  equal(r.body._links.last, "/duckdb/api/t?sort=id&limit=5&offset=5&links=true");
  r = await a.get("t?sort=id&limit=2&offset=3&format=csv&header=false");
  deepEqual([r.text, r.headers.get("x-total-count")], ["3\r\n4\r\n", "10"]);
  for (
    const bad of [
      "offset=-1",
      "offset=x",
      "offset=1&page=2",
      "offset=1&after=",
      "offset=1&offset=2",
    ]
  ) {
    r = await a.get(`t?limit=2&${bad}`);
    equal(r.status, 400, bad);
    ok(["bad_pagination", "invalid_request"].includes(r.body.code), `${bad}: ${r.text}`);
  }
  // documented: GET /api/{table} lists offset among its parameters
  const doc = (await t.request("/openapi.json")).body;
  const names = doc.paths["/api/{table}"].get.parameters.map((p: { $ref: string }) =>
    doc.components.parameters[p.$ref.split("/").at(-1)!].name
  );
  ok(names.includes("offset") && names.includes("page"), names.join());
});
