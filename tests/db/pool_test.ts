import { equal, ok, rejects, throws } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { openEngine } from "../../lib/db/engine.ts";

Deno.test("engine.close() waits for dirty connections being replaced (no connect after close)", async () => {
  // Before the fix, closing right after dirty releases crashed the process (a connect() on a
  // closed instance); a crash here fails the whole test run.
  const config = await loadConfig({ env: {}, flags: { threads: "4", database_path: ":memory:" } });
  for (let round = 0; round < 20; round++) {
    const engine = await openEngine(config);
    const leases = await Promise.all(Array.from({ length: 4 }, () => engine.pool.acquire()));
    equal(engine.pool.busy, 4);
    for (const lease of leases) lease.release(true);
    await engine.close();
    // every replacement opened meanwhile was closed again, and nothing new is handed out
    equal(engine.pool.busy, 0, `round ${round}`);
    throws(() => engine.pool.tryAcquire(), (err: { code: string }) => err.code === "unavailable");
  }
});

Deno.test("a lease carries its connection id and owner until released", async () => {
  const config = await loadConfig({ env: {}, flags: { threads: "2", database_path: ":memory:" } });
  const engine = await openEngine(config);
  try {
    const a = await engine.pool.acquire();
    const b = await engine.pool.acquire();
    ok(a.connectionId !== b.connectionId);
    const reader = await a.connection.runAndReadAll("SELECT current_connection_id()");
    equal(Number(reader.getRows()[0][0]), a.connectionId);
    a.owner = "alice";
    equal(engine.pool.ownerOf(a.connectionId), "alice");
    equal(engine.pool.ownerOf(b.connectionId), undefined);
    a.release();
    equal(engine.pool.ownerOf(a.connectionId), undefined, "released leases have no owner");
    b.release(true);
    equal(engine.pool.ownerOf(b.connectionId), undefined);
  } finally {
    await engine.close();
  }
});

Deno.test("a wait for a connection ends at its timeout or its signal, and leaves the queue", async () => {
  const config = await loadConfig({ env: {}, flags: { threads: "1", database_path: ":memory:" } });
  const engine = await openEngine(config);
  try {
    const held = await engine.pool.acquire();
    await rejects(
      engine.pool.acquire({ timeoutMs: 30 }),
      (err: DOMException) => err.name === "TimeoutError",
    );
    equal(engine.pool.waiting, 0);
    const controller = new AbortController();
    const waiting = engine.pool.acquire({ signals: [undefined, controller.signal] });
    equal(engine.pool.waiting, 1);
    controller.abort(new Error("gone"));
    await rejects(waiting, /gone/);
    equal(engine.pool.waiting, 0);
    await rejects(engine.pool.acquire({ signals: [controller.signal] }), /gone/);
    held.release();
  } finally {
    await engine.close();
  }
});

Deno.test({
  name: "a wait that got its connection leaves no timer behind",
  // A timer left running (the op sanitizer fails on it) would keep every queued request's
  // objects alive for the whole query timeout.
  sanitizeOps: true,
}, async () => {
  const config = await loadConfig({ env: {}, flags: { threads: "1", database_path: ":memory:" } });
  const engine = await openEngine(config);
  try {
    const held = await engine.pool.acquire();
    const controller = new AbortController();
    const waiting = engine.pool.acquire({ signals: [controller.signal], timeoutMs: 60_000 });
    held.release();
    const lease = await waiting;
    controller.abort(); // too late to matter: the wait is over
    equal(engine.pool.busy, 1);
    lease.release();
  } finally {
    await engine.close();
  }
});
