import { deepEqual, equal, match, ok } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { call, eventually, startAuthServer, startTestServer, testSources } from "../_helpers.ts";

const SLOW = "SELECT sum(i) AS s FROM range(500000000) t(i)";

const post = (document: unknown, key: string) => ({
  method: "POST",
  headers: { "x-api-key": key, "content-type": "application/json" },
  body: JSON.stringify(document),
});

Deno.test("POST /admin/config: valid, invalid and restart-required documents", async () => {
  await using t = await startAuthServer();
  const admin = t.keys.admin;
  const shown = await t.request("/admin/config", { headers: t.as(admin) });
  equal(shown.status, 200);
  equal(shown.body.absolute_max_rows, 10_000);
  equal(shown.body.query_timeout, "10s");
  equal((await t.request("/admin/config", { headers: t.as(t.keys.reader) })).status, 403);
  equal((await t.request("/admin/config", post({}, t.keys.editor))).status, 403);

  // Valid: applied at once, the changed keys named and logged.
  const applied = await t.request(
    "/admin/config",
    post({ absolute_max_rows: 3, query_timeout: "5s" }, admin),
  );
  equal(applied.status, 200, applied.text);
  deepEqual(applied.body.changed, ["query_timeout", "absolute_max_rows"]);
  equal(applied.body.config.absolute_max_rows, 3);
  const capped = await t.query("SELECT * FROM range(10)", undefined, t.as(admin));
  equal(capped.body.data.length, 3);
  equal(capped.headers.get("x-truncated"), "true");
  const logged = t.events("config_reloaded");
  deepEqual(logged.map((e) => [e.source, e.changed]), [["admin", [
    "query_timeout",
    "absolute_max_rows",
  ]]]);

  // Invalid: every problem listed, nothing applied.
  const invalid = await t.request(
    "/admin/config",
    post({ threads: "many", port: 70000, nope: 1, absolute_max_rows: 50 }, admin),
  );
  equal(invalid.status, 400);
  equal(invalid.body.code, "invalid_config");
  equal(invalid.body.problems.length, 3, invalid.text);
  match(invalid.body.problems.join("\n"), /threads = "many"/);
  match(invalid.body.problems.join("\n"), /port = 70000/);
  match(invalid.body.problems.join("\n"), /unknown config key "nope"/);
  equal((await t.query("SELECT * FROM range(10)", undefined, t.as(admin))).body.data.length, 3);
  equal((await t.request("/admin/config", post([1, 2], admin))).body.code, "invalid_config");
  equal(
    (await t.request("/admin/config", { ...post({}, admin), body: "{nope" })).body.code,
    "invalid_json",
  );

  // Restart required: the keys named, nothing applied (not even the live key beside them).
  const restart = await t.request(
    "/admin/config",
    post({ threads: 2, streams_auth: "none", absolute_max_rows: 7 }, admin),
  );
  equal(restart.status, 409);
  equal(restart.body.code, "restart_required");
  deepEqual(restart.body.keys, ["threads", "streams_auth"]);
  equal((await t.query("SELECT * FROM range(10)", undefined, t.as(admin))).body.data.length, 3);
  const refusals = t.events("config_reload_refused");
  equal(refusals.length, 2);
  // A document replaces the last one: keys it leaves out are back to their defaults.
  const back = await t.request("/admin/config", post({}, admin));
  deepEqual(back.body.changed, ["query_timeout", "absolute_max_rows"]);
  equal(t.server.config.absolute_max_rows, 10_000);
  const metrics = await t.request("/metrics", { headers: t.as(admin) });
  match(metrics.text, /^duckserve_config_reloads_total\{result="applied"\} 2$/m);
  match(metrics.text, /^duckserve_config_reloads_total\{result="refused"\} 2$/m);
});

Deno.test("a reload is atomic: requests in flight finish under the old configuration", async () => {
  await using t = await startTestServer({ threads: "2" });
  const inFlight = t.query(SLOW);
  await new Promise((r) => setTimeout(r, 100));
  const applied = await t.request("/admin/config", post({ query_timeout: "200ms" }, ""));
  equal(applied.status, 200, applied.text);
  const late = await t.query(SLOW);
  equal(late.status, 504);
  equal(late.body.code, "query_timeout");
  const early = await inFlight;
  equal(early.status, 200, early.text);
});

Deno.test("a reload moves the listener gracefully: in-flight requests finish on the old port", async () => {
  const free = () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    return port;
  };
  const sources = testSources({ threads: "2" });
  const flags = { ...sources.flags };
  delete flags.port;
  await using t = await startTestServer({ threads: "2" });
  const oldUrl = t.server.url;
  const inFlight = call(`${oldUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sql: SLOW }),
  });
  await new Promise((r) => setTimeout(r, 100));
  const port = free();
  const next = await loadConfig({ env: {}, flags: { ...flags, port: String(port) } });
  const outcome = await t.server.reload(next);
  deepEqual(outcome.changed, ["port"]);
  equal(t.server.port, port);
  equal((await call(`http://127.0.0.1:${port}/duckdb/livez`)).status, 200);
  const finished = await inFlight;
  equal(finished.status, 200, finished.text);
  ok(
    await eventually(() =>
      fetch(`${oldUrl}/livez`).then((r) => r.body?.cancel()).then(() => false, () => true)
    ),
    "the old port still accepts",
  );
});

Deno.test("SIGHUP reloads the config file: valid, invalid and restart-required", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/duckserve.toml`;
  const write = (text: string) => Deno.writeTextFileSync(file, text);
  write('host = "127.0.0.1"\nport = 0\nabsolute_max_rows = 5\n');
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "serve", "--config", file],
    env: {
      DUCKDB_AUTH_ENABLED: "false",
      DUCKDB_DATABASE_PATH: ":memory:",
      DUCKDB_STREAMS_STORAGE: "memory",
      DUCKDB_ACCESS_LOG: "off",
    },
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const pump = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stderr) {
      rest += decoder.decode(chunk);
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const part of parts) {
        try {
          lines.push(JSON.parse(part));
        } catch { /* not JSON */ }
      }
    }
  })();
  const event = (name: string) => lines.filter((l) => l.event === name);
  try {
    ok(await eventually(() => Promise.resolve(event("server_started").length === 1), 20_000));
    const url = String(event("server_started")[0].url);
    const rows = async () =>
      (await call(`${url}/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sql: "SELECT * FROM range(10)" }),
      })).body.data.length;
    equal(await rows(), 5);

    write('host = "127.0.0.1"\nport = 0\nabsolute_max_rows = 2\n');
    child.kill("SIGHUP");
    ok(await eventually(() => Promise.resolve(event("config_reloaded").length === 1)));
    deepEqual(event("config_reloaded")[0].changed, ["absolute_max_rows"]);
    equal(await rows(), 2);

    write('host = "127.0.0.1"\nport = "eighty"\nthreads = 0\n');
    child.kill("SIGHUP");
    ok(await eventually(() => Promise.resolve(event("config_reload_refused").length === 1)));
    equal((event("config_reload_refused")[0].problems as string[]).length, 2);
    equal(await rows(), 2);

    write('host = "127.0.0.1"\nport = 0\nstreams = false\n');
    child.kill("SIGHUP");
    ok(await eventually(() => Promise.resolve(event("config_reload_refused").length === 2)));
    match(String(event("config_reload_refused")[1].problems), /streams cannot change/);
    equal(await rows(), 2);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await pump;
    await Deno.remove(dir, { recursive: true });
  }
});
