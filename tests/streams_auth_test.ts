// Streams with the real key store: stream:<name or glob> grants for r, c and d, change feeds read
// with r on their table, and read_stream() authorized per caller (raw SQL, views, /api).
import { deepEqual, equal, match } from "node:assert/strict";
import { type AuthTestServer, startAuthServer } from "./_helpers.ts";

const json = { "content-type": "application/json" };

/** Status (and body) of a stream request with `key`. */
async function call(t: AuthTestServer, key: string | null, method: string, path: string) {
  const body = method === "POST" ? '{"n":1}' : method === "PUT" ? "[]" : undefined;
  return await t.stream(path, {
    method,
    headers: { ...(key ? t.as(key) : {}), ...(body ? json : {}) },
    body,
  });
}

Deno.test("stream grants in the key store decide r, c and d per stream and per glob", async () => {
  await using t = await startAuthServer({
    roles: {
      producer: [["stream:orders/*", "rc"], ["stream:orders/eu", "d"]],
      auditor: [["stream:Logs/**", "r"], ["stream:app.v2", "r"]],
      nothing: [["orders", "crud"]],
    },
  });
  const status = async (role: string, method: string, path: string) =>
    (await call(t, t.keys[role], method, path)).status;
  equal(await status("producer", "PUT", "orders/eu"), 201);
  equal(await status("producer", "PUT", "orders/us"), 201);
  equal(await status("producer", "POST", "orders/eu"), 204);
  equal(await status("producer", "GET", "orders/eu?offset=-1"), 200);
  equal(await status("producer", "HEAD", "orders/us"), 200);
  equal(await status("producer", "PUT", "orders/eu/2024"), 403, "* stays in one segment");
  equal(await status("producer", "PUT", "Orders/eu"), 403, "stream paths are case-sensitive");
  equal(await status("producer", "DELETE", "orders/us"), 403);
  equal(await status("producer", "DELETE", "orders/eu"), 204);
  equal(await status("editor", "PUT", "Logs/app/2024"), 201, "the grant on * covers streams");
  equal(await status("editor", "PUT", "app.v2"), 201);
  equal(await status("auditor", "GET", "Logs/app/2024?offset=-1"), 200);
  equal(await status("auditor", "GET", "app.v2?offset=-1"), 200, "a dot is part of the name");
  equal(await status("auditor", "POST", "Logs/app/2024"), 403);
  equal(await status("auditor", "GET", "orders/us?offset=-1"), 403);
  equal(await status("nothing", "GET", "orders/us?offset=-1"), 403, "a table is not a stream");
  const denied = await call(t, t.keys.auditor, "DELETE", "Logs/app/2024");
  equal(denied.status, 403);
  equal(denied.body.code, "forbidden");
  deepEqual([denied.body.operation, denied.body.table], ["delete", "stream:Logs/app/2024"]);
  match(denied.body.detail, /DELETE operation on stream 'Logs\/app\/2024'/);
  equal(denied.headers.get("access-control-allow-origin"), "*");
  equal((await call(t, null, "GET", "orders/us?offset=-1")).status, 401);
});

Deno.test("a table's change feed needs r on the table; stream grants do not open it", async () => {
  await using t = await startAuthServer({
    roles: {
      fan: [["Orders", "r"]],
      streams_only: [["stream:**", "rcd"], ["stream:_changes/*", "r"]],
    },
  });
  const status = async (role: string, path: string) =>
    (await call(t, t.keys[role], "GET", path)).status;
  equal(await status("fan", "_changes/orders?offset=-1"), 200);
  equal(await status("fan", "_changes/ORDERS?offset=-1"), 200);
  equal(await status("fan", "_changes/customers?offset=-1"), 403);
  equal(await status("streams_only", "_changes/orders?offset=-1"), 403);
  equal(await status("reader", "_changes/customers?offset=-1"), 200);
  equal((await call(t, t.keys.admin, "POST", "_changes/orders")).body.code, "read_only_stream");
});

Deno.test("read_stream() needs q for the query and r on the stream, checked for each caller", async () => {
  await using t = await startAuthServer({
    roles: {
      analyst: [["reports", "rq"], ["stream:events", "r"]],
      blind: [["reports", "rq"]],
      viewer: [["events_view", "r"], ["stream:events", "r"]],
      view_only: [["events_view", "r"]],
      fan: [["orders", "r"], ["reports", "q"]],
    },
  });
  const admin = t.as(t.keys.admin);
  equal((await call(t, t.keys.admin, "PUT", "events")).status, 201);
  const setup = await t.query(
    "CREATE TABLE reports (id INTEGER); CREATE TABLE orders (id INTEGER PRIMARY KEY); " +
      "CREATE VIEW events_view AS SELECT value->>'n' AS n FROM read_stream('events')",
    undefined,
    admin,
  );
  equal(setup.status, 200, setup.text);
  equal((await call(t, t.keys.admin, "POST", "events")).status, 204);
  const sql = "SELECT value->>'n' AS n FROM read_stream('events')";
  const as = (role: string) => t.as(t.keys[role]);

  const analyst = await t.query(sql, undefined, as("analyst"));
  equal(analyst.status, 200, analyst.text);
  deepEqual(analyst.body.data, [{ n: "1" }]);
  const blind = await t.query(sql, undefined, as("blind"));
  equal(blind.status, 403);
  equal(blind.body.code, "forbidden");
  match(blind.body.detail, /stream:events/);
  equal((await t.query(sql, undefined, as("viewer"))).status, 403, "no q: no raw SQL at all");
  // Prepared once, run for another caller on a pooled connection: checked again at execution.
  for (let i = 0; i < 3; i++) {
    equal((await t.query(sql, undefined, as("analyst"))).status, 200);
    equal((await t.query(sql, undefined, as("blind"))).status, 403);
  }
  // A table's change feed through SQL: r on the table.
  await t.request("/api/orders", {
    method: "POST",
    headers: { ...admin, ...json, "x-request-id": "o1" },
    body: '{"id": 1}',
  });
  const feed = await t.query(
    "SELECT value->>'request_id' AS r FROM read_stream('_changes/orders') WHERE value->>'op' <> 'sql'",
    undefined,
    as("fan"),
  );
  equal(feed.status, 200, feed.text);
  deepEqual(feed.body.data, [{ r: "o1" }]);
  equal(
    (await t.query("SELECT * FROM read_stream('_changes/orders')", undefined, as("blind"))).status,
    403,
  );

  // A view over read_stream read through /api: the stream grant is checked for the caller.
  const viewer = await t.request("/api/events_view", { headers: as("viewer") });
  equal(viewer.status, 200, viewer.text);
  deepEqual(viewer.body.data, [{ n: "1" }]);
  const viewOnly = await t.request("/api/events_view", { headers: as("view_only") });
  equal(viewOnly.status, 403, viewOnly.text);
  equal(viewOnly.body.code, "forbidden");
  for (let i = 0; i < 2; i++) {
    equal((await t.request("/api/events_view?limit=5", { headers: as("viewer") })).status, 200);
    equal((await t.request("/api/events_view?limit=5", { headers: as("view_only") })).status, 403);
  }
});
