// Revalidation of read answers: strong ETags from the data versions of the tables read, 304
// without a body (and without running the read), never a tag for a key that may not read.
import { equal, notEqual, ok } from "node:assert/strict";
import { type AuthTestServer, sqlPath, startAuthServer } from "../_helpers.ts";

const SETUP = "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR); " +
  "CREATE TABLE b (id INTEGER PRIMARY KEY, v VARCHAR); CREATE VIEW av AS SELECT * FROM a; " +
  "INSERT INTO a VALUES (1, 'x'), (2, 'y'); INSERT INTO b VALUES (1, 'z')";

async function start(): Promise<AuthTestServer> {
  const t = await startAuthServer({ roles: { only_b: [["b", "r"]] } });
  const setup = await t.query(SETUP, undefined, t.as(t.keys.admin));
  equal(setup.status, 200, setup.text);
  return t;
}

/** GETs `path` as `key` with an optional If-None-Match; the reply and its tag. */
async function get(t: AuthTestServer, path: string, key: string, tag?: string | null) {
  const headers: Record<string, string> = t.as(key);
  if (tag) headers["if-none-match"] = tag;
  const reply = await t.request(path, { headers });
  return { ...reply, tag: reply.headers.get("etag") };
}

const READS = [
  "/api/a?sort=id:asc",
  "/api/a?filter=id:eq:1&format=csv",
  sqlPath("SELECT * FROM a ORDER BY id"),
  sqlPath("SELECT count(*) FROM a JOIN b USING (id)", "csv"),
];

Deno.test("ETag: 304 while unchanged, a new tag after a write to a read table only", async () => {
  await using t = await start();
  const admin = t.keys.admin;
  for (const path of READS) {
    const first = await get(t, path, admin);
    equal(first.status, 200, `${path}: ${first.text}`);
    ok(first.tag && /^"[0-9a-f.-]+"$/.test(first.tag), `${path}: strong tag ${first.tag}`);
    equal(first.headers.get("cache-control"), "private, no-cache", path);
    const again = await get(t, path, admin, first.tag);
    equal(again.status, 304, path);
    equal(again.text, "", `${path}: no body`);
    equal(again.tag, first.tag, path);
    equal(again.headers.get("cache-control"), "private, no-cache", path);
    // Weak comparison, lists and * match too.
    equal((await get(t, path, admin, `"nope", W/${first.tag}`)).status, 304, path);
    equal((await get(t, path, admin, "*")).status, 304, path);
    equal((await get(t, path, admin, '"nope"')).status, 200, path);
  }
  const tags = async () => await Promise.all(READS.map(async (p) => (await get(t, p, admin)).tag));
  const before = await tags();

  // A write to a table none of the reads... reads (through the API and through raw SQL).
  await t.query("CREATE TABLE c (x INTEGER)", undefined, t.as(admin));
  const afterDdl = await tags();
  const post = await t.request("/api/c", {
    method: "POST",
    headers: { ...t.as(admin), "content-type": "application/json" },
    body: JSON.stringify({ x: 1 }),
  });
  equal(post.status, 201, post.text);
  await t.query("INSERT INTO c VALUES (2)", undefined, t.as(admin));
  const unrelated = await tags();
  for (let i = 0; i < READS.length; i++) {
    equal(unrelated[i], afterDdl[i], `${READS[i]}: a write to another table keeps the tag`);
    equal((await get(t, READS[i], admin, afterDdl[i])).status, 304, READS[i]);
  }
  notEqual(afterDdl[0], before[0], "DDL moves every tag");

  // A write to b moves the join's tag only; a write to a moves every read of a.
  await t.query("UPDATE b SET v = 'w'", undefined, t.as(admin));
  const afterB = await tags();
  equal(afterB[0], unrelated[0]);
  equal(afterB[2], unrelated[2]);
  notEqual(afterB[3], unrelated[3], "the join reads b");
  const put = await t.request("/api/a", {
    method: "PUT",
    headers: { ...t.as(admin), "content-type": "application/json" },
    body: JSON.stringify({ where: { id: 1 }, set: { v: "changed" } }),
  });
  equal(put.status, 200, put.text);
  const afterA = await tags();
  for (let i = 0; i < READS.length; i++) notEqual(afterA[i], afterB[i], READS[i]);
  const stale = await get(t, READS[0], admin, afterB[0]);
  equal(stale.status, 200);
  ok(stale.text.includes("changed"), "the fresh rows");
});

Deno.test("ETag: none for reads that are not deterministic or not of base tables", async () => {
  await using t = await start();
  for (
    const path of [
      "/api/av",
      sqlPath("SELECT now()"),
      sqlPath("SELECT random() FROM a"),
      sqlPath("SELECT * FROM av"),
      sqlPath("SELECT 1; SELECT 2"),
    ]
  ) {
    const reply = await get(t, path, t.keys.admin);
    equal(reply.status, 200, `${path}: ${reply.text}`);
    equal(reply.tag, null, path);
    equal((await get(t, path, t.keys.admin, "*")).status, 200, `${path}: never 304`);
  }
});

Deno.test("ETag: never for a key that may not read the table (403 first)", async () => {
  await using t = await start();
  const tag = (await get(t, "/api/a", t.keys.admin)).tag;
  ok(tag);
  for (const path of ["/api/a", sqlPath("SELECT * FROM a")]) {
    for (const condition of [tag, "*", null]) {
      const reply = await get(t, path, t.keys.only_b, condition);
      equal(reply.status, 403, `${path} ${condition}`);
      equal(reply.tag, null, path);
    }
  }
  const allowed = await get(t, "/api/b", t.keys.only_b);
  equal(allowed.status, 200);
  ok(allowed.tag);
  equal((await get(t, "/api/b", t.keys.only_b, allowed.tag)).status, 304);
});

Deno.test("ETag: /tables by its content, per key", async () => {
  await using t = await start();
  const admin = await get(t, "/tables", t.keys.admin);
  const onlyB = await get(t, "/tables", t.keys.only_b);
  ok(admin.tag && onlyB.tag);
  notEqual(admin.tag, onlyB.tag, "different keys see different tables");
  equal((await get(t, "/tables", t.keys.admin, admin.tag)).status, 304);
  await t.query("CREATE TABLE d (x INTEGER)", undefined, t.as(t.keys.admin));
  const after = await get(t, "/tables", t.keys.admin, admin.tag);
  equal(after.status, 200);
  ok(after.text.includes('"d"'));
});
