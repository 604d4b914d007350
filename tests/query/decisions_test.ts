// What the server remembers about a SQL text (its plan, the authorization decision per role, its
// cacheability, its prepared statements) is forgotten when a grant or the catalog changes: a
// repeated text is judged and planned again.
import { deepEqual, equal, ok } from "node:assert/strict";
import { removePermission } from "../../lib/auth/store.ts";
import { type AuthTestServer, sqlPath, startAuthServer, timed } from "../_helpers.ts";

async function start(): Promise<AuthTestServer> {
  const t = await startAuthServer({ roles: { analyst: [["t", "rq"], ["u", "rq"]] } });
  const setup = await t.query(
    "CREATE TABLE t (id INTEGER, v VARCHAR); INSERT INTO t VALUES (1, 'a'); " +
      "CREATE TABLE u (id INTEGER)",
    undefined,
    t.as(t.keys.admin),
  );
  equal(setup.status, 200, setup.text);
  return t;
}

Deno.test("a revoked grant: the next identical SQL text is refused", async () => {
  await using t = await start();
  const sql = "SELECT v FROM t WHERE id = 1";
  const run = async () => (await t.query(sql, undefined, t.as(t.keys.analyst))).status;
  for (let i = 0; i < 3; i++) equal(await run(), 200, "allowed and remembered");
  const get = async () =>
    (await t.request(sqlPath(sql, "csv"), { headers: t.as(t.keys.analyst) })).status;
  equal(await get(), 200);
  await removePermission(t.authPath, "analyst", "t");
  const ms = await timed(async () => await run() === 403);
  ok(ms < 2000, `took ${ms} ms`);
  equal(await get(), 403, "the GET URL of the same text too");
  // Other texts the role may still run are unaffected.
  equal((await t.query("SELECT * FROM u", undefined, t.as(t.keys.analyst))).status, 200);
});

Deno.test("an altered table: the next identical SQL text is planned again", async () => {
  await using t = await start();
  const admin = t.as(t.keys.admin);
  const sql = "SELECT * FROM t";
  const columns = async (format: string) => {
    const reply = await t.request(sqlPath(sql, format), { headers: admin });
    equal(reply.status, 200, reply.text);
    return format === "csv" ? reply.text.split(/\r?\n/)[0] : Object.keys(reply.body.data[0]);
  };
  for (let i = 0; i < 2; i++) {
    equal(await columns("csv"), "id,v");
    deepEqual(await columns("json"), ["id", "v"]);
    equal((await t.query(sql, undefined, admin)).body.data.length, 1);
  }
  const altered = await t.query("ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7", undefined, admin);
  equal(altered.status, 200, altered.text);
  equal(await columns("csv"), "id,v,w", "DuckDB's CSV writer sees the new column");
  deepEqual(await columns("json"), ["id", "v", "w"]);
  deepEqual((await t.query(sql, undefined, admin)).body.data, [{ id: 1, v: "a", w: 7 }]);
  // A table replaced by a view: the same text is no longer cacheable (no ETag).
  const tagged = await t.request(sqlPath(sql), { headers: admin });
  ok(tagged.headers.get("etag"));
  await t.query(
    "DROP TABLE t; CREATE TABLE base (id INTEGER); CREATE VIEW t AS SELECT * FROM base",
    undefined,
    admin,
  );
  const viewed = await t.request(sqlPath(sql), { headers: admin });
  equal(viewed.status, 200, viewed.text);
  equal(viewed.headers.get("etag"), null);
  deepEqual(viewed.body.data, []);
});
