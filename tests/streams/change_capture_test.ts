import { deepEqual, equal } from "node:assert/strict";
import { findTable, readCatalog, type TableInfo } from "../../lib/db/catalog.ts";
import { openEngine } from "../../lib/db/engine.ts";
import { acquire, createGuard } from "../../lib/db/run.ts";
import {
  CHANGE_KEYS_LIMIT,
  CHANGE_ROWS_LIMIT,
  chooseCapture,
  describeChange,
} from "../../lib/streams/change_capture.ts";
import { testConfig } from "../_helpers.ts";

Deno.test("chooseCapture() asks for rows, then keys, then nothing as writes grow", () => {
  const keyed = {
    schema: "main",
    name: "t",
    kind: "table" as const,
    columns: [],
    primaryKey: ["id"],
    estimatedRows: 0,
  };
  const unkeyed = { ...keyed, primaryKey: [] };
  equal(chooseCapture(keyed, CHANGE_ROWS_LIMIT), "rows");
  equal(chooseCapture(keyed, CHANGE_ROWS_LIMIT + 1), "keys");
  equal(chooseCapture(keyed, CHANGE_KEYS_LIMIT), "keys");
  equal(chooseCapture(keyed, CHANGE_KEYS_LIMIT + 1), null);
  equal(chooseCapture(unkeyed, CHANGE_ROWS_LIMIT + 1), null, "no key to report");
  equal(chooseCapture(unkeyed, null), "rows");
});

Deno.test("describeChange() reports rows and keys from RETURNING results, exactly", async () => {
  const engine = await openEngine(await testConfig());
  const guard = createGuard(10_000);
  const lease = await acquire(engine.pool, guard);
  try {
    await lease.connection.run(
      "CREATE TABLE k (id BIGINT PRIMARY KEY, amount DECIMAL(38, 10), tags VARCHAR[], ok BOOLEAN)",
    );
    await lease.connection.run("CREATE TABLE n (v INTEGER)");
    const tables = await readCatalog(lease, guard);
    const k = findTable(tables, "k") as TableInfo;
    const n = findTable(tables, "n") as TableInfo;
    const insert = await lease.connection.run(
      "INSERT INTO k VALUES (9007199254740993, 12345678901234567890.5, ['a', 'b'], true), " +
        "(2, 1.5, [], NULL) RETURNING *",
    );
    const change = describeChange("insert", k, [insert], 2, "req-1");
    deepEqual(change.table, ["main", "k"]);
    deepEqual([change.op, change.count, change.requestId], ["insert", 2, "req-1"]);
    deepEqual(change.rows, [
      // numbers a double cannot hold stay decimal text, so no reader rounds a key
      {
        id: "9007199254740993",
        amount: "12345678901234567890.5000000000",
        tags: ["a", "b"],
        ok: true,
      },
      { id: 2, amount: 1.5, tags: [], ok: null },
    ]);
    deepEqual(change.keys, [{ id: "9007199254740993" }, { id: 2 }]);

    // beyond CHANGE_ROWS_LIMIT only the keys (returned as the key columns alone)
    const keysOnly = await lease.connection.run(
      "UPDATE k SET ok = false RETURNING id",
    );
    const big = describeChange("update", k, [keysOnly], CHANGE_ROWS_LIMIT + 1, "req-2");
    equal(big.rows, undefined);
    deepEqual(big.keys, [{ id: "9007199254740993" }, { id: 2 }]);

    // beyond CHANGE_KEYS_LIMIT, or nothing returned: the count alone
    const huge = describeChange("delete", k, [keysOnly], CHANGE_KEYS_LIMIT + 1, "req-3");
    deepEqual([huge.rows, huge.keys, huge.count], [undefined, undefined, CHANGE_KEYS_LIMIT + 1]);
    const bulk = describeChange("insert", k, null, 50_000, "req-4");
    deepEqual([bulk.rows, bulk.keys, bulk.count], [undefined, undefined, 50_000]);

    // a table without a primary key reports rows only
    const plain = await lease.connection.run("INSERT INTO n VALUES (7) RETURNING *");
    const noKey = describeChange("upsert", n, [plain], 1, "req-5");
    deepEqual([noKey.op, noKey.rows, noKey.keys], ["upsert", [{ v: 7 }], undefined]);
  } finally {
    lease.release(true);
    await engine.close();
  }
});
