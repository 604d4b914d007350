// Table change feeds of REST writes: every committed write through /api/{table} appends one event
// to the read-only stream _changes/<table>, read here by a real follower with a real key.
import { deepEqual, equal, ok } from "node:assert/strict";
import { type AuthTestServer, consume, startAuthServer } from "./_helpers.ts";
import {
  type Event,
  feedUrl as feedUrlOf,
  followLongPoll,
  readAll,
  sse,
  tailOf,
} from "./_follow.ts";
import { CHANGE_KEYS_LIMIT, CHANGE_ROWS_LIMIT } from "../lib/streams/change_capture.ts";

const SETUP = "CREATE TABLE orders (id BIGINT PRIMARY KEY, total DECIMAL(10,2), note VARCHAR); " +
  "CREATE TABLE nopk (v INTEGER); CREATE VIEW orders_view AS SELECT * FROM orders; " +
  "CREATE TABLE counter (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO counter VALUES (1, 0); " +
  "CREATE TABLE log (id INTEGER PRIMARY KEY, w INTEGER)";

/** A server with the tables above, an editor writing and a role that may only read orders. */
async function start(flags: Record<string, string> = {}): Promise<AuthTestServer> {
  const t = await startAuthServer({
    roles: { follower: [["orders", "r"], ["nopk", "r"], ["counter", "r"], ["log", "r"]] },
    flags,
  });
  const setup = await t.query(SETUP, undefined, { ...t.as(t.keys.admin), "x-request-id": "setup" });
  equal(setup.status, 200, setup.text);
  return t;
}

const feedUrl = (t: AuthTestServer, table: string) => feedUrlOf(t.url, table);

/** Every event of a table's feed after `offset` but the set-up's, read with the follower's key. */
async function feed(t: AuthTestServer, table: string, offset = "-1"): Promise<Event[]> {
  const { events } = await readAll(feedUrl(t, table), t.as(t.keys.follower), offset);
  return events.filter((e) => e.request_id !== "setup");
}

/** A REST write as the editor with request ID `id`; checks the status and returns the reply. */
async function write(
  t: AuthTestServer,
  method: string,
  path: string,
  id: string,
  body?: unknown,
  status = method === "POST" ? 201 : 200,
  headers: Record<string, string> = {},
) {
  const reply = await t.request(`/api/${path}`, {
    method,
    headers: {
      ...t.as(t.keys.editor),
      "x-request-id": id,
      "content-type": "application/json",
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  equal(reply.status, status, `${method} ${path}: ${reply.text}`);
  return reply;
}

/** The parts of an event that do not change from run to run. */
function stable(e: Event): Event {
  const { time, ...rest } = e;
  ok(!Number.isNaN(Date.parse(time)) && time.endsWith("Z"), `time ${time}`);
  return rest;
}

Deno.test("REST inserts, updates, deletes and upserts each append one event after commit", async () => {
  await using t = await start();
  const before = await tailOf(feedUrl(t, "orders"), t.as(t.keys.follower));
  // The client's answers do not change: the rows are only returned when asked for.
  const one = await write(t, "POST", "orders", "p1", { id: 1, total: 12.5, note: "a" });
  deepEqual(one.body, { success: true, rows_affected: 1 });
  await write(t, "POST", "orders", "p2", [{ id: 2, total: "3.10" }, { id: 3 }]);
  deepEqual(
    (await write(t, "PUT", "ORDERS", "u1", { where: { id: 2 }, set: { note: "b" } })).body,
    { success: true, rows_affected: 1 },
  );
  deepEqual((await write(t, "DELETE", "orders?where=id:eq:3", "d1")).body, {
    success: true,
    rows_affected: 1,
  });
  await write(t, "POST", "orders?on_conflict=id", "m1", [{ id: 1, total: 13 }, { id: 4 }]);
  await write(t, "POST", "orders", "i1", [{ id: 1, note: "dup" }, { id: 5 }], 201, {
    prefer: "resolution=ignore-duplicates",
  });
  const shown = await write(
    t,
    "POST",
    "orders",
    "r1",
    '{"id": 9007199254740993, "note": "big"}',
    201,
    {
      prefer: "return=representation",
    },
  );
  equal(
    shown.text,
    '{"data":[{"id":9007199254740993,"total":null,"note":"big"}],' +
      '"success":true,"rows_affected":1}',
  );

  const row = (id: number | string, total: number | null, note: string | null) => ({
    id,
    total,
    note,
  });
  deepEqual((await feed(t, "orders", before)).map(stable), [
    {
      op: "insert",
      table: "orders",
      rows: [row(1, 12.5, "a")],
      keys: [{ id: 1 }],
      count: 1,
      request_id: "p1",
    },
    {
      op: "insert",
      table: "orders",
      rows: [row(2, 3.1, null), row(3, null, null)],
      keys: [{ id: 2 }, { id: 3 }],
      count: 2,
      request_id: "p2",
    },
    {
      op: "update",
      table: "orders",
      rows: [row(2, 3.1, "b")],
      keys: [{ id: 2 }],
      count: 1,
      request_id: "u1",
    },
    {
      op: "delete",
      table: "orders",
      rows: [row(3, null, null)],
      keys: [{ id: 3 }],
      count: 1,
      request_id: "d1",
    },
    {
      op: "upsert",
      table: "orders",
      rows: [row(1, 13, "a"), row(4, null, null)],
      keys: [{ id: 1 }, { id: 4 }],
      count: 2,
      request_id: "m1",
    },
    {
      op: "insert",
      table: "orders",
      rows: [row(5, null, null)],
      keys: [{ id: 5 }],
      count: 1,
      request_id: "i1",
    },
    {
      // beyond 2^53 a key is decimal text, so no JSON reader rounds it
      op: "insert",
      table: "orders",
      rows: [row("9007199254740993", null, "big")],
      keys: [{ id: "9007199254740993" }],
      count: 1,
      request_id: "r1",
    },
  ]);
  // A table without a primary key reports rows but no keys.
  await write(t, "POST", "nopk", "n1", [{ v: 1 }, { v: 2 }]);
  deepEqual((await feed(t, "nopk")).map(stable), [
    { op: "insert", table: "nopk", rows: [{ v: 1 }, { v: 2 }], count: 2, request_id: "n1" },
  ]);
});

Deno.test("failed writes, writes that change nothing and dry runs append no event", async () => {
  await using t = await start();
  await write(t, "POST", "orders", "ok", [{ id: 1 }, { id: 2 }]);
  const after = await tailOf(feedUrl(t, "orders"), t.as(t.keys.follower));
  await write(t, "POST", "orders", "dup", { id: 1 }, 409);
  await write(t, "POST", "orders", "bulk", [{ id: 7 }, { id: 2 }], 409);
  await write(t, "POST", "orders", "unknown", { id: 8, nope: 1 }, 400);
  await write(t, "POST", "orders", "conversion", { id: 8, total: "lots" }, 400);
  await write(t, "PUT", "orders", "nothing", { where: { id: 99 }, set: { note: "x" } });
  await write(t, "PUT", "orders", "constraint", { where: { id: 2 }, set: { id: 1 } }, 409);
  await write(t, "DELETE", "orders?where=id:eq:99", "none");
  const dry = await write(t, "DELETE", "orders?where=id:gte:1&dry_run=true", "dry");
  deepEqual(dry.body, { dry_run: true, affected_rows: 2 });
  await write(t, "POST", "orders_view", "view", { id: 9 }, 405);
  await write(t, "POST", "orders?on_conflict=id", "same", { id: 1 }, 201, {
    prefer: "resolution=ignore-duplicates",
  });
  // Refused by authorization before anything runs: no event either.
  const refused = await t.request("/api/orders", {
    method: "POST",
    headers: { ...t.as(t.keys.reader), "content-type": "application/json" },
    body: '{"id": 10}',
  });
  equal(refused.status, 403);
  deepEqual(await feed(t, "orders", after), []);
  equal(
    (await t.query("SELECT count(*) AS n FROM orders", undefined, t.as(t.keys.admin)))
      .body.data[0].n,
    2,
  );
});

Deno.test("bulk writes bound their events: rows up to 100, keys up to 10,000, then the count", async () => {
  await using t = await start();
  const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: from + i }));
  await write(t, "POST", "orders", "at-rows-limit", rows(CHANGE_ROWS_LIMIT));
  await write(t, "POST", "orders", "over-rows-limit", rows(CHANGE_ROWS_LIMIT + 1, 1000));
  await write(t, "PUT", "orders", "update-many", {
    where: [{ column: "id", op: "gte", value: 1000 }],
    set: { note: "n" },
  });
  await write(t, "POST", "orders", "over-keys-limit", rows(CHANGE_KEYS_LIMIT + 1, 100_000));
  await write(t, "DELETE", "orders?where=id:lt:1000", "delete-many");
  await write(t, "POST", "nopk", "nopk-many", Array.from({ length: 101 }, (_, v) => ({ v })));

  const events = await feed(t, "orders");
  const shape = (e: Event) => [e.request_id, e.op, e.count, e.rows?.length, e.keys?.length];
  deepEqual(events.map(shape), [
    ["at-rows-limit", "insert", 100, 100, 100],
    ["over-rows-limit", "insert", 101, undefined, 101],
    ["update-many", "update", 101, undefined, 101],
    ["over-keys-limit", "insert", 10_001, undefined, undefined],
    ["delete-many", "delete", 100, 100, 100],
  ]);
  deepEqual(events[1].keys.slice(0, 2), [{ id: 1000 }, { id: 1001 }]);
  deepEqual((await feed(t, "nopk")).map(shape), [[
    "nopk-many",
    "insert",
    101,
    undefined,
    undefined,
  ]]);
});

Deno.test("a long-poll follower of a table resumes after disconnects without missing or repeating an event", async () => {
  await using t = await start({ long_poll_timeout: "300ms" });
  const url = feedUrl(t, "orders");
  const follower = t.as(t.keys.follower);
  const offset = await tailOf(url, follower);
  const writes = (async () => {
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 2) {
        await write(t, "PUT", "orders", `w${i}`, { where: { id: i - 1 }, set: { note: "u" } });
      } else await write(t, "POST", "orders", `w${i}`, { id: i });
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 40));
    }
  })();
  const seen = await followLongPoll(url, offset, writes, 30, follower);
  deepEqual(seen, Array.from({ length: 30 }, (_, i) => `w${i}`));
});

Deno.test("an SSE follower of a table resumes from its offset after a disconnect", async () => {
  await using t = await start();
  const url = feedUrl(t, "orders");
  const follower = t.as(t.keys.follower);
  const from = await tailOf(url, follower);
  for (let i = 0; i < 3; i++) await write(t, "POST", "orders", `a${i}`, { id: i });
  const first = await sse(url, from, 3, follower);
  deepEqual(first.events.map((e) => e.request_id), ["a0", "a1", "a2"]);
  // written while the follower is away
  await write(t, "PUT", "orders", "b0", { where: { id: 0 }, set: { note: "x" } });
  await write(t, "DELETE", "orders?where=id:eq:1", "b1");
  const later = sse(url, first.next, 4, follower);
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 2; i++) await write(t, "POST", "orders", `c${i}`, { id: 10 + i });
  deepEqual((await later).events.map((e) => [e.request_id, e.op]), [
    ["b0", "update"],
    ["b1", "delete"],
    ["c0", "insert"],
    ["c1", "insert"],
  ]);
});

Deno.test("many concurrent writers: exactly one event per committed write, in commit order per table", async () => {
  await using t = await start();
  const target = 40;
  const committed: string[] = [];
  let attempts = 0;
  // Optimistic increments: a PUT succeeds only on the value it read, so the commit order of
  // the successful ones is the order of the values they wrote (1, 2, 3, …).
  const incrementer = async (w: number) => {
    for (;;) {
      const read = await t.request("/api/counter?filter=id:eq:1", { headers: t.as(t.keys.editor) });
      const v: number = read.body.data[0].v;
      if (v >= target) return;
      const id = `inc-${w}-${attempts++}`;
      const put = await write(t, "PUT", "counter", id, {
        where: [{ column: "id", op: "eq", value: 1 }, { column: "v", op: "eq", value: v }],
        set: { v: v + 1 },
      });
      if (put.body.rows_affected === 1) committed.push(id);
    }
  };
  // Meanwhile, inserts into another table from many writers at once.
  const inserts = Array.from(
    { length: 60 },
    (_, i) => write(t, "POST", "log", `log-${i}`, { id: i, w: i % 6 }),
  );
  await Promise.all([...Array.from({ length: 6 }, (_, w) => incrementer(w)), ...inserts]);
  ok(attempts > target, "some increments lost the race and changed nothing");

  const counter = await feed(t, "counter");
  deepEqual(counter.map((e) => e.rows[0].v), Array.from({ length: target }, (_, i) => i + 1));
  deepEqual(counter.map((e) => e.request_id).sort(), committed.sort());
  const log = await feed(t, "log");
  deepEqual(
    log.map((e) => e.request_id).sort(),
    Array.from({ length: 60 }, (_, i) => `log-${i}`).sort(),
  );
  deepEqual(
    log.map((e) => e.rows[0].id).sort((a, b) => a - b),
    Array.from({ length: 60 }, (_, i) => i),
  );
});

Deno.test("change_feeds: false (or streams: false) leaves REST writes without events", async () => {
  for (
    const flags of [{ change_feeds: "false" }, { streams: "false" }] as Record<string, string>[]
  ) {
    await using t = await start(flags);
    await write(t, "POST", "orders", "x", { id: 1 });
    const res = await consume(
      await fetch(`${feedUrl(t, "orders")}?offset=-1`, { headers: t.as(t.keys.admin) }),
    );
    equal(res.status, 404, JSON.stringify(flags));
  }
});
