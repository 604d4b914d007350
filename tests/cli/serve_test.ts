import { equal, ok } from "node:assert/strict";
import { consume, LOOPBACK_FLAGS, spawnMain, sqlPath } from "../_helpers.ts";

/** `deno run -A main.ts serve ...` on an in-memory database as a child process. */
async function spawnServe(args: string[]) {
  const spawned = await spawnMain([
    "serve",
    ...LOOPBACK_FLAGS,
    "--database-path",
    ":memory:",
    ...args,
  ]);
  ok(spawned.url, `server exited before starting: ${spawned.stderr()}`);
  const url = spawned.url;
  return {
    ...spawned,
    url,
    query: async (sql: string) =>
      await consume(
        await fetch(`${url}/query`, { method: "POST", body: JSON.stringify({ sql }) }),
      ),
  };
}

Deno.test("SIGTERM interrupts a slow write after shutdown_grace; exit 0; the file DB is consistent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-shutdown-" });
  const db = `${dir}/main.duckdb`;
  const flags = ["--database-path", db, "--auth-enabled", "false", "--query-timeout", "2m"];
  const first = await spawnServe([...flags, "--shutdown-grace", "500ms"]);
  equal((await first.query("CREATE TABLE t (i BIGINT)")).status, 200);
  equal((await first.query("INSERT INTO t VALUES (1), (2), (3)")).status, 200);
  const slow = first.query("INSERT INTO t SELECT count(*) FROM range(100000000000)");
  await new Promise((r) => setTimeout(r, 400));
  first.child.kill("SIGTERM");
  const reply = await slow;
  equal(reply.status, 503, reply.text);
  equal(reply.body.code, "unavailable");
  equal(await first.exit(), 0);
  const stopped = first.events.find((e) => e.event === "server_stopped");
  equal(stopped?.graceful, false);

  const second = await spawnServe(flags);
  const rows = await second.query("SELECT count(*) AS n, sum(i) AS s FROM t");
  equal(rows.status, 200);
  equal(rows.body.data[0].n, 3, "the interrupted insert left nothing behind");
  equal(rows.body.data[0].s, 6);
  second.child.kill("SIGINT");
  equal(await second.exit(), 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SIGTERM lets an in-flight response finish within shutdown_grace; exit 0", async () => {
  const server = await spawnServe(["--auth-enabled", "false", "--absolute-max-rows", "0"]);
  const response = await fetch(
    `${server.url}${sqlPath("SELECT range AS i, repeat('y', 100) AS pad FROM range(200000)")}`,
  );
  const reader = response.body!.getReader();
  let bytes = (await reader.read()).value!.byteLength;
  server.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  let text = "";
  const decoder = new TextDecoder();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    bytes += chunk.value.byteLength;
    text += decoder.decode(chunk.value, { stream: true });
  }
  ok(text.endsWith("]}"), "the body ends with the closed JSON envelope");
  ok(bytes > 20_000_000);
  equal(await server.exit(), 0);
  const stopped = server.events.find((e) => e.event === "server_stopped");
  equal(stopped?.graceful, true);
});

Deno.test("a second signal exits at once without waiting for the grace period", async () => {
  const server = await spawnServe(["--auth-enabled", "false", "--shutdown-grace", "1m"]);
  const slow = server.query("SELECT count(*) FROM range(100000000000)").catch(() => null);
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  server.child.kill("SIGTERM");
  // Beyond SAME_SIGNAL_MS: a repeat within it would be the same request to stop.
  await new Promise((r) => setTimeout(r, 1300));
  server.child.kill("SIGTERM");
  equal(await server.exit(), 130);
  ok(performance.now() - started < 20_000);
  await slow;
});

Deno.test("a repeated signal within a second (Ctrl+C under deno task) still drains gracefully", async () => {
  const server = await spawnServe(["--auth-enabled", "false", "--shutdown-grace", "300ms"]);
  const slow = server.query("SELECT count(*) FROM range(100000000000)");
  await new Promise((r) => setTimeout(r, 300));
  // The terminal signals the process group and the task runner forwards the same Ctrl+C.
  server.child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 30));
  server.child.kill("SIGINT");
  const reply = await slow;
  equal(reply.status, 503, "the running statement was interrupted by the drain, not cut off");
  equal(reply.body.code, "unavailable");
  equal(await server.exit(), 0);
  ok(server.events.some((e) => e.event === "server_stopped"), "the drain ran to its end");
  ok(!server.stderr().includes("second signal"));
});
