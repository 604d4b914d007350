import { deepEqual, equal, rejects } from "node:assert/strict";
import { openEngine } from "../../lib/db/engine.ts";
import { createGuard } from "../../lib/db/run.ts";
import { dataVersion } from "../../lib/db/versions.ts";
import { parseDeleteRequest, parseInsertRequest, parsePrefer } from "../../lib/query/plan_write.ts";
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
