import { deepEqual, equal, match, ok } from "node:assert/strict";
import { consume, startTestServer, type TestServer } from "../_helpers.ts";
import { createGrantsAuth } from "./_grants_auth.ts";

const json = { "content-type": "application/json" };

async function send(t: TestServer, method: string, path: string, body?: string, type = json) {
  const res = await t.stream(path, {
    method,
    headers: body === undefined ? {} : type,
    body,
  });
  ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
  return res;
}

async function rows(t: TestServer, sql: string) {
  const res = await t.query(sql);
  equal(res.status, 200, res.text);
  return res.body.data;
}

async function checkJsonStream(t: TestServer): Promise<void> {
  await send(t, "PUT", "orders", '[{"customer":"ann","total":3}]');
  await send(t, "POST", "orders", '[{"customer":"bob","total":4},{"customer":"ann","total":10}]');
  deepEqual(
    await rows(
      t,
      "SELECT value->>'customer' AS customer, sum((value->>'total')::INT) AS total, count(*) AS n " +
        "FROM read_stream('orders') GROUP BY ALL ORDER BY customer",
    ),
    [{ customer: "ann", total: 13, n: 2 }, { customer: "bob", total: 4, n: 1 }],
  );
  const all = await rows(t, "SELECT * FROM read_stream('orders')");
  deepEqual(Object.keys(all[0]), ["next_offset", "value", "appended_at"]);
  // JSON columns arrive as embedded JSON values
  deepEqual(all.map((r: { value: { total: number } }) => r.value.total), [3, 4, 10]);
  const offsets = all.map((r: { next_offset: string }) => r.next_offset);
  deepEqual([...offsets].sort(), offsets, "rows come in stream order");
  const tail = await send(t, "HEAD", "orders");
  equal(offsets[2], tail.headers.get("stream-next-offset"));
  // continue after the first row, as a catch-up read from that offset would
  const after = await rows(
    t,
    `SELECT value->>'total' AS total FROM read_stream('orders', after := '${offsets[0]}')`,
  );
  deepEqual(after, [{ total: "4" }, { total: "10" }]);
  ok(all.every((r: { appended_at: string }) => /^\d{4}-\d\d-\d\dT/.test(r.appended_at)));
}

Deno.test("read_stream() turns a JSON stream into rows (memory storage)", async () => {
  await using t = await startTestServer();
  await checkJsonStream(t);
});

Deno.test("read_stream() reads durable streams, also after a restart, and the files stay out of SQL's reach", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-streams-sql-" });
  try {
    const flags = { streams_storage: "dir", streams_dir: dir };
    let before: unknown;
    {
      await using t = await startTestServer(flags);
      await checkJsonStream(t);
      before = await rows(t, "SELECT * FROM read_stream('orders')");
      const sneaky = await t.query(`SELECT * FROM read_text('${dir}/streams/*.log')`);
      equal(sneaky.status, 403);
      equal(sneaky.body.code, "sandbox_violation");
    }
    await using t = await startTestServer(flags);
    deepEqual(await rows(t, "SELECT * FROM read_stream('orders')"), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("read_stream() pages through large streams in order", async () => {
  await using t = await startTestServer();
  const big = "x".repeat(8000);
  await send(t, "PUT", "big", "[]");
  for (let batch = 0; batch < 3; batch++) {
    const items = Array.from({ length: 100 }, (_, i) => ({ i: batch * 100 + i, big }));
    await send(t, "POST", "big", JSON.stringify(items));
  }
  const small = Array.from({ length: 4000 }, (_, i) => ({ i: 300 + i }));
  await send(t, "POST", "big", JSON.stringify(small));
  deepEqual(
    await rows(
      t,
      "SELECT count(*) AS n, min((value->>'i')::INT) AS lo, max((value->>'i')::INT) AS hi, " +
        "bool_and(ordered) AS ordered FROM (SELECT value, " +
        "coalesce(next_offset > lag(next_offset) OVER (), true) AND " +
        "coalesce((value->>'i')::INT = lag((value->>'i')::INT) OVER () + 1, true) AS ordered " +
        "FROM read_stream('big'))",
    ),
    [{ n: 4300, lo: 0, hi: 4299, ordered: true }],
  );
});

Deno.test("read_stream() gives text streams as VARCHAR and others as BLOB, one row per append", async () => {
  await using t = await startTestServer();
  await send(t, "PUT", "log", "line one\n", { "content-type": "text/plain" });
  await send(t, "POST", "log", "line two\n", { "content-type": "text/plain" });
  deepEqual(await rows(t, "SELECT value, typeof(value) AS type FROM read_stream('log')"), [
    { value: "line one\n", type: "VARCHAR" },
    { value: "line two\n", type: "VARCHAR" },
  ]);
  await send(t, "PUT", "bin", "\u0001\u0002", { "content-type": "application/octet-stream" });
  deepEqual(
    await rows(t, "SELECT octet_length(value) AS n, typeof(value) AS type FROM read_stream('bin')"),
    [
      { n: 2, type: "BLOB" },
    ],
  );
});

Deno.test("read_stream() errors: missing stream 404, bad name or offset 400", async () => {
  await using t = await startTestServer();
  const missing = await t.query("SELECT * FROM read_stream('nowhere')");
  equal(missing.status, 404);
  equal(missing.body.code, "unknown_table");
  match(missing.body.detail, /no stream 'nowhere'/);
  const empty = await t.query("SELECT * FROM read_stream(NULL)");
  equal(empty.status, 400);
  await send(t, "PUT", "s", "[1,2]");
  const badOffset = await t.query("SELECT * FROM read_stream('s', after := 'zzz')");
  equal(badOffset.status, 400);
  match(badOffset.body.detail, /offset/i);
});

Deno.test("read_stream() needs r on stream:<name>, checked at every execution", async () => {
  const auth = createGrantsAuth({
    owner: { "stream:**": "rc", "*": "q" },
    fan: { "stream:orders/*": "r", "*": "q" },
    stranger: { "*": "q" },
    buyer: { orders: "r", "*": "q" },
  });
  // one connection, so later requests reuse the first one's prepared statement
  await using t = await startTestServer({ auth_enabled: "true", threads: "1" }, { auth });
  const root = new URL(t.url).origin;
  const put = await consume(
    await fetch(`${root}/v1/stream/orders/eu`, {
      method: "PUT",
      headers: { "x-api-key": "owner", ...json },
      body: "[1,2]",
    }),
  );
  equal(put.status, 201);
  const sql = "SELECT count(*) AS n FROM read_stream('orders/eu')";
  const as = (key: string, text = sql) => t.query(text, undefined, { "x-api-key": key });
  deepEqual((await as("fan")).body.data, [{ n: 2 }]);
  const denied = await as("stranger");
  equal(denied.status, 403);
  equal(denied.body.code, "forbidden");
  match(denied.body.detail, /stream:orders\/eu/);
  equal((await as("buyer")).status, 403);
  deepEqual((await as("fan")).body.data, [{ n: 2 }], "the cached statement still works for fan");
  // a view does not launder access: it is checked for whoever reads it
  equal(
    (await as("owner", "CREATE VIEW eu AS SELECT * FROM read_stream('orders/eu')")).status,
    200,
  );
  equal((await as("stranger", "SELECT count(*) FROM eu")).status, 403);
  deepEqual((await as("fan", "SELECT count(*) AS n FROM eu")).body.data, [{ n: 2 }]);
  // a table's change feed needs r on the table
  equal(
    (await as("owner", "CREATE TABLE orders (id INT); INSERT INTO orders VALUES (1)")).status,
    200,
  );
  const feed = "SELECT value->>'op' AS op FROM read_stream('_changes/orders')";
  deepEqual((await as("buyer", feed)).body.data, [{ op: "sql" }]);
  equal((await as("fan", feed)).status, 403);
});
