// End-to-end tests of output formats: every type in every format (JS encoders and DuckDB's
// writers agree byte for byte), independent readers for Parquet and Arrow, negotiation, CSV
// options, caps, Content-Disposition, compression, mid-stream failures and bounded memory.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import http from "node:http";
import zlib from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { tableFromIPC as flechetteFromIPC } from "@uwdata/flechette";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { sqlPath, startTestServer, type TestServer } from "./_helpers.ts";

/** One row of every type (plus a row of NULLs); `j` is JSON text. */
const ALL_TYPES = `SELECT * FROM (VALUES
 (1, (-128)::TINYINT, (-32768)::SMALLINT, (-2147483648)::INTEGER, (-9223372036854775808)::BIGINT,
  (-170141183460469231731687303715884105727)::HUGEINT, 340282366920938463463374607431768211455::UHUGEINT,
  255::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER, 18446744073709551615::UBIGINT,
  999.99::DECIMAL(18,3), 12345678901234567890.1234567891::DECIMAL(38,10), -1.5::DECIMAL(4,1),
  1.1::FLOAT, 'NaN'::DOUBLE, 'inf'::FLOAT, '-inf'::DOUBLE, -0.0::DOUBLE, 1e20::DOUBLE, 1e-7::DOUBLE,
  0.1::DOUBLE, 3.14159::FLOAT,
  E'uni ☃ 😀 "quoted", comma\\nnew\\r\\ncr\\ttab \\x01\\x1f \\\\back', ' edge ', '', '\\xAA\\x00\\xFF'::BLOB,
  DATE '2024-02-29', DATE 'infinity', DATE '-infinity', TIME '12:34:56.789', TIME '00:00:00',
  TIMETZ '12:34:56+05:30', TIMETZ '01:02:03.5-08',
  TIMESTAMP '2024-01-02 03:04:05.120', TIMESTAMP 'infinity', TIMESTAMP_S '2024-01-02 03:04:05',
  TIMESTAMP_MS '2024-01-02 03:04:05.123', TIMESTAMP_NS '2024-01-02 03:04:05.123456789',
  TIMESTAMPTZ '2024-01-02 03:04:05.5+02', TIMESTAMPTZ '-infinity',
  INTERVAL '1 year 2 months 3 days 04:05:06.789', INTERVAL '-1 year 2 months -3 days -04:05:06.5',
  INTERVAL '0 seconds', -INTERVAL '0.5 seconds', INTERVAL '36 hours',
  uuid '00112233-4455-6677-8899-aabbccddeeff', 'b'::ENUM('a', 'b'), [1, 2, NULL],
  [{'x': 1.5::FLOAT, 'y': [TIMESTAMP '2024-01-01 00:00:00']}, NULL], {'a': 1, 'b': 'NaN'::DOUBLE, 'c': '\\xAB'::BLOB},
  MAP {'k': 1, 'j': NULL}, MAP {1: 'x', 2: 'y'}, [1.5::DOUBLE, 'inf'::DOUBLE]::DOUBLE[2], true, NULL::INTEGER,
  '{"a": [1, 2]}'::JSON, MAP {'k': INTERVAL '1 day'}, MAP {DATE '2024-01-01': 1}),
 (2, ${Array(53).fill("NULL").join(", ")}, false, NULL, NULL, NULL, NULL)
) v(id, ti, si, i, bi, hi, uhi, uti, usi, ui, ubi, d18, d38, d4, f, nan, finf, dninf, negzero, big,
  small, tenth, pi, s, edge, empty, bl, dt, dtinf, dtninf, tm, tm0, ttz, ttz2, ts, tsinf, tss, tsms,
  tsns, tstz, tstzinf, iv, ivneg, iv0, ivhalf, iv36, u, e, l, ls, st, m, mi, arr, bo, n, j, miv, mdate)`;

/** Everything but the JSON column (DuckDB's JSON writer normalises JSON text). */
const NO_JSON = "SELECT * EXCLUDE (j) FROM all_types ORDER BY id";

async function withAllTypes(flags: Record<string, string> = {}): Promise<TestServer> {
  const t = await startTestServer({ absolute_max_rows: "0", ...flags });
  const r = await t.query(`CREATE TABLE all_types AS ${ALL_TYPES}`);
  equal(r.status, 200, r.text);
  return t;
}

/** Which writer produced the last streamed response (from the debug event). */
function lastWriter(t: TestServer): string {
  const events = t.logs.map((l) => JSON.parse(l)).filter((e) => e.event === "rows_streaming");
  return events[events.length - 1]?.writer;
}

/** POSTs raw SQL; `script` puts a no-op statement first, which forces the JS encoders. */
function post(t: TestServer, sql: string, accept: string, script = false, query = "") {
  return t.request(`/query${query}`, {
    method: "POST",
    headers: { accept, "accept-encoding": "identity" },
    body: JSON.stringify({ sql: script ? `SELECT 1; ${sql}` : sql }),
  });
}

async function bytesOf(t: TestServer, sql: string, accept: string, script = false) {
  const res = await fetch(`${t.url}/query`, {
    method: "POST",
    headers: { accept, "accept-encoding": "identity" },
    body: JSON.stringify({ sql: script ? `SELECT 1; ${sql}` : sql }),
  });
  equal(res.status, 200);
  return { headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

Deno.test("JSON renders every type exactly", async () => {
  await using t = await withAllTypes({ absolute_max_rows: "100" });
  const r = await post(t, "SELECT * FROM all_types ORDER BY id", "application/json");
  equal(r.status, 200);
  equal(lastWriter(t), "js");
  for (
    const fragment of [
      '"ti":-128',
      '"bi":-9223372036854775808',
      '"hi":-170141183460469231731687303715884105727',
      '"uhi":340282366920938463463374607431768211455',
      '"ubi":18446744073709551615',
      '"d18":999.990',
      '"d38":12345678901234567890.1234567891',
      '"f":1.1,',
      '"nan":"NaN"',
      '"finf":"Infinity"',
      '"dninf":"-Infinity"',
      '"negzero":-0.0',
      '"small":1e-7',
      '"s":"uni ☃ 😀 \\"quoted\\", comma\\nnew\\r\\ncr\\ttab \\u0001\\u001F \\\\back"',
      '"edge":" edge "',
      '"bl":"qgD/"',
      '"dt":"2024-02-29"',
      '"dtinf":"infinity"',
      '"tm":"12:34:56.789"',
      '"ttz":"12:34:56+05:30"',
      '"ttz2":"01:02:03.5-08:00"',
      '"ts":"2024-01-02T03:04:05.12"',
      '"tss":"2024-01-02T03:04:05"',
      '"tsns":"2024-01-02T03:04:05.123456789"',
      '"tstz":"2024-01-02T01:04:05.5Z"',
      '"iv":"P1Y2M3DT4H5M6.789S"',
      '"ivneg":"P-10M-3DT-4H-5M-6.5S"',
      '"iv0":"PT0S"',
      '"ivhalf":"PT-0.5S"',
      '"u":"00112233-4455-6677-8899-aabbccddeeff"',
      '"e":"b"',
      '"l":[1,2,null]',
      '"ls":[{"x":1.5,"y":["2024-01-01T00:00:00"]},null]',
      '"st":{"a":1,"b":"NaN","c":"qw=="}',
      '"m":{"k":1,"j":null}',
      '"mi":[{"key":1,"value":"x"},{"key":2,"value":"y"}]',
      '"arr":[1.5,"Infinity"]',
      '"j":{"a": [1, 2]}',
      '"mdate":[{"key":"2024-01-01","value":1}]',
    ]
  ) ok(r.text.includes(fragment), `${fragment} missing in ${r.text}`);
  const row2 = r.body.data[1];
  deepEqual(Object.values(row2).filter((v) => v !== null), [2, false]);
  // big_numbers=string quotes the wide integers and DECIMAL for JS clients
  const s = await post(
    t,
    "SELECT * FROM all_types ORDER BY id",
    "*/*",
    false,
    "?big_numbers=string",
  );
  for (
    const fragment of [
      '"ubi":"18446744073709551615"',
      '"d18":"999.990"',
      '"bi":"-9223372036854775808"',
      '"i":-2147483648',
    ]
  ) ok(s.text.includes(fragment), fragment);
  deepEqual(s.body.data[0].ubi, "18446744073709551615");
});

Deno.test("DuckDB's writers and the JS encoders render every type identically", async () => {
  await using t = await withAllTypes();
  const cases: [string, string][] = [
    ["application/x-ndjson", ""],
    ["text/csv", ""],
    ["text/csv", "?delimiter=;&null=NULL"],
    ["text/csv", "?delimiter=tab&header=false"],
    ["application/x-ndjson", "?big_numbers=string"],
  ];
  for (const [accept, query] of cases) {
    const viaJs = await post(t, NO_JSON, accept, true, query);
    equal(lastWriter(t), "js");
    const viaDuckDB = await post(t, NO_JSON, accept, false, query);
    equal(lastWriter(t), "duckdb", `${accept}${query}`);
    equal(viaDuckDB.status, 200);
    equal(viaDuckDB.text, viaJs.text, `${accept}${query}`);
  }
  // years outside 1-9999 take DuckDB's text with T for its first space, in both paths
  const edges = `SELECT * FROM (VALUES (make_timestamp(10000, 1, 1, 0, 0, 0)),
    (make_timestamp(-43, 3, 15, 12, 0, 1.5)), (TIMESTAMP '0001-01-01 00:00:00'),
    (TIMESTAMP '9999-12-31 23:59:59.999999')) v(ts)`;
  for (const accept of ["application/x-ndjson", "text/csv"]) {
    const a = await post(t, edges, accept, true);
    const b = await post(t, edges, accept);
    equal(lastWriter(t), "duckdb");
    equal(b.text, a.text);
    ok(b.text.includes("10000-01-01T00:00:00") && b.text.includes("9999-12-31T23:59:59.999999"));
  }
  const js = await post(t, NO_JSON, "application/json", true);
  const duck = await post(t, NO_JSON, "application/json");
  equal(lastWriter(t), "duckdb");
  equal(duck.text, js.text);
  const empty = await post(t, "SELECT * FROM all_types WHERE false", "application/json");
  equal(empty.text, '{"data":[]}');
  // JSON text columns stay as written, so they take the JS path for JSON formats.
  const withJson = await post(t, "SELECT id, j FROM all_types ORDER BY id", "application/x-ndjson");
  equal(lastWriter(t), "js");
  equal(withJson.text, '{"id":1,"j":{"a": [1, 2]}}\n{"id":2,"j":null}\n');
  const csvJson = await post(t, "SELECT id, j FROM all_types ORDER BY id", "text/csv");
  equal(lastWriter(t), "duckdb");
  equal(csvJson.text, 'id,j\r\n1,"{""a"": [1, 2]}"\r\n2,\r\n');
});

Deno.test("CSV is RFC 4180 with options for delimiter, NULL marker and header", async () => {
  await using t = await startTestServer();
  const sql = `SELECT * FROM (VALUES (1, 'a,b', 'say "hi"', E'two\\nlines', '', NULL, 'NULL'))
    v(id, comma, quote, nl, empty, nothing, word)`;
  for (const script of [false, true]) {
    let r = await post(t, sql, "text/csv", script);
    equal(
      r.text,
      'id,comma,quote,nl,empty,nothing,word\r\n1,"a,b","say ""hi""","two\nlines","",,NULL\r\n',
    );
    r = await post(t, sql, "text/csv", script, "?delimiter=;&null=NULL&header=false");
    equal(r.text, '1;a,b;"say ""hi""";"two\nlines";;NULL;"NULL"\r\n');
    r = await post(t, sql, "text/csv", script, "?delimiter=tab");
    match(r.text, /^id\tcomma\t/);
  }
  for (const bad of ["?delimiter=ab", '?delimiter="', "?null=a%0Ab", "?header=maybe"]) {
    const r = await post(t, "SELECT 1", "text/csv", false, bad);
    deepEqual([r.status, r.body.code], [400, "invalid_request"], bad);
  }
});

Deno.test("duplicate column names are kept, suffixed _1, _2 in every format", async () => {
  await using t = await startTestServer();
  const sql = "SELECT 1 AS a, 2 AS a, 3 AS a_1";
  let r = await post(t, sql, "application/json");
  equal(r.text, '{"data":[{"a":1,"a_1":2,"a_1_1":3}]}');
  r = await post(t, sql, "text/csv");
  equal(r.text, "a,a_1,a_1_1\r\n1,2,3\r\n");
  const arrow = await bytesOf(t, sql, "application/vnd.apache.arrow.stream");
  deepEqual(tableFromIPC(arrow.bytes).schema.fields.map((f) => f.name), ["a", "a_1", "a_1_1"]);
  const parquet = await bytesOf(t, sql, "application/vnd.apache.parquet");
  deepEqual(await parquetReadObjects({ file: parquet.bytes.buffer }), [{ a: 1, a_1: 2, a_1_1: 3 }]);
});

/** Parquet bytes read back by DuckDB (a separate instance) and compared with the source rows. */
async function assertParquetMatches(bytes: Uint8Array, sql: string) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/x.parquet`, bytes);
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    await c.run("SET TimeZone = 'UTC'");
    await c.run(`CREATE TABLE all_types AS ${ALL_TYPES}`);
    await c.run(`CREATE TABLE expected AS ${sql}`);
    const parquet = `read_parquet('${dir}/x.parquet')`;
    // Types Parquet cannot hold exactly are written as text or a struct (see README).
    const converted = "hi, uhi, ttz, ttz2, iv, ivneg, iv0, ivhalf, iv36, miv";
    const diff = await c.runAndReadAll(
      `SELECT count(*) FROM ((SELECT * EXCLUDE (${converted}) FROM expected EXCEPT ALL
        SELECT * EXCLUDE (${converted}) FROM ${parquet}) UNION ALL
        (SELECT * EXCLUDE (${converted}) FROM ${parquet} EXCEPT ALL
        SELECT * EXCLUDE (${converted}) FROM expected))`,
    );
    equal(Number(diff.getRows()[0][0]), 0);
    const exact = await c.runAndReadAll(
      `SELECT hi, uhi, ttz, ttz2, iv::VARCHAR, ivneg::VARCHAR, iv0::VARCHAR, ivhalf::VARCHAR,
        iv36::VARCHAR, miv::VARCHAR FROM ${parquet} ORDER BY id`,
    );
    deepEqual(exact.getRows(), [
      [
        "-170141183460469231731687303715884105727",
        "340282366920938463463374607431768211455",
        "12:34:56+05:30",
        "01:02:03.5-08:00",
        "{'months': 14, 'days': 3, 'micros': 14706789000}",
        "{'months': -10, 'days': -3, 'micros': -14706500000}",
        "{'months': 0, 'days': 0, 'micros': 0}",
        "{'months': 0, 'days': 0, 'micros': -500000}",
        "{'months': 0, 'days': 0, 'micros': 129600000000}",
        "{k={'months': 0, 'days': 1, 'micros': 0}}",
      ],
      [null, null, null, null, null, null, null, null, null, null],
    ]);
    const types = await c.runAndReadAll(
      `SELECT column_name, column_type FROM (DESCRIBE FROM ${parquet})`,
    );
    const typeOf = Object.fromEntries(types.getRows());
    deepEqual(
      [typeOf.ubi, typeOf.d38, typeOf.dt, typeOf.tsns, typeOf.tstz, typeOf.u, typeOf.m, typeOf.ls],
      [
        "UBIGINT",
        "DECIMAL(38,10)",
        "DATE",
        "TIMESTAMP_NS",
        "TIMESTAMP WITH TIME ZONE",
        "UUID",
        "MAP(VARCHAR, INTEGER)",
        "STRUCT(x FLOAT, y TIMESTAMP[])[]",
      ],
    );
    c.closeSync();
    db.closeSync();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Parquet holds every type exactly (DuckDB and hyparquet read it back)", async () => {
  await using t = await withAllTypes();
  for (const script of [false, true]) {
    const { headers, bytes } = await bytesOf(t, NO_JSON, "application/parquet", script);
    equal(lastWriter(t), "duckdb");
    equal(headers.get("content-type"), "application/parquet");
    equal(headers.get("content-encoding"), null);
    match(headers.get("content-disposition")!, /attachment; filename="result\.parquet"/);
    equal(new TextDecoder().decode(bytes.slice(0, 4)), "PAR1");
    await assertParquetMatches(bytes, NO_JSON);
    const metadata = parquetMetadata(bytes.buffer);
    equal(Number(metadata.num_rows), 2);
    const rows = await parquetReadObjects({ file: bytes.buffer });
    equal(rows[0].ubi, 18446744073709551615n);
    equal(rows[0].s, 'uni ☃ 😀 "quoted", comma\nnew\r\ncr\ttab \x01\x1f \\back');
    deepEqual(rows[0].l, [1, 2, null]);
    equal(rows[1].bo, false);
    equal(rows[1].s, null);
  }
});

Deno.test("Arrow IPC stream holds every type (apache-arrow and flechette read it)", async () => {
  await using t = await withAllTypes();
  const { headers, bytes } = await bytesOf(
    t,
    "FROM all_types ORDER BY id",
    "application/vnd.apache.arrow.stream",
  );
  equal(headers.get("content-type"), "application/vnd.apache.arrow.stream");
  const table = tableFromIPC(bytes);
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  deepEqual(
    [types.ti, types.hi, types.uhi, types.ubi, types.d18, types.d38, types.f, types.bl, types.u],
    [
      "Int8",
      "Decimal[38e0]",
      "Utf8",
      "Uint64",
      "Decimal[18e+3]",
      "Decimal[38e+10]",
      "Float32",
      "Binary",
      "FixedSizeBinary[16]",
    ],
  );
  deepEqual(
    [types.dt, types.tm, types.ts, types.tss, types.tsns, types.tstz, types.iv, types.e],
    [
      "Date32<DAY>",
      "Time64<MICROSECOND>",
      "Timestamp<MICROSECOND>",
      "Timestamp<SECOND>",
      "Timestamp<NANOSECOND>",
      "Timestamp<MICROSECOND, UTC>",
      "Interval<MONTH_DAY_NANO>",
      "Dictionary<Uint8, Utf8>",
    ],
  );
  match(types.m, /^Map<\{key:Utf8, value:Int32\}>/);
  match(types.ls, /^List<Struct<\{x:Float32, y:List<Timestamp<MICROSECOND>>\}>>/);
  equal(
    table.schema.fields.find((f) => f.name === "u")!.metadata.get("ARROW:extension:name"),
    "arrow.uuid",
  );

  const rows = flechetteFromIPC(bytes, { useBigInt: true, useDecimalInt: true, useMap: true })
    .toArray();
  const [a, b] = rows as Record<string, unknown>[];
  equal(a.ti, -128);
  equal(a.bi, -9223372036854775808n);
  equal(a.hi, -170141183460469231731687303715884105727n);
  equal(a.uhi, "340282366920938463463374607431768211455");
  equal(a.ubi, 18446744073709551615n);
  equal(a.d18, 999990n);
  equal(a.d38, 123456789012345678901234567891n);
  equal(a.d4, -15n);
  equal(a.f, Math.fround(1.1));
  ok(Number.isNaN(a.nan));
  equal(a.finf, Infinity);
  ok(Object.is(a.negzero, -0));
  equal(a.s, 'uni ☃ 😀 "quoted", comma\nnew\r\ncr\ttab \x01\x1f \\back');
  equal(a.empty, "");
  deepEqual(Array.from(a.bl as Uint8Array), [0xaa, 0x00, 0xff]);
  deepEqual(
    Array.from(a.u as Uint8Array).map((x) => x.toString(16).padStart(2, "0")).join(""),
    "00112233445566778899aabbccddeeff",
  );
  equal(a.dt, Date.UTC(2024, 1, 29));
  // exact stored values (readers convert temporal values to milliseconds)
  const raw = (name: string) => table.getChild(name)!.data[0].values[0];
  equal(raw("dt"), 19782);
  equal(raw("tm"), 45296789000n);
  equal(raw("ts"), BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 120000n);
  equal(raw("tss"), BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) / 1000n);
  equal(raw("tsms"), BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) + 123n);
  equal(raw("tsns"), BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000000n + 123456789n);
  equal(raw("tstz"), BigInt(Date.UTC(2024, 0, 2, 1, 4, 5)) * 1000n + 500000n);
  // MonthDayNano: int32 months, int32 days, int64 nanoseconds
  const iv = table.getChild("ivneg")!.data[0].values as Int32Array;
  deepEqual([iv[0], iv[1]], [-10, -3]);
  equal(new BigInt64Array(iv.buffer, iv.byteOffset, 2)[1], -14706500000000n);
  deepEqual(a.iv, Float64Array.from([14, 3, 14706789000000]));
  equal(a.e, "b");
  deepEqual(Array.from(a.l as number[]), [1, 2, null]);
  equal(a.ttz, "12:34:56+05:30");
  equal(a.j, '{"a": [1, 2]}');
  deepEqual(a.m, new Map([["k", 1], ["j", null]]));
  deepEqual(a.mi, new Map([[1, "x"], [2, "y"]]));
  deepEqual(Array.from(a.arr as Float64Array), [1.5, Infinity]);
  equal(a.bo, true);
  const struct = a.st as Record<string, unknown>;
  equal(struct.a, 1);
  ok(Number.isNaN(struct.b));
  deepEqual(Array.from(struct.c as Uint8Array), [0xab]);
  const list = a.ls as { x: number; y: bigint[] }[];
  equal(list[0].x, 1.5);
  equal(list[1], null);
  deepEqual(Array.from(list[0].y), [Date.UTC(2024, 0, 1)]);
  deepEqual(Object.entries(b).filter(([, v]) => v !== null), [["id", 2], ["bo", false]]);

  // empty results still carry the schema
  const empty = await bytesOf(
    t,
    "SELECT * FROM all_types WHERE false",
    "application/vnd.apache.arrow.stream",
  );
  equal(tableFromIPC(empty.bytes).numRows, 0);
  equal(tableFromIPC(empty.bytes).schema.fields.length, 59);
});

Deno.test("Arrow reads long strings, NULLs and lists across many chunks", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0" });
  const sql = `SELECT i, CASE WHEN i % 7 = 0 THEN NULL WHEN i % 3 = 0 THEN 's' || i
      ELSE repeat('long text ', 1 + i % 5) || i END AS s,
    CASE WHEN i % 5 = 0 THEN NULL ELSE range(i % 4) END AS l FROM range(10000) t(i) ORDER BY i`;
  const { bytes } = await bytesOf(t, sql, "application/vnd.apache.arrow.stream");
  const table = tableFromIPC(bytes);
  equal(table.numRows, 10000);
  const json = await post(t, sql, "application/json");
  const expected = json.body.data as { i: number; s: string | null; l: number[] | null }[];
  const s = table.getChild("s")!;
  const l = table.getChild("l")!;
  for (let i = 0; i < 10000; i++) {
    equal(s.get(i), expected[i].s, `row ${i}`);
    const list = l.get(i);
    deepEqual(list === null ? null : Array.from(list, Number), expected[i].l, `row ${i}`);
  }
});

Deno.test("content negotiation: suffix > format= > Accept q-values; 406 lists formats", async () => {
  await using t = await startTestServer();
  const get = (path: string, accept?: string) =>
    t.request(path, { headers: accept ? { accept } : {} });
  const typeOf = (r: { headers: Headers }) => r.headers.get("content-type")!.split(";")[0];
  let r = await get(sqlPath("SELECT 1 AS x", "csv"), "application/json");
  equal(typeOf(r), "text/csv");
  r = await get(`${sqlPath("SELECT 1 AS x", "csv")}?format=json`);
  equal(typeOf(r), "text/csv");
  r = await post(t, "SELECT 1 AS x", "text/csv", false, "?format=ndjson");
  equal(typeOf(r), "application/x-ndjson");
  const cases: [string, string][] = [
    ["text/csv;q=0.5, application/x-ndjson", "application/x-ndjson"],
    ["application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.stream"],
    ["application/parquet", "application/parquet"],
    ["application/vnd.apache.parquet", "application/vnd.apache.parquet"],
    ["text/*", "text/csv"],
    ["*/*", "application/json"],
    ["text/html, */*;q=0.1", "application/json"],
  ];
  for (const [accept, expected] of cases) {
    r = await post(t, "SELECT 1 AS x", accept);
    equal(r.status, 200, accept);
    equal(typeOf(r), expected, accept);
    equal(r.headers.get("vary"), "Accept, Accept-Encoding");
  }
  r = await post(t, "SELECT 1 AS x", "application/xml, text/html");
  deepEqual([r.status, r.body.code], [406, "not_acceptable"]);
  ok(r.body.available.includes("application/vnd.apache.parquet"));
  ok(r.body.available.includes("application/vnd.apache.arrow.stream"));
  r = await post(t, "SELECT 1 AS x", "*/*", false, "?format=xlsx");
  deepEqual([r.status, r.body.code], [400, "invalid_request"]);
});

Deno.test("Content-Disposition names GET query results and download=1 responses", async () => {
  await using t = await startTestServer();
  let r = await t.request(sqlPath("SELECT 1 AS x", "json"));
  equal(r.headers.get("content-disposition"), 'inline; filename="result.json"');
  r = await t.request(sqlPath("SELECT 1 AS x", "ndjson"));
  equal(r.headers.get("content-disposition"), 'inline; filename="result.ndjson"');
  r = await t.request(`${sqlPath("SELECT 1 AS x", "json")}?download=1`);
  equal(r.headers.get("content-disposition"), 'attachment; filename="result.json"');
  r = await post(t, "SELECT 1 AS x", "application/json");
  equal(r.headers.get("content-disposition"), null);
  r = await post(t, "SELECT 1 AS x", "application/json", false, "?download=1");
  equal(r.headers.get("content-disposition"), 'attachment; filename="result.json"');
  r = await post(t, "SELECT 1 AS x", "text/csv");
  equal(r.headers.get("content-disposition"), 'attachment; filename="result.csv"');
});

Deno.test("exports use max_export_rows, other reads absolute_max_rows", async () => {
  {
    await using t = await startTestServer({ absolute_max_rows: "5", max_export_rows: "8" });
    const sql = "SELECT * FROM range(20) t(i)";
    let r = await post(t, sql, "application/json");
    equal(r.body.data.length, 5);
    equal(r.body.total_available, 20);
    for (
      const [accept, query] of [["text/csv", ""], ["application/x-ndjson", ""], [
        "*/*",
        "?download=1",
      ]]
    ) {
      for (const script of [false, true]) {
        r = await post(t, sql, accept, script, query);
        equal(r.headers.get("x-truncated"), "true", accept);
        const rows = accept === "text/csv"
          ? r.text.trim().split("\r\n").length - 1
          : accept === "*/*"
          ? r.body.data.length
          : r.text.trim().split("\n").length;
        equal(rows, 8, `${accept} ${script}`);
      }
    }
    r = await post(t, sql, "*/*", false, "?download=1");
    equal(r.body.truncated, true);
    r = await post(t, "SELECT * FROM range(8) t(i)", "text/csv");
    equal(r.headers.get("x-truncated"), null);
    const parquet = await bytesOf(t, sql, "application/parquet");
    equal(parquet.headers.get("x-truncated"), "true");
    equal((await parquetReadObjects({ file: parquet.bytes.buffer })).length, 8);
    const arrow = await bytesOf(t, sql, "application/vnd.apache.arrow.stream");
    equal(arrow.headers.get("x-truncated"), "true");
    equal(tableFromIPC(arrow.bytes).numRows, 8);
  }
  {
    // default: exports are unlimited even when absolute_max_rows caps JSON
    await using t = await startTestServer({ absolute_max_rows: "5" });
    const r = await post(t, "SELECT * FROM range(20) t(i)", "text/csv");
    equal(r.headers.get("x-truncated"), null);
    equal(r.text.trim().split("\r\n").length, 21);
  }
});

Deno.test("exports bind params, run read-only on GET, and report errors before the first byte", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0" });
  await t.query("CREATE TABLE p AS SELECT range AS id FROM range(10); CREATE SEQUENCE seq");
  let r = await t.request("/query", {
    method: "POST",
    headers: { accept: "text/csv" },
    body: JSON.stringify({
      sql: "SELECT id FROM p WHERE id > ? AND id < $2 ORDER BY id",
      params: [5, 8],
    }),
  });
  equal(r.text, "id\r\n6\r\n7\r\n");
  r = await t.request(sqlPath("SELECT nextval('seq') AS n", "csv"));
  deepEqual([r.status, r.body.code], [405, "not_read_only"]);
  r = await t.request(sqlPath("SELECT nope FROM p", "parquet"));
  deepEqual([r.status, r.body.code], [400, "binder_error"]);
  equal(r.headers.get("content-type"), "application/problem+json");
  r = await post(t, "SELECT 'x'::INTEGER", "text/csv");
  deepEqual([r.status, r.body.code], [400, "conversion_error"]);
  r = await post(t, "SELECT 1 AS x -- trailing comment", "text/csv");
  equal(r.text, "x\r\n1\r\n");
  r = await post(t, "SELECT 1 AS x;  ", "application/x-ndjson");
  equal(r.text, '{"x":1}\n');
});

Deno.test("an error after streaming began aborts the connection and is logged", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0", threads: "1" });
  const sql = "SELECT CASE WHEN i = 150000 THEN error('boom at 150000') ELSE i END AS v, " +
    "repeat('x', 50) AS pad FROM range(200000) t(i)";
  for (
    const accept of ["text/csv", "application/x-ndjson", "application/vnd.apache.arrow.stream"]
  ) {
    const res = await fetch(`${t.url}/query`, {
      method: "POST",
      headers: { accept, "x-request-id": `mid-${accept.length}`, "accept-encoding": "identity" },
      body: JSON.stringify({ sql }),
    });
    equal(res.status, 200, accept);
    await rejects(res.arrayBuffer());
    const logged = t.logs.map((l) => JSON.parse(l)).find((e) =>
      e.event === "stream_failed" && e.request_id === `mid-${accept.length}`
    );
    ok(logged, accept);
    // DuckDB's writers report the engine's error; a streamed result only that it failed
    equal(logged.code, accept.includes("arrow") ? "result_failed" : "invalid_input");
  }
  // the only connection is free again
  const r = await t.query("SELECT 42 AS answer");
  deepEqual(r.body.data, [{ answer: 42 }]);
});

Deno.test("a client leaving an export frees the connection; the deadline applies before the first byte", async () => {
  await using t = await startTestServer({
    absolute_max_rows: "0",
    threads: "1",
    query_timeout: "1s",
  });
  const res = await fetch(`${t.url}/query`, {
    method: "POST",
    headers: { accept: "text/csv", "accept-encoding": "identity" },
    body: JSON.stringify({ sql: "SELECT i, repeat('y', 100) FROM range(100000000) t(i)" }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  await new Promise((r) => setTimeout(r, 1500)); // past query_timeout: streaming is not cut
  const more = await reader.read();
  ok(!more.done && more.value.length > 0);
  await reader.cancel();
  const started = performance.now();
  let r = await t.query("SELECT 1 AS one");
  deepEqual(r.body.data, [{ one: 1 }]);
  ok(performance.now() - started < 5000);
  r = await post(t, "SELECT count(*) FROM range(100000000000) a", "text/csv");
  deepEqual([r.status, r.body.code], [504, "query_timeout"]);
  r = await post(t, "SELECT 2 AS two", "text/csv");
  equal(r.text, "two\r\n2\r\n");
});

/** GETs with node:http, which does not decompress: the raw body and its Content-Encoding. */
function rawGet(url: string, acceptEncoding: string) {
  return new Promise<{ encoding: string | undefined; body: Uint8Array }>((resolve, reject) => {
    http.get(url, { headers: { "accept-encoding": acceptEncoding } }, (res) => {
      const parts: Uint8Array[] = [];
      res.on("data", (part) => parts.push(part));
      res.on(
        "end",
        () =>
          resolve({
            encoding: res.headers["content-encoding"],
            body: new Uint8Array(Buffer.concat(parts)),
          }),
      );
      res.on("error", reject);
    }).on("error", reject);
  });
}

Deno.test("responses are compressed (zstd, gzip, br) when accepted and large; never Parquet", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0" });
  const url = (fmt: string) =>
    `${t.url}${sqlPath("SELECT i, 'row ' || i AS s FROM range(20000) t(i)", fmt)}`;
  for (const fmt of ["csv", "json", "ndjson", "arrow"]) {
    const plain = await rawGet(url(fmt), "identity");
    equal(plain.encoding, undefined);
    const decoders: Record<string, (b: Uint8Array) => Uint8Array> = {
      gzip: zlib.gunzipSync,
      br: zlib.brotliDecompressSync,
      zstd: zlib.zstdDecompressSync,
    };
    for (
      const [accept, expected] of [["gzip", "gzip"], ["br", "br"], ["zstd", "zstd"], [
        "gzip, br, zstd",
        "zstd",
      ], ["br;q=1, gzip;q=0.5", "br"]]
    ) {
      const packed = await rawGet(url(fmt), accept);
      equal(packed.encoding, expected, `${fmt} ${accept}`);
      ok(packed.body.length < plain.body.length / 2);
      deepEqual(new Uint8Array(decoders[expected](packed.body)), plain.body, `${fmt} ${accept}`);
    }
  }
  const parquet = await rawGet(url("parquet"), "gzip, br");
  equal(parquet.encoding, undefined);
  const small = await rawGet(`${t.url}${sqlPath("SELECT 1 AS x", "csv")}`, "gzip");
  equal(small.encoding, undefined);
  {
    await using off = await startTestServer({ absolute_max_rows: "0", compression: "false" });
    const r = await rawGet(
      `${off.url}${sqlPath("SELECT i FROM range(20000) t(i)", "csv")}`,
      "gzip",
    );
    equal(r.encoding, undefined);
  }
});

Deno.test("a 1M-row export streams with bounded memory", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0", threads: "2" });
  // about 230 MB of CSV and 210 MB of Arrow
  const sql = "SELECT i, repeat('v', 200) || i AS s FROM range(1000000) t(i)";
  for (const fmt of ["csv", "arrow"]) {
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const res = await fetch(`${t.url}${sqlPath(sql, fmt)}`, {
      headers: { "accept-encoding": "identity" },
    });
    let total = 0;
    let pieces = 0;
    for await (const piece of res.body!) {
      total += piece.length;
      if (++pieces % 64 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
    }
    ok(total > 200_000_000, `${fmt}: ${total} bytes`);
    const growth = (peak - before) / 1e6;
    ok(growth < 150, `${fmt}: RSS grew ${growth.toFixed(0)} MB for ${(total / 1e6).toFixed(0)} MB`);
  }
});

Deno.test("a read failing midway before the first byte reports DuckDB's own error", async () => {
  // The cap's look-ahead reads past the failing row, which a streamed result reports without a
  // reason; the query then runs again materialized to surface DuckDB's message.
  await using t = await startTestServer({
    threads: "1",
    absolute_max_rows: "200000",
    max_export_rows: "200000",
  });
  const sql = "SELECT CASE WHEN i = 150000 THEN error('late boom') ELSE i END AS v " +
    "FROM range(200000) t(i)";
  for (const accept of ["application/json", "application/vnd.apache.arrow.stream"]) {
    const r = await post(t, sql, accept);
    deepEqual([r.status, r.body.code], [400, "invalid_input"], accept);
    match(r.body.detail, /late boom/);
  }
  const r = await t.request(sqlPath(sql, "json"));
  deepEqual([r.status, r.body.code], [400, "invalid_input"]);
  const one = await t.query("SELECT 1 AS one");
  deepEqual(one.body.data, [{ one: 1 }]);
});

Deno.test("HEAD on an export answers the headers and frees the connection", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0", threads: "1" });
  for (const fmt of ["csv", "parquet", "arrow", "json"]) {
    const res = await fetch(`${t.url}${sqlPath("SELECT i FROM range(50000000) t(i)", fmt)}`, {
      method: "HEAD",
    });
    equal(res.status, 200, fmt);
    equal(await res.text(), "");
    const started = performance.now();
    const r = await t.query("SELECT 1 AS one");
    deepEqual(r.body.data, [{ one: 1 }], fmt);
    ok(performance.now() - started < 5000, fmt);
  }
});

Deno.test("rarer types: nested ENUM, UNION, BIT and BIGNUM in every format", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0" });
  const sql = "SELECT ['a'::ENUM('a','b'), NULL, 'b'] AS l, {'e': 'b'::ENUM('a','b')} AS s, " +
    "union_value(num := 2)::UNION(num INT, str VARCHAR) AS u, '101'::BIT AS bit, " +
    "12345678901234567890123::BIGNUM AS bn";
  const json = await post(t, sql, "application/json");
  equal(
    json.text,
    '{"data":[{"l":["a",null,"b"],"s":{"e":"b"},"u":2,"bit":"101","bn":12345678901234567890123}]}',
  );
  const ndjson = await post(t, sql, "application/x-ndjson");
  equal(
    ndjson.text,
    '{"l":["a",null,"b"],"s":{"e":"b"},"u":2,"bit":"101","bn":12345678901234567890123}\n',
  );
  const csv = await post(t, sql, "text/csv");
  equal(
    csv.text,
    'l,s,u,bit,bn\r\n"[""a"",null,""b""]","{""e"":""b""}",2,101,12345678901234567890123\r\n',
  );
  const arrow = await bytesOf(t, sql, "application/vnd.apache.arrow.stream");
  const table = tableFromIPC(arrow.bytes);
  deepEqual(table.get(0)!.toJSON().s.toJSON(), { e: "b" });
  deepEqual(Array.from(table.get(0)!.toJSON().l), ["a", null, "b"]);
  deepEqual([table.get(0)!.u, table.get(0)!.bit, table.get(0)!.bn], [
    "2",
    "101",
    "12345678901234567890123",
  ]);
  const parquet = await bytesOf(t, sql, "application/vnd.apache.parquet");
  const rows = await parquetReadObjects({ file: parquet.bytes.buffer });
  equal(rows[0].bn, "12345678901234567890123");
  deepEqual(rows[0].l, ["a", null, "b"]);
});
