import { equal, match, ok } from "node:assert/strict";
import { LOOPBACK_FLAGS, spawnMain } from "../_helpers.ts";

/** `serve` flags for a server on `dir`'s files, on a free loopback port. */
function serveArgs(dir: string, extra: string[] = []): string[] {
  return [
    "serve",
    ...LOOPBACK_FLAGS,
    "--database-path",
    `${dir}/main.duckdb`,
    "--auth-database-path",
    `${dir}/auth.duckdb`,
    "--streams-dir",
    `${dir}/streams`,
    "--auth-enabled",
    "false",
    ...extra,
  ];
}

async function post(url: string, path: string, body: string, type = "application/json") {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
  return { status: response.status, text: await response.text() };
}

Deno.test("a second server on the same streams_dir refuses to start with one line; the first serves on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-lock-" });
  const first = await spawnMain(serveArgs(dir));
  try {
    ok(first.url, first.stderr());
    const origin = new URL(first.url).origin;
    equal(
      (await post(first.url, "/query", '{"sql":"CREATE TABLE t AS SELECT 1 AS i"}')).status,
      200,
    );
    const created = await fetch(`${origin}/v1/stream/s`, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
    });
    await created.body?.cancel();
    equal(created.status, 201);

    // Same directories, another port: refused before it touches the stream logs.
    const second = await spawnMain(serveArgs(dir));
    equal(second.url, null, "the second server must not start");
    equal(await second.exit(), 1);
    const lines = second.stderr().trim().split("\n");
    equal(lines.length, 1, second.stderr());
    match(
      lines[0],
      new RegExp(
        `^duckserve: cannot start: streams_dir ${dir}/streams is in use by another duckserve ` +
          `process \\(pid ${first.child.pid}\\)`,
      ),
    );

    // Memory streams, same database file: DuckDB's own lock, in one line too.
    const third = await spawnMain(serveArgs(dir, ["--streams-storage", "memory"]));
    equal(third.url, null, "the third server must not start");
    equal(await third.exit(), 1);
    const line = third.stderr().trim();
    ok(!line.includes("\n"), line);
    match(
      line,
      new RegExp(
        `^duckserve: cannot start: database_path ${dir}/main.duckdb is in use by another ` +
          `process \\(pid ${first.child.pid}\\)`,
      ),
    );

    // The first server is untouched: its table and its stream still work.
    const read = await post(first.url, "/query", '{"sql":"SELECT i FROM t"}');
    equal(read.status, 200);
    equal(JSON.parse(read.text).data[0].i, 1);
    equal((await post(origin, "/v1/stream/s", "more", "text/plain")).status, 204);
  } finally {
    first.child.kill("SIGTERM");
    equal(await first.exit(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the streams_dir lock goes with its server: a restart after kill -9 starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-lock-" });
  try {
    const first = await spawnMain(serveArgs(dir));
    ok(first.url, first.stderr());
    first.child.kill("SIGKILL");
    await first.exit();
    const again = await spawnMain(serveArgs(dir));
    ok(again.url, again.stderr());
    again.child.kill("SIGTERM");
    equal(await again.exit(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
