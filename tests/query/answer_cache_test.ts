import { deepEqual, equal, ok } from "node:assert/strict";
import { startTestServer, type TestServer } from "../_helpers.ts";
import { api } from "../_api.ts";
import { bumpDataVersion } from "../../lib/db/versions.ts";
import { producerOf } from "../../lib/encode/byte_producer.ts";
import { bodyAnswer } from "../../lib/query/answer.ts";
import { createAnswerCache, throughCache } from "../../lib/query/answer_cache.ts";

const get = (t: TestServer, path: string, headers?: Record<string, string>) =>
  api(t).get(path, headers);
const post = (t: TestServer, table: string, body: unknown) => api(t).post(table, body);

Deno.test("GET /api/{table} answers repeat reads from the cache until the next write", async () => {
  await using t = await startTestServer();
  await t.query(
    "CREATE TABLE c (id INTEGER PRIMARY KEY, v VARCHAR); INSERT INTO c VALUES (1, 'a')",
  );
  let first = await get(t, "c?sort=id");
  equal(first.headers.get("x-cache"), "miss");
  let again = await get(t, "c?sort=id");
  equal(again.headers.get("x-cache"), "hit");
  equal(again.text, first.text);
  equal(again.headers.get("content-type"), first.headers.get("content-type"));

  // a CRUD write invalidates
  equal((await post(t, "c", { id: 2, v: "b" })).status, 201);
  first = await get(t, "c?sort=id");
  equal(first.headers.get("x-cache"), "miss");
  deepEqual(first.body.data.map((r: { id: number }) => r.id), [1, 2]);

  // a raw SQL write invalidates
  await get(t, "c?sort=id");
  await t.query("UPDATE c SET v = 'z' WHERE id = 1");
  again = await get(t, "c?sort=id");
  equal(again.headers.get("x-cache"), "miss");
  equal(again.body.data[0].v, "z");

  // DDL invalidates
  await t.query("ALTER TABLE c ADD COLUMN w INTEGER DEFAULT 7");
  again = await get(t, "c?sort=id");
  deepEqual(Object.keys(again.body.data[0]), ["id", "v", "w"]);

  // a failed write invalidates too (harmless), and the answer is still right
  equal((await post(t, "c", { id: 1, v: "dup" })).status, 409);
  again = await get(t, "c?sort=id");
  equal(again.body.data.length, 2);

  // Cache-Control: no-cache reads fresh
  await get(t, "c?sort=id");
  const fresh = await get(t, "c?sort=id", { "cache-control": "no-cache" });
  equal(fresh.headers.get("x-cache"), "miss");

  // pages and filters are separate entries
  const page = await get(t, "c?page=1&limit=1&sort=id");
  equal(page.body.data.length, 1);
  equal((await get(t, "c?page=1&limit=1&sort=id")).headers.get("x-cache"), "hit");
});

Deno.test("the read cache never serves a read older than a completed write, under concurrency", async () => {
  await using t = await startTestServer({ threads: "4" });
  await t.query("CREATE TABLE k (id INTEGER PRIMARY KEY)");
  let stop = false;
  // readers keep the entry hot the whole time
  const readers = Array.from({ length: 4 }, async () => {
    while (!stop) await get(t, "k?sort=id");
  });
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; i < 15; i++) {
      const id = w * 100 + i;
      equal((await post(t, "k", { id })).status, 201);
      const r = await get(t, "k?sort=id");
      ok(
        r.body.data.some((row: { id: number }) => row.id === id),
        `row ${id} visible after its write`,
      );
      // and through raw SQL
      await t.query("UPDATE k SET id = id WHERE id = ?", [id]);
      const s = await get(t, "k?sort=id");
      ok(s.body.data.length >= r.body.data.length);
    }
  });
  await Promise.all(writers);
  stop = true;
  await Promise.all(readers);
  const all = await get(t, "k?sort=id", { "cache-control": "no-cache" });
  equal(all.body.data.length, 60);
});

Deno.test("views, exports and a disabled cache are never cached", async () => {
  {
    await using t = await startTestServer();
    await t.query(
      "CREATE TABLE b (id INTEGER); INSERT INTO b VALUES (1); CREATE VIEW bv AS SELECT * FROM b",
    );
    await get(t, "bv");
    equal((await get(t, "bv")).headers.get("x-cache"), null);
    await get(t, "b?format=csv");
    equal((await get(t, "b?format=csv")).headers.get("x-cache"), null);
  }
  {
    await using t = await startTestServer({ read_cache_size: "0" });
    await t.query("CREATE TABLE b (id INTEGER); INSERT INTO b VALUES (1)");
    await get(t, "b");
    equal((await get(t, "b")).headers.get("x-cache"), null);
  }
  {
    await using t = await startTestServer({ read_cache_max_entry: "64" });
    await t.query("CREATE TABLE b AS SELECT range AS id FROM range(100)");
    await get(t, "b");
    equal((await get(t, "b")).headers.get("x-cache"), "miss"); // too big to keep
  }
});

Deno.test("throughCache() serves a kept answer until the data version moves, and keeps only what may be", async () => {
  const cache = createAnswerCache({ maxBytes: 1024, maxEntryBytes: 64 });
  const owner = {};
  const slot = { cache, owner, bypass: false, variant: "json" };
  let produced = 0;
  const produce = (cacheable?: boolean) => () => {
    produced++;
    return Promise.resolve(
      bodyAnswer(
        { head: [], size: 0, ended: true, rest: producerOf([]), truncated: false, writer: "js" },
        { cacheable },
      ),
    );
  };
  const stored = { status: 200, headers: [] as [string, string][], body: new Uint8Array(3) };

  const miss = await throughCache(slot, "k", produce());
  ok(miss.kind === "body" && miss.keep);
  miss.keep(stored);
  const hit = await throughCache(slot, "k", produce());
  deepEqual([hit.kind, produced], ["stored", 1]);
  equal(hit.kind === "stored" && hit.stored, stored);

  // another representation is another entry; a bypass produces (and may keep) afresh
  equal((await throughCache({ ...slot, variant: "csv" }, "k", produce())).kind, "body");
  equal((await throughCache({ ...slot, bypass: true }, "k", produce())).kind, "body");
  equal(produced, 3);

  // a write anywhere on the owner's database makes every entry stale
  bumpDataVersion(owner);
  equal((await throughCache(slot, "k", produce())).kind, "body");

  // not cacheable, no key, or no cache: produced and never kept
  const views = await throughCache(slot, "v", produce(false));
  ok(views.kind === "body" && views.keep === undefined);
  const unkeyed = await throughCache(slot, null, produce());
  ok(unkeyed.kind === "body" && unkeyed.keep === undefined);
  const off = createAnswerCache({ maxBytes: 0, maxEntryBytes: 0 });
  const disabled = await throughCache({ ...slot, cache: off }, "k", produce());
  ok(disabled.kind === "body" && disabled.keep === undefined);
  equal(produced, 7);
});
