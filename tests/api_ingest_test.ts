// Inserts from file bodies: POST /api/{table} with CSV, NDJSON and Parquet, read by DuckDB's own
// readers into one transaction, with the permissions, column checks, upserts, RETURNING and
// change events of JSON inserts.
import { deepEqual, equal, ok } from "node:assert/strict";
import { dirname } from "node:path";
import { type AuthTestServer, sqlPath, startAuthServer, startTestServer } from "./_helpers.ts";
import { readAll } from "./_follow.ts";
import { feedUrl } from "./_follow.ts";

const SETUP = "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR, price DECIMAL(10,2), " +
  "tags VARCHAR[], ts TIMESTAMP DEFAULT TIMESTAMP '2000-01-01')";

const CSV = "text/csv";
const NDJSON = "application/x-ndjson";
const PARQUET = "application/vnd.apache.parquet";

async function start(flags: Record<string, string> = {}): Promise<AuthTestServer> {
  const t = await startAuthServer({
    roles: { creator: [["items", "c"]], viewer: [["items", "r"]] },
    flags,
  });
  const setup = await t.query(SETUP, undefined, { ...t.as(t.keys.admin), "x-request-id": "setup" });
  equal(setup.status, 200, setup.text);
  return t;
}

/** POSTs `body` with `type` to /api/items (plus `query`) as `key`. */
function upload(
  t: AuthTestServer,
  type: string,
  body: BodyInit,
  options: { query?: string; key?: string; headers?: Record<string, string> } = {},
) {
  return t.request(`/api/items${options.query ?? ""}`, {
    method: "POST",
    headers: { ...t.as(options.key ?? t.keys.admin), "content-type": type, ...options.headers },
    body,
  });
}

/** The rows of items in id order, as CSV lines (without the header). */
async function rows(t: AuthTestServer): Promise<string[]> {
  const reply = await t.request(
    sqlPath("SELECT id, name, price, tags, ts FROM items ORDER BY id", "csv"),
    {
      headers: t.as(t.keys.admin),
    },
  );
  equal(reply.status, 200, reply.text);
  return reply.text.trim().split(/\r?\n/).slice(1);
}

/** A Parquet file made by DuckDB itself (the server's own export of `sql`). */
async function parquetOf(t: AuthTestServer, sql: string): Promise<ArrayBuffer> {
  const reply = await fetch(`${t.url}${sqlPath(sql, "parquet")}`, { headers: t.as(t.keys.admin) });
  equal(reply.status, 200);
  return await reply.arrayBuffer();
}

Deno.test("uploads: CSV (header, delimiter, null), NDJSON and Parquet bodies insert their rows", async () => {
  await using t = await start();
  const csv = await upload(t, CSV, 'id,name,price\n1,"a, b",1.5\n2,,2\n');
  equal(csv.status, 201, csv.text);
  deepEqual(csv.body, { success: true, rows_affected: 2 });
  const semicolons = await upload(t, `${CSV}; charset=utf-8`, "3;x;NA\n4;NA;4.25\n", {
    query: "?delimiter=;&null=NA&header=false",
  });
  // header=false: the table's columns in order, so the line must have all of them.
  equal(semicolons.status, 400, semicolons.text);
  const positional = await upload(t, CSV, "3;x;NA;[a];NA\n4;NA;4.25;NA;2020-01-02 03:04:05\n", {
    query: "?delimiter=;&null=NA&header=false",
  });
  equal(positional.status, 201, positional.text);
  const ndjson = await upload(
    t,
    NDJSON,
    '{"id": 5, "name": "n", "tags": ["x", "y"]}\n{"id": 6, "price": "7.10"}\n',
  );
  equal(ndjson.status, 201, ndjson.text);
  const parquet = await upload(
    t,
    PARQUET,
    await parquetOf(
      t,
      "SELECT 7 + i AS id, 'p' || i AS name, 1.25 * i AS price FROM range(2) t(i)",
    ),
  );
  equal(parquet.status, 201, parquet.text);
  deepEqual(parquet.body, { success: true, rows_affected: 2 });
  deepEqual(await rows(t), [
    '1,"a, b",1.50,,2000-01-01T00:00:00',
    "2,,2.00,,2000-01-01T00:00:00",
    '3,x,,"[""a""]",',
    "4,,4.25,,2020-01-02T03:04:05",
    '5,n,,"[""x"",""y""]",2000-01-01T00:00:00',
    "6,,7.10,,2000-01-01T00:00:00",
    "7,p0,0.00,,2000-01-01T00:00:00",
    "8,p1,1.25,,2000-01-01T00:00:00",
  ]);
});

Deno.test("uploads: a bad value names its line and column, and nothing is inserted", async () => {
  await using t = await start();
  const cases: [string, BodyInit, RegExp][] = [
    [CSV, "id,price\n1,1\n2,lots\n3,3\n", /^line 3, column "price": "lots" is not a valid DECIMAL/],
    [NDJSON, '{"id": 1}\n{"id": "two"}\n', /^line 2, column "id": "two" is not a valid BIGINT/],
    [
      PARQUET,
      await parquetOf(
        t,
        "SELECT i AS id, CASE WHEN i = 1 THEN 'x' ELSE '1' END AS price FROM range(3) t(i)",
      ),
      /^row 2, column "price": "x" is not a valid DECIMAL/,
    ],
  ];
  for (const [type, body, message] of cases) {
    const reply = await upload(t, type, body);
    equal(reply.status, 400, `${type}: ${reply.text}`);
    equal(reply.body.code, "conversion_error", type);
    ok(message.test(reply.body.detail), `${type}: ${reply.body.detail}`);
    equal(reply.body.column, /"id"/.test(message.source) ? "id" : "price");
    ok(!reply.text.includes("duckserve-upload"), "the private path stays private");
  }
  const unknown = await upload(t, CSV, "id,nope\n1,2\n");
  equal(unknown.status, 400);
  equal(unknown.body.code, "unknown_column");
  const notObject = await upload(t, NDJSON, '{"id": 1}\n[2]\n');
  equal(notObject.status, 400);
  ok(/Line 2/.test(notObject.body.detail), notObject.text);
  // A duplicate key on the last line: the statement fails as a whole.
  const duplicate = await upload(t, CSV, "id\n10\n11\n10\n");
  equal(duplicate.status, 409, duplicate.text);
  deepEqual(await rows(t), []);
});

Deno.test("uploads: max_upload_size (413), empty bodies (400); max_body_size stays for JSON", async () => {
  await using t = await start({ max_upload_size: "64", max_body_size: "1MB" });
  const big = `id,name\n${Array.from({ length: 20 }, (_, i) => `${i},name${i}`).join("\n")}\n`;
  const tooLarge = await upload(t, CSV, big);
  equal(tooLarge.status, 413);
  ok(/max_upload_size/.test(tooLarge.body.detail));
  // Streamed (no Content-Length): cut off while reading.
  const stream = new Blob([big]).stream();
  const streamed = await upload(t, CSV, stream);
  equal(streamed.status, 413);
  equal((await upload(t, CSV, "")).status, 400);
  const json = await upload(
    t,
    "application/json",
    JSON.stringify([{ id: 1 }, { id: 2 }, { id: 3 }]),
  );
  equal(json.status, 201, json.text);
  deepEqual((await rows(t)).length, 3);
});

Deno.test("uploads: permissions as for JSON inserts, checked before the body is read", async () => {
  await using t = await start();
  equal((await upload(t, CSV, "id\n1\n", { key: t.keys.viewer })).status, 403);
  equal((await upload(t, CSV, "id\n1\n", { key: t.keys.creator })).status, 201);
  // Upserts need u, RETURNING needs r.
  equal(
    (await upload(t, CSV, "id\n1\n", { key: t.keys.creator, query: "?on_conflict=id" })).status,
    403,
  );
  const returning = await upload(t, CSV, "id\n2\n", {
    key: t.keys.creator,
    headers: { prefer: "return=representation" },
  });
  equal(returning.status, 403);
  deepEqual(await rows(t), ["1,,,,2000-01-01T00:00:00"]);
});

Deno.test("uploads: upsert, RETURNING and change events like JSON inserts", async () => {
  await using t = await start();
  equal(
    (await upload(t, CSV, "id,name\n1,a\n2,b\n", { headers: { "x-request-id": "first" } })).status,
    201,
  );
  const merged = await upload(t, CSV, "id,name\n2,B\n3,c\n", {
    query: "?on_conflict=id",
    headers: { prefer: "return=representation", "x-request-id": "merge" },
  });
  equal(merged.status, 201, merged.text);
  deepEqual(merged.body.data.map((r: { id: number; name: string }) => [r.id, r.name]), [[2, "B"], [
    3,
    "c",
  ]]);
  const ignored = await upload(t, NDJSON, '{"id": 3, "name": "no"}\n{"id": 4, "name": "d"}\n', {
    headers: { prefer: "resolution=ignore-duplicates", "x-request-id": "ignore" },
  });
  equal(ignored.status, 201);
  deepEqual(ignored.body, { success: true, rows_affected: 1 });
  deepEqual(await rows(t), [
    "1,a,,,2000-01-01T00:00:00",
    "2,B,,,2000-01-01T00:00:00",
    "3,c,,,2000-01-01T00:00:00",
    "4,d,,,2000-01-01T00:00:00",
  ]);
  const { events } = await readAll(feedUrl(t.url, "items"), t.as(t.keys.admin), "-1");
  deepEqual(
    events.filter((e) => e.request_id !== "setup").map((
      e,
    ) => [e.request_id, e.op, e.count, e.keys]),
    [
      ["first", "insert", 2, [{ id: 1 }, { id: 2 }]],
      ["merge", "upsert", 2, [{ id: 2 }, { id: 3 }]],
      ["ignore", "insert", 1, [{ id: 4 }]],
    ],
  );
});

Deno.test("uploads: the uploads directory is out of user SQL's reach", async () => {
  await using t = await start();
  const base = dirname(await Deno.makeTempDir());
  const listed = await t.query(
    `SELECT * FROM glob('${base}/duckserve-upload-*/*')`,
    undefined,
    t.as(t.keys.admin),
  );
  equal(listed.status, 403, listed.text);
  equal(listed.body.code, "sandbox_violation");
});

const TWINS = ["a", "b"].map((t) =>
  `CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR, score DOUBLE, ok BOOLEAN, ` +
  `born DATE, price DECIMAL(10,2), tiny TINYINT, note VARCHAR DEFAULT 'dflt')`
).join("; ");

/** Rows of a large JSON body (over the reader's threshold when sent at once). */
function bulkRows(n: number, row: (i: number) => Record<string, unknown>) {
  return Array.from({ length: n }, (_, i) => row(i));
}

/**
 * Inserts `rows` into `a` at once (a large JSON body: DuckDB's reader when it gives the same
 * answer) and into `b` in small bodies (the JSON insert), and compares both tables.
 */
async function twins(t: AuthTestServer, rows: Record<string, unknown>[]) {
  const post = (table: string, body: unknown) =>
    t.request(`/api/${table}`, {
      method: "POST",
      headers: { ...t.as(t.keys.admin), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const whole = await post("a", rows);
  for (let i = 0; i < rows.length; i += 200) {
    const part = await post("b", rows.slice(i, i + 200));
    equal(part.status, whole.status, part.text);
  }
  const dump = async (table: string) =>
    (await t.request(sqlPath(`SELECT * FROM ${table} ORDER BY id`, "csv"), {
      headers: t.as(t.keys.admin),
    })).text;
  equal(await dump("a"), await dump("b"));
  await t.query("DELETE FROM a; DELETE FROM b", undefined, t.as(t.keys.admin));
  const id = whole.headers.get("x-request-id");
  const path = t.events("json_insert_path").filter((e) => e.request_id === id);
  return { ...whole, path: path.map((e) => e.path + (e.why ? `: ${e.why}` : "")).join() };
}

Deno.test("large JSON arrays: DuckDB's reader gives exactly what the JSON insert gives", async () => {
  await using t = await start();
  equal((await t.query(TWINS, undefined, t.as(t.keys.admin))).status, 200);
  const plain = (i: number) => ({
    id: i,
    name: i % 7 ? `name ${i} "quoted" ünïcode` : null,
    score: i / 4,
    ok: i % 2 === 0,
    born: `2020-01-${String(1 + (i % 28)).padStart(2, "0")}`,
    price: `${i}.05`,
    tiny: i % 100,
  });
  const rows = bulkRows(3000, plain);
  ok(JSON.stringify(rows).length > 64 * 1024, "over the reader's threshold");
  const whole = await twins(t, rows);
  equal(whole.status, 201, whole.text);
  deepEqual(whole.body, { success: true, rows_affected: 3000 });
  equal(whole.path, "reader", "read by DuckDB's JSON reader");
  // Rows without some keys get their DEFAULT (not NULL), numbers for DECIMAL keep their exact
  // rounding, strings for integers are read as the JSON insert reads them.
  const fallbacks = [
    bulkRows(3000, (i) => {
      const { name: _, ...rest } = plain(i);
      return i % 2 ? rest : { ...plain(i), note: null };
    }),
    bulkRows(3000, (i) => ({ ...plain(i), price: 1.005 + i })),
    bulkRows(3000, (i) => ({ ...plain(i), tiny: ` ${i % 9}` })),
  ];
  for (const rows of fallbacks) {
    const reply = await twins(t, rows);
    equal(reply.status, 201, reply.text);
    ok(
      /^insert: (values|keys|a number)/.test(reply.path),
      `the JSON insert's own rules: ${reply.path}`,
    );
  }
  // A value out of range: the JSON insert's own error, nothing written.
  const bad = bulkRows(3000, (i) => ({ ...plain(i), tiny: i === 2500 ? 300 : 1 }));
  const refused = await t.request("/api/a", {
    method: "POST",
    headers: { ...t.as(t.keys.admin), "content-type": "application/json" },
    body: JSON.stringify(bad),
  });
  equal(refused.status, 400, refused.text);
  equal(refused.body.code, "conversion_error");
  ok(/^row 2500, column "tiny": 300 is out of range/.test(refused.body.detail), refused.text);
  const count = await t.query("SELECT count(*) AS n FROM a", undefined, t.as(t.keys.admin));
  deepEqual(count.body.data, [{ n: 0 }]);
});

Deno.test("uploads: refused (503) when user SQL could reach the uploads directory", async () => {
  const base = dirname(await Deno.makeTempDir());
  await using t = await startTestServer({ allowed_directories: base, auth_enabled: "false" });
  equal(t.events("uploads_unavailable").length, 1);
  const post = (type: string, body: string) =>
    t.request("/api/items", { method: "POST", headers: { "content-type": type }, body });
  equal((await t.query(SETUP)).status, 200);
  const refused = await post(CSV, "id\n1\n");
  equal(refused.status, 503, refused.text);
  equal(refused.body.code, "unavailable");
  // JSON bodies, large ones too, take the JSON insert.
  const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `n${i}` }));
  equal((await post("application/json", JSON.stringify(rows))).status, 201);
  deepEqual((await t.query("SELECT count(*) AS n FROM items")).body.data, [{ n: 3000 }]);
});
