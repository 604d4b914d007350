import { deepEqual, equal, rejects } from "node:assert/strict";
import { openEngine } from "../../lib/db/engine.ts";
import { createGuard } from "../../lib/db/run.ts";
import { dataVersion } from "../../lib/db/versions.ts";
import {
  parseDeleteRequest,
  parseInsertRequest,
  parsePrefer,
  parseUpdateRequest,
} from "../../lib/query/plan_write.ts";
import { createTableApi } from "../../lib/query/table_api.ts";
import type { TableChange } from "../../lib/streams/changes.ts";
import { withChangeFeed } from "../../lib/streams/table_feed.ts";
import { testConfig } from "../_helpers.ts";

const LIMITS = { maxRowsPerPage: 100, absoluteMaxRows: 1000 };

Deno.test("createTableApi(): every write bumps the data version; committed ones are recorded", async () => {
  const engine = await openEngine(await testConfig());
  try {
    const lease = await engine.pool.acquire();
    await lease.connection.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)");
    lease.release(true);
    const changes: TableChange[] = [];
    const api = withChangeFeed(createTableApi(engine.pool, LIMITS), {
      recordChange: (change) => (changes.push(change), Promise.resolve()),
    });
    const guard = () => createGuard(5000);
    const prefer = parsePrefer(null);
    const insert = (body: unknown) =>
      api.insert(parseInsertRequest("t", new URLSearchParams(), prefer, body as never), guard(), {
        requestId: "r",
      });
    const before = dataVersion(engine.pool);
    deepEqual(await insert({ id: 1, v: "a" }), { kind: "changed", rowsAffected: 1 });
    equal(dataVersion(engine.pool), before + 1);
    await rejects(insert({ id: 1, v: "again" }), /Duplicate key/);
    equal(dataVersion(engine.pool), before + 2, "a failed write may have changed data too");
    const dry = parseDeleteRequest("t", new URLSearchParams("where=id:eq:1&dry_run=1"), prefer);
    deepEqual(await api.remove(dry, guard()), { kind: "dry_run", affectedRows: 1 });
    equal(dataVersion(engine.pool), before + 2, "a dry run writes nothing");
    deepEqual(
      changes.map((c) => [c.op, c.table, c.count, c.rows, c.keys, c.requestId]),
      [["insert", ["main", "t"], 1, [{ id: 1, v: "a" }], [{ id: 1 }], "r"]],
    );
  } finally {
    await engine.close();
  }
});

Deno.test("withChangeFeed(): updates and deletes report their rows, no-ops nothing, answers wait for the event", async () => {
  const engine = await openEngine(await testConfig());
  try {
    const lease = await engine.pool.acquire();
    await lease.connection.run(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    );
    lease.release(true);
    const changes: TableChange[] = [];
    let durable = Promise.withResolvers<void>();
    const api = withChangeFeed(createTableApi(engine.pool, LIMITS), {
      recordChange: (change) => (changes.push(change), durable.promise),
    });
    const guard = () => createGuard(5000);
    const prefer = parsePrefer(null);
    const update = (body: unknown) =>
      api.update(parseUpdateRequest("t", prefer, body as never), guard(), { requestId: "u" });

    // The answer waits until the event is durable.
    let answered = false;
    const pending = update({ where: { id: 1 }, set: { v: "A" } }).then((r) => {
      answered = true;
      return r;
    });
    for (let i = 0; i < 50 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    equal(changes.length, 1, "the event is recorded after the commit");
    equal(answered, false, "the write is not answered before its event is durable");
    durable.resolve();
    deepEqual(await pending, { kind: "changed", rowsAffected: 1 });
    deepEqual(
      [changes[0].op, changes[0].count, changes[0].rows, changes[0].keys, changes[0].requestId],
      ["update", 1, [{ id: 1, v: "A" }], [{ id: 1 }], "u"],
    );

    durable = Promise.withResolvers<void>();
    durable.resolve();
    deepEqual(await update({ where: { id: 99 }, set: { v: "x" } }), {
      kind: "changed",
      rowsAffected: 0,
    });
    equal(changes.length, 1, "a write that changed nothing reports nothing");

    const del = parseDeleteRequest("t", new URLSearchParams("where=id:eq:2"), prefer);
    deepEqual(await api.remove(del, guard(), { requestId: "d" }), {
      kind: "changed",
      rowsAffected: 1,
    });
    deepEqual(
      [changes[1].op, changes[1].count, changes[1].rows, changes[1].keys],
      ["delete", 1, [{ id: 2, v: "b" }], [{ id: 2 }]],
    );
  } finally {
    await engine.close();
  }
});
