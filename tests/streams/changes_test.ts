import { deepEqual, equal, ok } from "node:assert/strict";
import { consume, startTestServer, type TestServer } from "../_helpers.ts";
import {
  type Event,
  feedUrl as feedUrlOf,
  followLongPoll,
  longPoll,
  readAll,
  sse,
  tailOf,
} from "../_follow.ts";
import { planSqlEvents } from "../../lib/streams/changes.ts";
import { findWriteTargets } from "../../lib/sql/mod.ts";

const plan = (sql: string, rows: number | null) => planSqlEvents(findWriteTargets(sql)!, rows);

Deno.test("planSqlEvents() gives one event per written table with its statements", () => {
  deepEqual(
    plan("INSERT INTO Orders VALUES (1); UPDATE orders SET v = 2; DELETE FROM sales.audit", 3),
    [
      { table: "orders", statements: ["INSERT", "UPDATE"], tables: ["orders", "sales.audit"] },
      { table: "sales.audit", statements: ["DELETE"], tables: ["orders", "sales.audit"] },
    ],
  );
});

Deno.test("planSqlEvents() drops DML that changed nothing, temp tables and reads", () => {
  deepEqual(plan("DELETE FROM t WHERE false", 0), []);
  deepEqual(plan("CREATE TABLE t (id INT); INSERT INTO t SELECT 1 WHERE false", 0), [
    { table: "t", statements: ["CREATE"], tables: ["t"] },
  ]);
  deepEqual(plan("CREATE TEMP TABLE x AS SELECT 1; INSERT INTO temp.x VALUES (2)", 1), []);
  deepEqual(plan("CREATE TEMP TABLE x AS SELECT 1; INSERT INTO x VALUES (2)", 1), []);
  deepEqual(plan("SELECT * FROM t", null), []);
  deepEqual(plan("INSERT INTO t VALUES (1) RETURNING *", null), [
    { table: "t", statements: ["INSERT"], tables: ["t"] },
  ]);
});

// ------------------------------------------------------------------ against a real server

/** The change feed of `table` on the test server. */
const feedUrl = (t: TestServer, table = "t") => feedUrlOf(t.url, table);

async function feed(t: TestServer, table: string): Promise<Event[]> {
  return (await readAll(feedUrl(t, table))).events;
}

async function write(t: TestServer, sql: string, requestId: string, status = 200) {
  const res = await t.query(sql, undefined, { "x-request-id": requestId });
  equal(res.status, status, res.text);
  return res;
}

Deno.test("committed raw SQL writes append one event per table; failed or empty writes none", async () => {
  await using t = await startTestServer();
  await write(t, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", "r1");
  await write(t, "INSERT INTO t VALUES (1, 'a'), (2, 'b')", "r2");
  await write(t, "INSERT INTO t VALUES (1, 'dup')", "r3", 409);
  await write(t, "INSERT INTO t VALUES (3, 'c'); INSERT INTO nowhere VALUES (1)", "r4", 404);
  await write(t, "DELETE FROM t WHERE id = 99", "r5");
  await write(t, "SELECT * FROM t", "r6");
  await write(
    t,
    "CREATE TABLE audit (n INT); UPDATE T SET v = 'z'; INSERT INTO audit VALUES (1)",
    "r7",
  );
  await write(t, "INSERT INTO t VALUES (4, 'd') RETURNING id", "r8");
  const events = await feed(t, "t");
  deepEqual(
    events.map((e) => [e.op, e.table, e.statements, e.tables, e.rows_affected, e.request_id]),
    [
      ["sql", "t", ["CREATE"], ["t"], 0, "r1"],
      ["sql", "t", ["INSERT"], ["t"], 2, "r2"],
      ["sql", "t", ["UPDATE"], ["audit", "t"], 3, "r7"],
      ["sql", "t", ["INSERT"], ["t"], null, "r8"],
    ],
  );
  ok(events.every((e) => !Number.isNaN(Date.parse(e.time))));
  deepEqual((await feed(t, "audit")).map((e) => [e.statements, e.request_id]), [
    [["CREATE", "INSERT"], "r7"],
  ]);
  // the GET query endpoint cannot write, and reads record nothing
  equal((await t.request(`/query/${encodeURIComponent("SELECT 1")}/result.json`)).status, 200);
  equal((await feed(t, "t")).length, 4);
});

Deno.test("change_feeds: false records nothing", async () => {
  await using t = await startTestServer({ change_feeds: "false" });
  await write(t, "CREATE TABLE t (id INT); INSERT INTO t VALUES (1)", "r1");
  const res = await consume(await fetch(`${feedUrl(t)}?offset=-1`));
  equal(res.status, 404);
});

Deno.test("a long-poll follower resumes after disconnects without missing or repeating events", async () => {
  await using t = await startTestServer({ long_poll_timeout: "300ms" });
  await write(t, "CREATE TABLE t (id INT)", "setup");
  const offset = await tailOf(feedUrl(t));
  const writes = (async () => {
    for (let i = 0; i < 30; i++) {
      await write(t, `INSERT INTO t VALUES (${i})`, `w${i}`);
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 40));
    }
  })();
  const seen = await followLongPoll(feedUrl(t), offset, writes, 30);
  deepEqual(seen, Array.from({ length: 30 }, (_, i) => `w${i}`));
});

Deno.test("an SSE follower resumes from its offset after a disconnect", async () => {
  await using t = await startTestServer();
  await write(t, "CREATE TABLE t (id INT)", "setup");
  for (let i = 0; i < 3; i++) await write(t, `INSERT INTO t VALUES (${i})`, `a${i}`);
  // read the first four events, then drop the connection
  const first = await sse(feedUrl(t), "-1", 4);
  deepEqual(first.events.map((e) => e.request_id), ["setup", "a0", "a1", "a2"]);
  // writes while disconnected
  for (let i = 0; i < 3; i++) await write(t, `INSERT INTO t VALUES (${i})`, `b${i}`);
  const later = sse(feedUrl(t), first.next, 5);
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 2; i++) await write(t, `INSERT INTO t VALUES (${i})`, `c${i}`);
  deepEqual((await later).events.map((e) => e.request_id), ["b0", "b1", "b2", "c0", "c1"]);
});

Deno.test("one write wakes many long-poll and SSE followers of a feed", async () => {
  await using t = await startTestServer({ long_poll_timeout: "5s" });
  await write(t, "CREATE TABLE t (id INT)", "setup");
  const tail = await tailOf(feedUrl(t));
  const polls = Array.from({ length: 100 }, () => longPoll(feedUrl(t), tail));
  const streams = Array.from({ length: 50 }, () => sse(feedUrl(t), tail, 1));
  await new Promise((r) => setTimeout(r, 200));
  await write(t, "INSERT INTO t VALUES (1)", "wake");
  for (const p of await Promise.all(polls)) deepEqual(p.events.map((e) => e.request_id), ["wake"]);
  for (const s of await Promise.all(streams)) {
    deepEqual(s.events.map((e) => e.request_id), ["wake"]);
  }
});
