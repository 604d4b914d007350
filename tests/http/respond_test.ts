import { deepEqual, equal, match } from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import { openEngine } from "../../lib/db/engine.ts";
import { acquire, createGuard } from "../../lib/db/run.ts";
import { resultSource } from "../../lib/db/source.ts";
import { SILENT } from "../../lib/log.ts";
import { respondPlan, respondRows, type RowsResponseOptions } from "../../lib/http/respond.ts";
import type { FormatName } from "../../lib/encode/formats.ts";
import { testConfig } from "../_helpers.ts";

const engine = await openEngine(await testConfig());
const setup = await acquire(engine.pool, createGuard(0));
await setup.connection.run(
  "CREATE TABLE r AS SELECT range AS id, 'n' || range AS name FROM range(10)",
);
setup.release();

const options = (format: FormatName, extra: Partial<RowsResponseOptions> = {}) => ({
  format,
  cap: 0,
  requestId: "test",
  log: SILENT,
  json: { bigNumbers: "number" as const },
  csv: { delimiter: ",", nullMarker: "" },
  scratchDirectory: engine.scratchDirectory,
  ...extra,
});

Deno.test("respondPlan() binds with the caller's binder on every path (CRUD reads)", async () => {
  const plan = {
    sql: "SELECT id, name FROM r WHERE id >= $1 ORDER BY id",
    bind: (s: { bindBigInt(i: number, v: bigint): void }) => s.bindBigInt(1, 7n),
  };
  for (const format of ["csv", "ndjson", "json", "parquet", "arrow"] as const) {
    const guard = createGuard(10_000);
    const lease = await acquire(engine.pool, guard);
    const response = await respondPlan(lease, guard, plan as never, options(format));
    const bytes = new Uint8Array(await response.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    if (format === "csv") equal(text, "id,name\r\n7,n7\r\n8,n8\r\n9,n9\r\n");
    if (format === "ndjson") {
      equal(text, '{"id":7,"name":"n7"}\n{"id":8,"name":"n8"}\n{"id":9,"name":"n9"}\n');
    }
    if (format === "json") {
      equal(text, '{"data":[{"id":7,"name":"n7"},{"id":8,"name":"n8"},{"id":9,"name":"n9"}]}');
    }
    if (format === "parquet") match(text, /^PAR1/);
    if (format === "arrow") {
      deepEqual(tableFromIPC(bytes).getChild("id")!.toArray(), BigInt64Array.of(7n, 8n, 9n));
    }
  }
  equal(engine.pool.busy, 0);
});

Deno.test("respondPlan() releases its lease when the statement fails before the first byte", async () => {
  for (const format of ["csv", "json", "arrow"] as const) {
    const guard = createGuard(10_000);
    const lease = await acquire(engine.pool, guard);
    const failed = await respondPlan(lease, guard, { sql: "SELECT nope FROM r" }, options(format))
      .then(() => null, (err) => err);
    equal(failed?.code, "binder_error");
    // a connection released dirty is replaced asynchronously
    for (let i = 0; i < 100 && engine.pool.busy > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    equal(engine.pool.busy, 0, format);
  }
});

Deno.test("respondRows() caps a source, says so, and adds the caller's envelope members", async () => {
  const guard = createGuard(10_000);
  const lease = await acquire(engine.pool, guard);
  const result = await lease.connection.run("SELECT id FROM r ORDER BY id");
  const response = await respondRows(
    resultSource(result, lease, guard),
    options("json", { cap: 3, meta: { page: 1 }, totalRows: 10 }),
  );
  equal(response.headers.get("x-truncated"), "true");
  const body = await response.json();
  deepEqual(body.data, [{ id: 0 }, { id: 1 }, { id: 2 }]);
  deepEqual([body.page, body.truncated, body.total_available], [1, true, 10]);
  equal(engine.pool.busy, 0);
});

Deno.test("close the engine of respond_test", async () => {
  await engine.close();
});
