import { deepEqual, equal, ok } from "node:assert/strict";
import { spawnMain } from "../_helpers.ts";

const SERVE = ["serve", "--host", "127.0.0.1", "--port", "0", "--auth-enabled", "false"];

async function sql(url: string, text: string) {
  const response = await fetch(`${url}/query`, {
    method: "POST",
    body: JSON.stringify({ sql: text }),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("serve without database_path keeps its data in data/main.duckdb across a restart", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "duckserve-default-db-" });
  try {
    const first = await spawnMain(SERVE, {}, cwd);
    ok(first.url, first.stderr());
    equal((await sql(first.url, "CREATE TABLE kept AS SELECT 42 AS answer")).status, 200);
    first.child.kill("SIGTERM");
    equal(await first.exit(), 0);
    ok((await Deno.stat(`${cwd}/data/main.duckdb`)).isFile, "the database file is under data/");

    const second = await spawnMain(SERVE, {}, cwd);
    ok(second.url, second.stderr());
    const read = await sql(second.url, "SELECT answer FROM kept");
    equal(read.status, 200, JSON.stringify(read.body));
    deepEqual(read.body.data, [{ answer: 42 }]);
    second.child.kill("SIGTERM");
    equal(await second.exit(), 0);

    // `:memory:` stays available on request.
    const memory = await spawnMain([...SERVE, "--database-path", ":memory:"], {}, cwd);
    ok(memory.url, memory.stderr());
    equal((await sql(memory.url, "SELECT answer FROM kept")).body.code, "unknown_table");
    memory.child.kill("SIGTERM");
    equal(await memory.exit(), 0);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
