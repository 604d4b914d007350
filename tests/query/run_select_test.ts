import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import { concatBytes } from "../../lib/bytes.ts";
import { acquire, createGuard } from "../../lib/db/run.ts";
import type { FormatName } from "../../lib/encode/formats.ts";
import type { Answer, StoredAnswer } from "../../lib/query/answer.ts";
import { createAnswerCache } from "../../lib/query/answer_cache.ts";
import { runSelect, type SelectOptions, type SelectPlan } from "../../lib/query/run_select.ts";
import { encodeOptions, openTestEngine } from "../_engine.ts";

const engine = await openTestEngine(
  "CREATE TABLE r AS SELECT range AS id, 'n' || range AS name FROM range(10); " +
    "CREATE SEQUENCE seq",
);

const options = (format: FormatName, extra: Partial<SelectOptions> = {}): SelectOptions => ({
  ...encodeOptions(engine, format),
  ...extra,
});

/** Runs `plan` on a fresh lease. */
async function run(plan: SelectPlan, opts: SelectOptions): Promise<Answer> {
  const guard = createGuard(10_000);
  const lease = await acquire(engine.pool, guard);
  return await runSelect(lease, guard, plan, opts);
}

/** Every byte of a body answer (the rest pulled to the end). */
async function bytesOf(answer: Answer): Promise<Uint8Array> {
  ok(answer.kind === "body", `expected a body, got ${answer.kind}`);
  const parts = [...answer.head];
  for (let part = await answer.rest.next(); part; part = await answer.rest.next()) {
    parts.push(part);
  }
  return concatBytes(parts);
}

const text = async (answer: Answer) => new TextDecoder().decode(await bytesOf(answer));

/** Waits for dirty connections to be replaced, then says how many are leased. */
async function busy(): Promise<number> {
  for (let i = 0; i < 100 && engine.pool.busy > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return engine.pool.busy;
}

Deno.test("runSelect() binds with the caller's binder on every path (CRUD reads)", async () => {
  const plan = {
    sql: "SELECT id, name FROM r WHERE id >= $1 ORDER BY id",
    bind: (s: { bindBigInt(i: number, v: bigint): void }) => s.bindBigInt(1, 7n),
  };
  for (const format of ["csv", "ndjson", "json", "parquet", "arrow"] as const) {
    const bytes = await bytesOf(await run(plan as never, options(format)));
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

Deno.test("runSelect() releases its lease when the statement fails before the first byte", async () => {
  for (const format of ["csv", "json", "arrow"] as const) {
    const failed = await run({ sql: "SELECT nope FROM r" }, options(format))
      .then(() => null, (err) => err);
    equal(failed?.code, "binder_error");
    // a connection released dirty is replaced asynchronously
    equal(await busy(), 0, format);
  }
});

Deno.test("runSelect() lets DuckDB write what it can, and the JS encoders the rest", async () => {
  const plan = { sql: "SELECT id FROM r ORDER BY id" };
  const cases: [FormatName, Partial<SelectOptions>, "duckdb" | "js"][] = [
    ["csv", {}, "duckdb"],
    ["ndjson", { cap: 5 }, "duckdb"],
    ["parquet", {}, "duckdb"],
    ["json", {}, "duckdb"], // uncapped JSON: DuckDB's NDJSON joined into the envelope
    ["json", { cap: 5, export: true }, "duckdb"],
    ["json", { cap: 5 }, "js"], // a capped read keeps the JS envelope
    ["arrow", {}, "js"],
    ["csv", { scratchDirectory: undefined }, "js"], // nowhere to put a pipe
  ];
  for (const [format, extra, writer] of cases) {
    const answer = await run(plan, options(format, extra));
    equal(answer.kind === "body" && answer.writer, writer, `${format} ${JSON.stringify(extra)}`);
    await bytesOf(answer);
  }
  equal(engine.pool.busy, 0);
});

Deno.test("runSelect() caps a read and says by how much, on both writers", async () => {
  const js = await run({ sql: "SELECT id FROM r ORDER BY id" }, options("json", { cap: 3 }));
  ok(js.kind === "body" && js.truncated);
  const body = JSON.parse(await text(js));
  deepEqual(body.data, [{ id: 0 }, { id: 1 }, { id: 2 }]);
  deepEqual([body.truncated, body.total_available], [true, 10]);

  const csv = await run({ sql: "SELECT id FROM r ORDER BY id" }, options("csv", { cap: 3 }));
  ok(csv.kind === "body" && csv.truncated && csv.writer === "duckdb");
  equal(await text(csv), "id\n0\n1\n2\n".replaceAll("\n", "\r\n"));

  const exact = await run({ sql: "SELECT id FROM r" }, options("csv", { cap: 10 }));
  ok(exact.kind === "body" && !exact.truncated, "a cap the rows just fit does not cut");
  await bytesOf(exact);
  equal(engine.pool.busy, 0);
});

Deno.test("runSelect() runs read-only plans in a READ ONLY transaction", async () => {
  const plan = { sql: "SELECT nextval('seq') AS n", readOnly: true };
  for (const format of ["json", "csv", "arrow"] as const) {
    await rejects(run(plan, options(format)), (err: { code: string }) => {
      equal(err.code, "not_read_only", format);
      return true;
    });
  }
  equal(await busy(), 0);
  const ok = await run({ sql: "SELECT count(*) AS n FROM r", readOnly: true }, options("json"));
  equal(await text(ok), '{"data":[{"n":10}]}');
  equal(engine.pool.busy, 0);
});

Deno.test("runSelect() reports DuckDB's own error when a streamed read fails before the answer", async () => {
  // Arrow is encoded in JS from a streamed result; the failure comes a few chunks in, before the
  // answer is handed on (the driver reports it, or the stage re-runs the query to learn it).
  const sql = "SELECT CASE WHEN i = 5000 THEN error('boom at 5000') ELSE i END AS v " +
    "FROM range(10000) t(i)";
  const failed = await run({ sql }, options("arrow")).then(() => null, (err) => err);
  equal(failed?.code, "invalid_input");
  match(failed?.message, /boom at 5000/);
  equal(await busy(), 0);
});

Deno.test("runSelect() answers a deterministic capped SELECT through the answer cache", async () => {
  const cache = createAnswerCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
  const slot = { cache, owner: engine.pool, bypass: false, variant: "json" };
  const plan = { sql: "SELECT count(*) AS n FROM r" };
  const first = await run(plan, options("json", { cap: 100, cache: slot }));
  ok(first.kind === "body" && first.keep, "a miss asks to be kept");
  const stored: StoredAnswer = { status: 200, headers: [], body: await bytesOf(first) as never };
  first.keep(stored);
  const again = await run(plan, options("json", { cap: 100, cache: slot }));
  equal(again.kind, "stored");
  equal(again.kind === "stored" && again.stored, stored);
  const bypass = await run(plan, options("json", { cap: 100, cache: { ...slot, bypass: true } }));
  equal(bypass.kind, "body", "no-cache runs the query");
  await bytesOf(bypass);

  const random = await run(
    { sql: "SELECT random() AS x" },
    options("json", { cap: 100, cache: slot }),
  );
  ok(random.kind === "body" && random.keep === undefined, "never kept");
  await bytesOf(random);
  equal(engine.pool.busy, 0);
});

Deno.test("every lease of run_select_test came back, and closing removes the scratch directory", async () => {
  equal(await busy(), 0);
  await engine.close();
  await rejects(Deno.stat(engine.scratchDirectory), Deno.errors.NotFound);
  await rejects(engine.pool.acquire(), (err: { code: string }) => err.code === "unavailable");
});
