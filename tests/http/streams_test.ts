import { deepEqual, equal, match, ok } from "node:assert/strict";
import { consume, startAuthServer, startTestServer } from "../_helpers.ts";
import { createGrantsAuth } from "../streams/_grants_auth.ts";

const json = { "content-type": "application/json" };

Deno.test("streams are served at the server root, beside the route prefix", async () => {
  await using t = await startTestServer();
  const root = new URL(t.url).origin;
  const put = await consume(
    await fetch(`${root}/v1/stream/orders/eu`, {
      method: "PUT",
      headers: json,
      body: '[{"id":1}]',
    }),
  );
  equal(put.status, 201);
  equal(put.headers.get("location"), `${root}/v1/stream/orders/eu`);
  ok(put.headers.get("x-request-id"), "the server's request lifecycle applies");
  const read = await consume(await fetch(`${root}/v1/stream/orders/eu?offset=-1`));
  equal(read.status, 200);
  deepEqual(read.body, [{ id: 1 }]);
  const under = await t.request("/v1/stream/orders/eu?offset=-1");
  equal(under.status, 404);
  equal(under.body.code, "route_not_found");
});

Deno.test("streams_prefix moves the endpoint; streams: false turns it off", async () => {
  {
    await using t = await startTestServer({ streams_prefix: "/events/" });
    const root = new URL(t.url).origin;
    const put = await consume(await fetch(`${root}/events/a`, { method: "PUT" }));
    equal(put.status, 201);
    equal((await consume(await fetch(`${root}/v1/stream/a`, { method: "PUT" }))).status, 404);
  }
  {
    await using t = await startTestServer({ streams: "false" });
    const root = new URL(t.url).origin;
    const put = await consume(await fetch(`${root}/v1/stream/a`, { method: "PUT" }));
    equal(put.status, 404);
    equal(put.body.code, "route_not_found");
    const sql = await t.query("SELECT * FROM read_stream('a')");
    equal(sql.status, 404);
    equal(sql.body.code, "unknown_table");
    match(sql.body.detail, /read_stream/);
  }
});

Deno.test("streams_auth keys: a missing key is 401 with the protocol's CORS headers", async () => {
  const auth = createGrantsAuth({ k: { "stream:**": "rcd" } });
  await using t = await startTestServer({ auth_enabled: "true" }, { auth });
  const root = new URL(t.url).origin;
  const denied = await consume(await fetch(`${root}/v1/stream/a`, { method: "PUT" }));
  equal(denied.status, 401);
  equal(denied.body.code, "unauthorized");
  equal(denied.headers.get("content-type"), "application/problem+json");
  equal(denied.headers.get("access-control-allow-origin"), "*");
  ok(denied.headers.get("x-request-id"));
  const preflight = await consume(await fetch(`${root}/v1/stream/a`, { method: "OPTIONS" }));
  equal(preflight.status, 204, "a CORS preflight needs no key");
  match(preflight.headers.get("access-control-allow-headers")!, /x-api-key/);
  const ok201 = await consume(
    await fetch(`${root}/v1/stream/a`, { method: "PUT", headers: { "x-api-key": "k" } }),
  );
  equal(ok201.status, 201);
});

Deno.test("grants on stream:<glob> decide create, append, read and delete", async () => {
  const auth = createGrantsAuth({
    writer: { "stream:orders/*": "rc" },
    reader: { "stream:orders/*": "r" },
    admin: { "*": "crud" },
  });
  await using t = await startTestServer({ auth_enabled: "true" }, { auth });
  const root = new URL(t.url).origin;
  const as = async (key: string, method: string, path: string, body?: string) =>
    (await t.stream(path, {
      method,
      headers: { "x-api-key": key, ...(body ? json : {}) },
      body,
    })).status;
  equal(await as("writer", "PUT", "orders/eu", "[]"), 201);
  equal(await as("writer", "POST", "orders/eu", '{"id":1}'), 204);
  equal(await as("writer", "GET", "orders/eu?offset=-1"), 200);
  equal(await as("writer", "DELETE", "orders/eu"), 403);
  equal(await as("writer", "PUT", "logs/x"), 403);
  equal(await as("writer", "PUT", "orders/eu/deeper"), 403, "* stays within one segment");
  equal(await as("reader", "GET", "orders/eu?offset=-1"), 200);
  equal(await as("reader", "HEAD", "orders/eu"), 200);
  equal(await as("reader", "POST", "orders/eu", '{"id":2}'), 403);
  equal(await as("reader", "GET", "logs/x?offset=-1"), 403);
  // a fork reads its source: creating one needs read on the source too
  const fork = await consume(
    await fetch(`${root}/v1/stream/logs/fork`, {
      method: "PUT",
      headers: { "x-api-key": "admin", "stream-forked-from": "/v1/stream/orders/eu" },
    }),
  );
  equal(fork.status, 201);
  equal(await as("admin", "DELETE", "orders/eu"), 204);
  ok(auth.calls.includes("writer c stream:orders/eu"));
  ok(auth.calls.includes("reader r stream:orders/eu"));
  ok(auth.calls.includes("admin d stream:orders/eu"));
});

Deno.test("a table's change feed is read with r on the table and written by the server only", async () => {
  const auth = createGrantsAuth({ fan: { orders: "r" }, other: { "stream:**": "rcd" } });
  await using t = await startTestServer({ auth_enabled: "true" }, { auth });
  const root = new URL(t.url).origin;
  const get = (key: string, path: string) => t.stream(path, { headers: { "x-api-key": key } });
  const feed = await get("fan", "_changes/Orders?offset=-1");
  equal(feed.status, 200, "a feed can be followed before its first event");
  deepEqual(feed.body, []);
  equal(feed.headers.get("content-type"), "application/json");
  equal((await get("other", "_changes/orders?offset=-1")).status, 403);
  equal((await get("fan", "_changes/customers?offset=-1")).status, 403);
  const post = await consume(
    await fetch(`${root}/v1/stream/_changes/orders`, {
      method: "POST",
      headers: { "x-api-key": "other", ...json },
      body: "{}",
    }),
  );
  equal(post.status, 403);
  equal(post.body.code, "read_only_stream");
});

Deno.test("streams_auth none serves streams without keys while the API still needs one", async () => {
  const auth = createGrantsAuth({});
  await using t = await startTestServer({ auth_enabled: "true", streams_auth: "none" }, { auth });
  const root = new URL(t.url).origin;
  equal((await consume(await fetch(`${root}/v1/stream/open`, { method: "PUT" }))).status, 201);
  equal((await t.query("SELECT 1")).status, 401);
});

Deno.test("a stream path with bad percent-encoding is a 400", async () => {
  await using t = await startTestServer();
  const root = new URL(t.url).origin;
  const bad = await consume(await fetch(`${root}/v1/stream/a%ZZ`, { method: "PUT" }));
  equal(bad.status, 400);
  equal(bad.body.code, "invalid_request");
  equal(bad.headers.get("access-control-allow-origin"), "*");
});

Deno.test("with the real key store, the default roles' grants on * cover streams", async () => {
  await using t = await startAuthServer({ roles: { orders_fan: [["orders", "r"]] } });
  const call = async (key: string | null, method: string, path: string, body?: string) =>
    (await t.stream(path, {
      method,
      headers: { ...(key ? t.as(key) : {}), ...(body ? json : {}) },
      body,
    })).status;
  equal(await call(null, "PUT", "events", "[]"), 401);
  equal(await call(t.keys.editor, "PUT", "events", "[]"), 201);
  equal(await call(t.keys.editor, "POST", "events", '{"n":1}'), 204);
  equal(await call(t.keys.reader, "GET", "events?offset=-1"), 200);
  equal(await call(t.keys.reader, "POST", "events", '{"n":2}'), 403);
  equal(await call(t.keys.reader, "DELETE", "events"), 403);
  equal(await call(t.keys.orders_fan, "GET", "events?offset=-1"), 403);
  equal(await call(t.keys.orders_fan, "GET", "_changes/orders?offset=-1"), 200);
  equal(await call(t.keys.orders_fan, "GET", "_changes/customers?offset=-1"), 403);
  const sql = await t.query(
    "SELECT value->>'n' AS n FROM read_stream('events')",
    undefined,
    t.as(t.keys.admin),
  );
  deepEqual(sql.body.data, [{ n: "1" }]);
  equal(await call(t.keys.admin, "DELETE", "events"), 204);
});

Deno.test("a draining server ends live stream reads at once instead of waiting out the grace", async () => {
  const t = await startTestServer({ long_poll_timeout: "1m", shutdown_grace: "3s" });
  const root = new URL(t.url).origin;
  await consume(
    await fetch(`${root}/v1/stream/live`, { method: "PUT", headers: json, body: "[]" }),
  );
  const tail = (await consume(await fetch(`${root}/v1/stream/live`, { method: "HEAD" }))).headers
    .get("stream-next-offset");
  const poll = fetch(`${root}/v1/stream/live?offset=${tail}&live=long-poll`).then(consume);
  const sse = fetch(`${root}/v1/stream/live?offset=${tail}&live=sse`).then(consume);
  await new Promise((r) => setTimeout(r, 100));
  await t.server.shutdown();
  equal((await poll).status, 204);
  equal((await sse).status, 200, "the SSE response ended");
  const stopped = t.logs.map((l) => JSON.parse(l)).find((e) => e.event === "server_stopped");
  equal(stopped?.graceful, true);
});
