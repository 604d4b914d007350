/**
 * Tenants by `Host` (issue 18): a database entry's `hosts` make it the default catalog of their
 * requests (CRUD, /tables, raw SQL, change events), label them in the access log and metrics,
 * and apply the tenant's own `rate_limit`.
 * @module
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import http from "node:http";
import { type AuthTestServer, type Reply, startAuthServer } from "./_helpers.ts";
import { feedUrl, readAll } from "./_follow.ts";

async function startTenants(dir: string, rateLimit: string | null = null): Promise<AuthTestServer> {
  const s = await startAuthServer({
    roles: { acme_staff: [["acme.*", "crudq"]] },
    flags: {
      access_log: `${dir}/access.log`,
      databases: JSON.stringify({
        acme: { path: ":memory:", hosts: ["acme.test"], rate_limit: rateLimit },
        other: { path: ":memory:" },
      }),
    },
  });
  const admin = s.as(s.keys.admin);
  // One request is one transaction, and DuckDB lets a transaction write one database.
  for (
    const [db, rows] of [["main", "(1, 'main')"], ["acme", "(1, 'acme'), (2, 'acme')"], [
      "other",
      "(1, 'other')",
    ]]
  ) {
    const table = db === "main" ? "orders" : `${db}.orders`;
    const made = await s.query(
      `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, who VARCHAR); INSERT INTO ${table} VALUES ${rows}`,
      undefined,
      admin,
    );
    equal(made.status, 200, made.text);
  }
  return s;
}

/**
 * A request under the prefix with its own `Host` header (`fetch` always sends the URL's host;
 * `node:http` sends the one given), consumed like `TestServer.request`.
 */
function hostRequest(
  s: AuthTestServer,
  headers: Record<string, string>,
  path: string,
  init: { method?: string; body?: string } = {},
): Promise<Reply> {
  const url = new URL(`${s.url}${path}`);
  const body = init.body;
  const all = body === undefined ? headers : { "content-type": "application/json", ...headers };
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: init.method ?? "GET",
      headers: all,
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => text += chunk);
      res.on("end", () => {
        let parsed: unknown = undefined;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, text, body: parsed });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Raw SQL as `headers` (with their Host). */
function hostQuery(s: AuthTestServer, headers: Record<string, string>, sql: string) {
  return hostRequest(s, headers, "/query", { method: "POST", body: JSON.stringify({ sql }) });
}

async function withDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-tenants-test-" });
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("tenants: the Host's database is the default catalog of every route", async () => {
  await withDir(async (dir) => {
    await using s = await startTenants(dir);
    const staff = { ...s.as(s.keys.acme_staff), host: "ACME.test:8080" };
    const rows = await hostRequest(s, staff, "/api/orders?sort=id");
    equal(rows.status, 200, rows.text);
    deepEqual(rows.body.data.map((r: { who: string }) => r.who), ["acme", "acme"]);
    // Another database is still reachable by its name (grants permitting).
    const other = await hostRequest(s, staff, "/api/other.orders");
    equal(other.status, 403, other.text);
    const otherAdmin = await hostRequest(
      s,
      { ...s.as(s.keys.admin), host: "acme.test" },
      "/api/other.orders",
    );
    deepEqual(otherAdmin.body.data, [{ id: 1, who: "other" }]);
    const insert = await hostRequest(s, staff, "/api/orders", {
      method: "POST",
      body: JSON.stringify({ id: 3, who: "acme" }),
    });
    equal(insert.status, 201, insert.text);
    const described = await hostRequest(s, staff, "/tables/orders");
    equal(described.status, 200, described.text);
    equal(described.body.database, "acme");
    // Raw SQL: unqualified names are the tenant's, and authorized as such.
    const sql = await hostQuery(s, staff, "SELECT count(*)::INT AS n FROM orders");
    equal(sql.status, 200, sql.text);
    deepEqual(sql.body.data, [{ n: 3 }]);
    const write = await hostQuery(s, staff, "UPDATE orders SET who = 'sql' WHERE id = 3");
    equal(write.status, 200, write.text);
    const main = await hostQuery(s, staff, "SELECT * FROM memory.main.orders");
    equal(main.status, 403, main.text);
    // The same key without the tenant's Host sees the main database: no grant there.
    const plain = s.as(s.keys.acme_staff);
    equal((await s.request("/api/orders", { headers: plain })).status, 403);
    equal((await s.query("SELECT * FROM orders", undefined, plain)).status, 403);
    // The main database is untouched; the tenant's change feed got both writes.
    const mainRows = await s.query("SELECT who FROM orders", undefined, s.as(s.keys.admin));
    deepEqual(mainRows.body.data, [{ who: "main" }]);
    const { events } = await readAll(feedUrl(s.url, "acme.orders"), s.as(s.keys.admin));
    deepEqual(events.map((e) => [e.op, e.table]).slice(-2), [
      ["insert", "acme.orders"],
      ["sql", "acme.orders"],
    ]);
    // A tenant's raw SQL runs on a connection of its own: the next request is the main one's.
    const after = await s.query("SELECT current_database() AS db", undefined, s.as(s.keys.admin));
    equal(after.status, 200, after.text);
    equal(after.body.data[0].db, "memory");
  });
});

Deno.test("tenants: labelled in the access log and metrics, with their own rate limit", async () => {
  await withDir(async (dir) => {
    await using s = await startTenants(dir, "2/s");
    const staff = { ...s.as(s.keys.acme_staff), host: "acme.test" };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await hostRequest(s, staff, "/api/orders");
      statuses.push(r.status);
      if (r.status === 429) {
        equal(r.body.code, "rate_limited");
        ok(r.headers.get("ratelimit-policy")?.startsWith('"tenant"'));
      }
    }
    ok(statuses.includes(429), statuses.join(","));
    // Other hosts are not limited by the tenant's bucket.
    for (let i = 0; i < 4; i++) {
      equal(
        (await s.request("/api/acme.orders", { headers: s.as(s.keys.acme_staff) })).status,
        200,
      );
    }
    const metrics = await s.request("/metrics", { headers: s.as(s.keys.admin) });
    ok(/duckserve_tenant_requests_total\{tenant="acme",status="200"\} [1-9]/.test(metrics.text));
    ok(/duckserve_rate_limited_total\{scope="tenant"\} [1-9]/.test(metrics.text));
    await s.server.shutdown();
    const lines = (await Deno.readTextFile(`${dir}/access.log`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    const tenant = lines.filter((l) => l.tenant === "acme");
    ok(tenant.length >= 4, `${tenant.length} tenant lines`);
    ok(lines.some((l) => l.tenant === undefined && l.request.uri.includes("/api/acme.orders")));
  });
});

Deno.test("tenants: a tenant attached while serving is served at once; its host is unique", async () => {
  await withDir(async (dir) => {
    await using s = await startTenants(dir);
    const admin = { ...s.as(s.keys.admin), "content-type": "application/json" };
    const post = (body: unknown) =>
      s.request("/admin/databases", { method: "POST", headers: admin, body: JSON.stringify(body) });
    const taken = await post({ attach: { beta: { path: ":memory:", hosts: ["acme.test"] } } });
    equal(taken.status, 400, taken.text);
    ok(taken.body.problems[0].includes("acme.test is a host of acme"), taken.text);
    const added = await post({ attach: { beta: { path: ":memory:", hosts: ["beta.test"] } } });
    equal(added.status, 200, added.text);
    const made = await s.query(
      "CREATE TABLE beta.orders (id INTEGER, who VARCHAR); INSERT INTO beta.orders VALUES (1, 'beta')",
      undefined,
      s.as(s.keys.admin),
    );
    equal(made.status, 200, made.text);
    const rows = await hostRequest(s, { ...s.as(s.keys.admin), host: "beta.test" }, "/api/orders");
    deepEqual(rows.body.data, [{ id: 1, who: "beta" }]);
    const gone = await post({ detach: ["beta"] });
    equal(gone.status, 200, gone.text);
    // Without its database the host is nobody's tenant: the main database answers.
    const main = await hostRequest(s, { ...s.as(s.keys.admin), host: "beta.test" }, "/api/orders");
    deepEqual(main.body.data, [{ id: 1, who: "main" }]);
  });
});
