import { equal, ok, rejects } from "node:assert/strict";
import { openEngine } from "../../lib/db/engine.ts";
import { acquire, createGuard } from "../../lib/db/run.ts";
import { makeFifo, startCopy } from "../../lib/db/export.ts";
import { testConfig } from "../_helpers.ts";

const engine = await openEngine(await testConfig());

async function readAll(run: Awaited<ReturnType<typeof startCopy>>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for (let piece = await run.read(); piece; piece = await run.read()) {
    text += decoder.decode(piece, { stream: true });
  }
  return text;
}

Deno.test("startCopy() streams DuckDB's output through a FIFO or a temporary file", async () => {
  for (const file of [false, true]) {
    const lease = await acquire(engine.pool, createGuard(0));
    const run = await startCopy(lease, "SELECT range AS i FROM range(3)", "FORMAT csv", {
      directory: engine.scratchDirectory,
      file,
    });
    equal(await readAll(run), "i\n0\n1\n2\n");
    equal(await run.done, 3);
    await run.cancel();
    lease.release();
  }
  const left = [...Deno.readDirSync(engine.scratchDirectory)].filter((e) =>
    e.name.startsWith("export-")
  );
  equal(left.length, 0, "no pipe or file is left behind");
});

Deno.test("startCopy() reports a failing statement through done, and cancel() stops a big one", async () => {
  const lease = await acquire(engine.pool, createGuard(0));
  const failing = await startCopy(lease, "SELECT error('no') AS x", "FORMAT csv", {
    directory: engine.scratchDirectory,
  });
  await readAll(failing);
  await rejects(failing.done, (err: { code: string }) => err.code === "invalid_input");
  await failing.cancel();
  const big = await startCopy(lease, "SELECT i FROM range(1000000000) t(i)", "FORMAT csv", {
    directory: engine.scratchDirectory,
  });
  ok((await big.read())!.length > 0);
  const started = performance.now();
  await big.cancel();
  await rejects(big.done);
  ok(performance.now() - started < 5000);
  lease.release(true);
});

Deno.test("makeFifo() makes a named pipe", async () => {
  const path = `${engine.scratchDirectory}/fifo-test`;
  ok(await makeFifo(path));
  ok(Deno.statSync(path).isFifo);
  await Deno.remove(path);
});

Deno.test("every lease of export_test came back, and closing removes the scratch directory", async () => {
  // a connection released dirty is replaced asynchronously
  for (let i = 0; i < 100 && engine.pool.busy > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  equal(engine.pool.busy, 0);
  const left = [...Deno.readDirSync(engine.scratchDirectory)].filter((e) =>
    e.name.startsWith("export-")
  );
  equal(left.length, 0, "no pipe or file is left behind");
  await engine.close();
  await rejects(Deno.stat(engine.scratchDirectory), Deno.errors.NotFound);
  await rejects(engine.pool.acquire(), (err: { code: string }) => err.code === "unavailable");
});
