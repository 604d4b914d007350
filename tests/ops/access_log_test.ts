import { deepEqual, equal, match, ok } from "node:assert/strict";
import { call, eventually, sqlPath, startAuthServer, startTestServer } from "../_helpers.ts";

/** The parsed lines of an access log file (waits for the buffered writer). */
// deno-lint-ignore no-explicit-any
async function readLines(path: string, count: number): Promise<Record<string, any>[]> {
  const read = () => {
    try {
      return Deno.readTextFileSync(path).trim().split("\n").filter((l) => l !== "");
    } catch {
      return [];
    }
  };
  ok(await eventually(() => Promise.resolve(read().length >= count), 3000), "access log lines");
  return read().map((line) => JSON.parse(line));
}

Deno.test("the access log writes one Caddy-shaped line per request, keys never included", async () => {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/access.log`;
  try {
    await using t = await startAuthServer({ flags: { access_log: log, log_sql: "redacted" } });
    const key = t.keys.admin;
    await t.query("CREATE TABLE t (id INTEGER, name VARCHAR)", undefined, t.as(key));
    await t.request("/api/t", {
      method: "POST",
      headers: { ...t.as(key), "content-type": "application/json" },
      body: JSON.stringify([{ id: 1, name: "a" }, { id: 2, name: "b" }]),
    });
    // The key everywhere a client might put it: headers, a query parameter, the SQL of the URI.
    const sql = `SELECT id, '${key}' AS leaked FROM t WHERE name = 'a'`;
    const headers = { authorization: `Bearer ${key}`, cookie: `session=${key}` };
    const get = await t.request(sqlPath(sql, "csv"), { headers });
    equal(get.status, 200);
    // Unknown query parameters are refused (issue 17), and logged with key-like values redacted.
    const withSecrets = await t.request(`${sqlPath(sql, "csv")}?api_key=${key}&token=x`, {
      headers,
    });
    equal(withSecrets.status, 400);
    equal(withSecrets.body.code, "unknown_parameter");
    await t.request("/api/t?limit=5", { headers: t.as(key) });
    await t.request("/api/t?limit=5", { headers: t.as(key) });
    await t.request("/tables", { headers: { "x-api-key": "dsk_wrongwro_" + "x".repeat(43) } });
    const lines = await readLines(log, 7);
    const text = Deno.readTextFileSync(log);
    equal(text.includes(key), false, "the key appears in the access log");
    equal(text.includes(key.slice(13)), false, "the key's secret part appears");
    equal(t.logs.join("\n").includes(key), false, "the key appears in the event log");
    equal(text.includes("'a'"), false, "a literal appears with log_sql redacted");

    for (const line of lines) {
      equal(line.logger, "http.log.access");
      equal(line.msg, "handled request");
      equal(typeof line.ts, "number");
      ok(line.ts > 1.6e9 && line.ts < 4e9);
      equal(typeof line.duration, "number");
      equal(typeof line.size, "number");
      match(line.request.remote_ip, /^127\.0\.0\.1$/);
      match(line.request.remote_port, /^\d+$/);
      equal(line.request.proto, "HTTP/1.1");
      match(line.request.host, /^127\.0\.0\.1:\d+$/);
      ok(line.request_id);
    }
    const csv = lines.find((l) => l.route === "/duckdb/query/*" && l.status === 200)!;
    equal(csv.status, 200);
    equal(csv.key_id, key.split("_")[1]);
    equal(csv.role, "admin");
    equal(csv.rows, 1);
    equal(csv.sql, "SELECT id, ? AS leaked FROM t WHERE name = ?");
    match(csv.request.uri, /^\/duckdb\/query\/SELECT%20id%2C%20%3F%20AS%20leaked/);
    match(csv.request.uri, /\/result\.csv$/);
    const secrets = lines.find((l) => l.route === "/duckdb/query/*" && l.status === 400)!;
    equal(secrets.error_code, "unknown_parameter");
    match(secrets.request.uri, /\/result\.csv\?api_key=REDACTED&token=REDACTED$/);
    deepEqual(secrets.request.headers.Authorization, ["REDACTED"]);
    deepEqual(csv.request.headers.Authorization, ["REDACTED"]);
    deepEqual(csv.request.headers.Cookie, ["REDACTED"]);
    ok(csv.size > 0);

    const reads = lines.filter((l) =>
      l.route === "/duckdb/api/:table" && l.request.method === "GET"
    );
    deepEqual(reads.map((l) => [l.rows, l.cache]), [[2, "miss"], [2, "hit"]]);
    deepEqual(reads[0].request.headers["X-Api-Key"], ["REDACTED"]);
    const insert = lines.find((l) =>
      l.request.method === "POST" && l.route === "/duckdb/api/:table"
    );
    equal(insert!.status, 201);
    const refused = lines.find((l) => l.status === 401)!;
    equal(refused.error_code, "unauthorized");
    equal(refused.key_id, undefined);
    equal(JSON.stringify(refused).includes("dsk_wrongwro_"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log_sql full and false, and a problem's error code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const mode of ["full", "false"]) {
      const log = `${dir}/${mode}.log`;
      await using t = await startTestServer({ access_log: log, log_sql: mode });
      await t.query("SELECT 42 AS answer, 'x' AS s");
      await t.request(sqlPath("SELECT 'hidden' AS h"));
      await t.query("SELEC nonsense");
      const lines = await readLines(log, 3);
      const [post, get, bad] = lines;
      if (mode === "full") {
        equal(post.sql, "SELECT 42 AS answer, 'x' AS s");
        equal(get.request.uri, sqlPath("SELECT 'hidden' AS h").replace("/query", "/duckdb/query"));
      } else {
        equal(post.sql, undefined);
        equal(get.request.uri, "/duckdb/query/REDACTED/result.json");
        equal(Deno.readTextFileSync(log).includes("hidden"), false);
      }
      equal(bad.status, 400);
      equal(bad.error_code, "syntax_error");
      equal(post.key_id, undefined, "no key without auth");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an access log file rolls at access_log_roll_size and keeps access_log_roll_keep files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using t = await startTestServer({
      access_log: `${dir}/access.log`,
      access_log_roll_size: "2KB",
      access_log_roll_keep: "2",
    });
    for (let i = 0; i < 40; i++) {
      await t.request("/livez");
      // Let the buffered writer flush between requests so the file grows in steps.
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 30));
    }
    ok(await eventually(() => Promise.resolve([...Deno.readDirSync(dir)].length === 3)));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    equal(names.filter((n) => n === "access.log").length, 1);
    for (const rolled of names.filter((n) => n !== "access.log")) {
      match(rolled, /^access-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}(\.\d+)?\.log$/);
      const size = Deno.statSync(`${dir}/${rolled}`).size;
      ok(size <= 2000 && size > 0, `${rolled} has ${size} bytes`);
      for (const line of Deno.readTextFileSync(`${dir}/${rolled}`).trim().split("\n")) {
        equal(JSON.parse(line).logger, "http.log.access");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("access_log stdout writes the lines on the process's stdout", async () => {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "serve", "--port", "0", "--host", "127.0.0.1"],
    env: {
      DUCKDB_ACCESS_LOG: "stdout",
      DUCKDB_AUTH_ENABLED: "false",
      DUCKDB_DATABASE_PATH: ":memory:",
      DUCKDB_STREAMS_STORAGE: "memory",
    },
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  const stderr = child.stderr.getReader();
  let err = "";
  let url = "";
  while (!url) {
    const { value, done } = await stderr.read();
    if (done) break;
    err += new TextDecoder().decode(value);
    const started = err.split("\n").find((l) => l.includes("server_started"));
    if (started) url = JSON.parse(started).url;
  }
  ok(url, err);
  equal((await call(`${url}/livez`)).status, 200);
  await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGTERM");
  stderr.releaseLock();
  const out = await child.output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  equal(lines.length, 1);
  equal(lines[0].request.uri, "/duckdb/livez");
  equal(lines[0].status, 200);
});

Deno.test("a GET query refused before it runs logs its SQL as log_sql says, not as sent", async () => {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/access.log`;
  try {
    await using t = await startAuthServer({ flags: { access_log: log, log_sql: "redacted" } });
    const sql = "SELECT 'topsecret' AS s";
    // Refused by the key check, by an unknown parameter, by a bad format parameter.
    const wrongKey = { "x-api-key": "dsk_wrongwro_" + "x".repeat(43) };
    equal((await t.request(sqlPath(sql, "csv"), { headers: wrongKey })).status, 401);
    const own = t.as(t.keys.admin);
    equal((await t.request(`${sqlPath(sql, "csv")}?nope=1`, { headers: own })).status, 400);
    equal((await t.request(`${sqlPath(sql, "csv")}?delimiter=xyz`, { headers: own })).status, 400);
    // Not valid percent-encoding: shown as REDACTED.
    equal((await t.request("/query/SELECT%20'%zz'/result.json", { headers: own })).status, 400);
    const lines = await readLines(log, 4);
    equal(Deno.readTextFileSync(log).includes("topsecret"), false, "a literal was logged");
    deepEqual(
      lines.map((l) => l.request.uri.replace(/\?.*$/, "")),
      [
        ...Array(3).fill("/duckdb/query/SELECT%20%3F%20AS%20s/result.csv"),
        "/duckdb/query/REDACTED/result.json",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a URL logged once is logged again without the key a later request presents in it", async () => {
  // The log's URI is reused for a repeated URL only when that URL holds no presented key: the
  // first request presents none (its URI is kept), the second presents the text of its path.
  const dir = await Deno.makeTempDir();
  const log = `${dir}/access.log`;
  try {
    await using t = await startAuthServer({ flags: { access_log: log } });
    const secret = "my-own-secret-token-123";
    const path = `/api/${secret}`;
    equal((await t.request(path)).status, 401);
    equal((await t.request(path, { headers: { "x-api-key": secret } })).status, 401);
    const lines = await readLines(log, 2);
    deepEqual(lines.map((l) => l.request.uri), [
      `/duckdb/api/${secret}`,
      "/duckdb/api/REDACTED",
    ]);
    ok(!JSON.stringify(lines[1]).includes(secret), "the presented key is in no field");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
