import { deepEqual, equal } from "node:assert/strict";
import { startAuthServer } from "../_helpers.ts";

async function start() {
  const s = await startAuthServer({
    roles: {
      users_reader: [["users", "r"], ["sales.orders", "r"]],
      writer: [["users", "cud"]],
    },
  });
  const admin = s.as(s.keys.admin);
  for (
    const sql of [
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, note VARCHAR DEFAULT 'n/a')",
      "INSERT INTO users VALUES (1, 'a', NULL), (2, 'b', NULL), (3, 'c', NULL)",
      "CREATE TABLE secret (k VARCHAR)",
      "CREATE VIEW v AS SELECT id FROM users",
      "CREATE SCHEMA sales",
      "CREATE TABLE sales.orders (a INTEGER, b INTEGER, PRIMARY KEY (b, a))",
    ]
  ) {
    const reply = await s.query(sql, undefined, admin);
    equal(reply.status, 200, reply.text);
  }
  const as = (role: string) => s.as(s.keys[role]);
  return { s, admin, as };
}

Deno.test("GET /tables lists only the tables and views the role may read", async () => {
  const { s, admin, as } = await start();
  await using _ = s;
  const all = await s.request("/tables", { headers: admin });
  equal(all.status, 200);
  deepEqual(all.body.tables.map((t: { schema: string; name: string }) => `${t.schema}.${t.name}`), [
    "main.secret",
    "main.users",
    "main.v",
    "sales.orders",
  ]);
  const users = all.body.tables.find((t: { name: string }) => t.name === "users");
  deepEqual(users, {
    schema: "main",
    name: "users",
    kind: "table",
    columns: [
      { name: "id", type: "INTEGER", nullable: false, default: null, primary_key: true },
      { name: "name", type: "VARCHAR", nullable: false, default: null, primary_key: false },
      { name: "note", type: "VARCHAR", nullable: true, default: "'n/a'", primary_key: false },
    ],
    primary_key: ["id"],
    row_count_estimate: 3,
  });
  const view = all.body.tables.find((t: { name: string }) => t.name === "v");
  equal(view.kind, "view");
  equal(view.row_count_estimate, null);
  const reader = await s.request("/tables", { headers: as("users_reader") });
  deepEqual(reader.body.tables.map((t: { name: string }) => t.name), ["users", "orders"]);
  const writer = await s.request("/tables", { headers: as("writer") });
  deepEqual(writer.body, { tables: [] });
});

Deno.test("GET /tables/{table} checks the permission before revealing existence", async () => {
  const { s, admin, as } = await start();
  await using _ = s;
  const reader = as("users_reader");
  const users = await s.request("/tables/users", { headers: reader });
  equal(users.status, 200);
  deepEqual(users.body.primary_key, ["id"]);
  equal((await s.request("/tables/USERS", { headers: reader })).body.name, "users");
  const orders = await s.request("/tables/sales.orders", { headers: reader });
  equal(orders.status, 200);
  deepEqual(orders.body.primary_key, ["b", "a"]);
  // Forbidden whether the table exists or not: no existence oracle.
  for (const name of ["secret", "nowhere"]) {
    const reply = await s.request(`/tables/${name}`, { headers: reader });
    equal(reply.status, 403, name);
    equal(reply.body.code, "forbidden");
  }
  const unknown = await s.request("/tables/nowhere", { headers: admin });
  equal(unknown.status, 404);
  equal(unknown.body.code, "unknown_table");
  equal(unknown.headers.get("content-type"), "application/problem+json");
});

Deno.test("schema endpoints need a key and only accept GET", async () => {
  const { s, admin } = await start();
  await using _ = s;
  const anonymous = await s.request("/tables");
  equal(anonymous.status, 401);
  equal(anonymous.body.code, "unauthorized");
  const post = await s.request("/tables", { method: "POST", headers: admin });
  equal(post.status, 405);
  equal(post.headers.get("allow"), "GET, HEAD");
  const del = await s.request("/tables/users", { method: "DELETE", headers: admin });
  equal(del.status, 405);
  const head = await fetch(`${s.url}/tables`, { method: "HEAD", headers: admin });
  await head.body?.cancel();
  equal(head.status, 200);
});
