import { deepEqual, equal, ok } from "node:assert/strict";
import { type AuthTestServer, eventually, startAuthServer, startTestServer } from "../_helpers.ts";

/** A statement that runs for minutes unless interrupted (DuckDB reports its progress). */
const LONG_SQL = "SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b";

/** Two keys that may run raw SELECTs (not admins). */
const ROLES = { analyst: [["*", "rq"]], other: [["*", "rq"]] } as Record<
  string,
  [string, string][]
>;

/** Starts `sql` as `key` with request id `id`; the promise is its consumed answer. */
function startQuery(t: AuthTestServer, key: string, id: string, sql = LONG_SQL) {
  return fetch(`${t.url}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": id, ...t.as(key) },
    body: JSON.stringify({ sql }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

/** Waits until `key` sees the query `id` running; returns its listed form. */
async function waitListed(t: AuthTestServer, key: string, id: string) {
  // deno-lint-ignore no-explicit-any
  let found: any = null;
  ok(
    await t.eventually(async () => {
      const list = await t.request("/queries", { headers: t.as(key) });
      equal(list.status, 200);
      // deno-lint-ignore no-explicit-any
      found = list.body.queries.find((q: any) => q.request_id === id) ?? null;
      return found !== null;
    }, 10_000),
    `query ${id} never listed`,
  );
  return found;
}

/**
 * Starts a streamed export of `sql` as `key` (request id `id`) and reads its first 256 KiB:
 * `text`; `readAll()` reads on to the end and returns the whole text.
 */
async function startExport(
  t: AuthTestServer,
  key: string,
  id: string,
  format: "csv" | "ndjson",
  sql: string,
) {
  const response = await fetch(`${t.url}/query?format=${format}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-id": id,
      "accept-encoding": "identity",
      ...t.as(key),
    },
    body: JSON.stringify({ sql }),
  });
  equal(response.status, 200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (text.length < 256 * 1024) {
    const { value, done } = await reader.read();
    ok(!done, "the export ended before the cancel");
    text += decoder.decode(value, { stream: true });
  }
  const readAll = async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
    }
  };
  return { text, readAll };
}

const cancel = (t: AuthTestServer, key: string, id: string) =>
  t.request(`/queries/${encodeURIComponent(id)}`, { method: "DELETE", headers: t.as(key) });

Deno.test("queries: listed with key, route, SQL and progress; owner cancels; 409 query_canceled", async () => {
  await using t = await startAuthServer({ roles: ROLES });
  const running = startQuery(t, t.keys.analyst, "long-owner-1");
  const listed = await waitListed(t, t.keys.analyst, "long-owner-1");
  equal(listed.route, "/duckdb/query");
  equal(listed.kind, "raw");
  equal(listed.role, "analyst");
  ok(typeof listed.key_id === "string" && listed.key_id.length > 0);
  ok(listed.sql.startsWith("SELECT sum("), listed.sql);
  ok(listed.elapsed >= 0);
  ok(!Number.isNaN(Date.parse(listed.started_at)));
  equal(listed.canceled, false);
  // DuckDB does not estimate every plan's progress (this join's may stay unknown): null or 0..1.
  ok(listed.progress === null || (listed.progress >= 0 && listed.progress <= 1));
  // The admin sees it too; another key does not.
  await waitListed(t, t.keys.admin, "long-owner-1");
  const other = await t.request("/queries", { headers: t.as(t.keys.other) });
  equal(other.status, 200);
  deepEqual(other.body.queries, []);

  // Another key: 403; an unknown id: 404.
  const forbidden = await cancel(t, t.keys.other, "long-owner-1");
  equal(forbidden.status, 403);
  equal(forbidden.body.code, "forbidden");
  const unknown = await cancel(t, t.keys.analyst, "no-such-query");
  equal(unknown.status, 404);
  equal(unknown.body.code, "query_not_found");

  const started = performance.now();
  const accepted = await cancel(t, t.keys.analyst, "long-owner-1");
  equal(accepted.status, 202);
  deepEqual(accepted.body, { status: "canceling", request_id: "long-owner-1", canceled: 1 });
  const answer = await running;
  equal(answer.status, 409);
  equal(answer.body.code, "query_canceled");
  equal(answer.body.request_id, "long-owner-1");
  ok(performance.now() - started < 5000, "the cancel took effect quickly");

  // Finished: no longer listed, a second cancel is 404; the server is healthy.
  const again = await cancel(t, t.keys.analyst, "long-owner-1");
  equal(again.status, 404);
  const list = await t.request("/queries", { headers: t.as(t.keys.admin) });
  // deno-lint-ignore no-explicit-any
  ok(!list.body.queries.some((q: any) => q.request_id === "long-owner-1"));
  const after = await t.query("SELECT 42 AS x", undefined, t.as(t.keys.analyst));
  equal(after.status, 200);
  deepEqual(after.body.data, [{ x: 42 }]);
});

Deno.test("queries: an admin cancels another key's query", async () => {
  await using t = await startAuthServer({ roles: ROLES });
  const running = startQuery(t, t.keys.analyst, "long-admin-1");
  await waitListed(t, t.keys.admin, "long-admin-1");
  const accepted = await cancel(t, t.keys.admin, "long-admin-1");
  equal(accepted.status, 202);
  const answer = await running;
  equal(answer.status, 409);
  equal(answer.body.code, "query_canceled");
  equal(answer.body.request_id, "long-admin-1");
  // Every pooled connection still works.
  const checks = await Promise.all(
    Array.from({ length: 6 }, () => t.query("SELECT 1 AS one", undefined, t.as(t.keys.admin))),
  );
  for (const c of checks) deepEqual(c.body.data, [{ one: 1 }]);
});

Deno.test("queries: a finished query cannot be canceled (404)", async () => {
  await using t = await startAuthServer({ roles: ROLES });
  const done = await startQuery(t, t.keys.analyst, "short-1", "SELECT 1 AS one");
  equal(done.status, 200);
  const answer = await cancel(t, t.keys.analyst, "short-1");
  equal(answer.status, 404);
  equal(answer.body.code, "query_not_found");
});

Deno.test("queries: canceling a streamed CSV export ends it with a last line saying so", async () => {
  await using t = await startAuthServer({ roles: ROLES });
  const sql = "SELECT i, repeat('x', 200) AS pad FROM range(50000000) t(i)";
  const { text, readAll } = await startExport(t, t.keys.analyst, "export-1", "csv", sql);
  const listed = await waitListed(t, t.keys.analyst, "export-1");
  equal(listed.kind, "export");
  // Rows sent so far: at least the rows the client has read.
  ok(listed.rows >= text.split("\r\n").length - 2, `rows ${listed.rows}`);
  const accepted = await cancel(t, t.keys.analyst, "export-1");
  equal(accepted.status, 202);
  const lines = (await readAll()).trimEnd().split("\r\n");
  equal(lines[0], "i,pad");
  const last = JSON.parse(lines[lines.length - 1]);
  equal(last.error, "query_canceled");
  equal(last.request_id, "export-1");
  ok(lines.length < 50_000_000, "ended early");
  // Every other line is a whole row.
  for (const line of lines.slice(1, -1)) ok(/^\d+,x{200}$/.test(line), line.slice(0, 40));
  const after = await t.query("SELECT 2 AS two", undefined, t.as(t.keys.analyst));
  deepEqual(after.body.data, [{ two: 2 }]);
});

Deno.test("queries: with auth off every caller sees and cancels every query", async () => {
  await using t = await startTestServer();
  const running = fetch(`${t.url}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": "open-1" },
    body: JSON.stringify({ sql: LONG_SQL }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
  ok(
    await eventually(async () => {
      const list = await t.request("/queries");
      // deno-lint-ignore no-explicit-any
      return list.body.queries.some((q: any) => q.request_id === "open-1" && q.key_id === null);
    }, 10_000),
  );
  const accepted = await t.request("/queries/open-1", { method: "DELETE" });
  equal(accepted.status, 202);
  const answer = await running;
  equal(answer.status, 409);
  equal(answer.body.code, "query_canceled");
});

Deno.test("queries: an NDJSON export canceled mid-stream ends with a JSON line saying so", async () => {
  await using t = await startAuthServer({ roles: ROLES });
  const sql = "SELECT i, repeat('y', 100) AS pad FROM range(50000000) t(i)";
  const { readAll } = await startExport(t, t.keys.analyst, "export-nd", "ndjson", sql);
  equal((await cancel(t, t.keys.analyst, "export-nd")).status, 202);
  const lines = (await readAll()).trimEnd().split("\n").map((line) => JSON.parse(line));
  const last = lines.pop();
  equal(last.error, "query_canceled");
  equal(last.request_id, "export-nd");
  lines.forEach((row, i) => deepEqual(row, { i, pad: "y".repeat(100) }));
});

Deno.test("queries: a query waiting for a pooled connection is listed and canceled", async () => {
  await using t = await startAuthServer({ roles: ROLES, flags: { threads: "1" } });
  const first = startQuery(t, t.keys.analyst, "holds-the-pool");
  await waitListed(t, t.keys.analyst, "holds-the-pool");
  const waiting = startQuery(t, t.keys.analyst, "waits-for-pool", "SELECT 1 AS one");
  const listed = await waitListed(t, t.keys.admin, "waits-for-pool");
  equal(listed.progress, null);
  equal((await cancel(t, t.keys.analyst, "waits-for-pool")).status, 202);
  const answer = await waiting;
  equal(answer.status, 409);
  equal(answer.body.code, "query_canceled");
  equal((await cancel(t, t.keys.admin, "holds-the-pool")).status, 202);
  equal((await first).body.code, "query_canceled");
  const after = await t.query("SELECT 3 AS three", undefined, t.as(t.keys.analyst));
  deepEqual(after.body.data, [{ three: 3 }]);
});

Deno.test("queries: a long table scan reports DuckDB's progress, 0..1 and moving", async () => {
  await using t = await startAuthServer({ roles: ROLES });
  const setup = await t.query(
    "CREATE TABLE big AS SELECT range AS x FROM range(20000000)",
    undefined,
    t.as(t.keys.admin),
  );
  equal(setup.status, 200);
  const sql = "SELECT count(*) AS n FROM big WHERE md5(x::VARCHAR || md5(x::VARCHAR)) LIKE '%abc%'";
  const running = startQuery(t, t.keys.analyst, "scan-1", sql);
  await waitListed(t, t.keys.analyst, "scan-1");
  const seen: number[] = [];
  ok(
    await t.eventually(async () => {
      const list = await t.request("/queries", { headers: t.as(t.keys.analyst) });
      // deno-lint-ignore no-explicit-any
      const progress = list.body.queries.find((q: any) => q.request_id === "scan-1")?.progress;
      if (typeof progress === "number") seen.push(progress);
      return seen.length >= 2 && seen.at(-1)! > seen[0];
    }, 20_000),
    `progress never moved: ${JSON.stringify(seen)}`,
  );
  ok(seen.every((p) => p >= 0 && p <= 1), JSON.stringify(seen));
  equal((await cancel(t, t.keys.analyst, "scan-1")).status, 202);
  equal((await running).body.code, "query_canceled");
});
