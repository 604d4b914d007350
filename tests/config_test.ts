import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { CONFIG_KEYS, ConfigError, describeConfig, loadConfig } from "../lib/config.ts";
import { parseDuration, parseSize } from "../lib/units.ts";
import { runDeno } from "./_helpers.ts";

Deno.test("loadConfig() gives the reference defaults", async () => {
  const config = await loadConfig({ env: {}, cwd: "/srv" });
  equal(config.port, 8080);
  equal(config.route_prefix, "/duckdb");
  equal(config.database_path, "/srv/data/main.duckdb");
  equal(config.auth_database_path, "/srv/data/auth.duckdb");
  equal(config.query_timeout, 10_000);
  equal(config.max_rows_per_page, 100);
  equal(config.absolute_max_rows, 10_000);
  equal(config.threads, 4);
  equal(config.access_mode, "read_write");
  equal(config.memory_limit, null);
  equal(config.enable_object_cache, false);
  deepEqual(config.allowed_directories, []);
});

Deno.test("loadConfig() precedence: defaults < file < environment < flags", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/config.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ threads: 2, max_rows_per_page: 7, query_timeout: "2s", port: 1111 }),
    );
    const config = await loadConfig({
      file,
      env: { DUCKDB_MAX_ROWS_PER_PAGE: "8", DUCKDB_PORT: "2222", DUCKDB_QUERY_TIMEOUT: "500ms" },
      flags: { port: "3333", "absolute-max-rows": "0" },
      cwd: dir,
    });
    equal(config.threads, 2); // file only
    equal(config.max_rows_per_page, 8); // env beats file
    equal(config.query_timeout, 500); // env beats file
    equal(config.port, 3333); // flag beats env and file
    equal(config.absolute_max_rows, 0); // 0 really disables the cap
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() rejects a bad value with one line naming key, value, source and rule", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { DUCKDB_THREADS: "many" },
      /^invalid threads = "many" \(from DUCKDB_THREADS\): expected an integer >= 1/,
    ],
    [
      { DUCKDB_QUERY_TIMEOUT: "10 minutes" },
      /query_timeout .*expected a duration such as 500ms, 10s or 1m/,
    ],
    [{ DUCKDB_ACCESS_MODE: "rw" }, /access_mode = "rw" .*one of read_write, read_only/],
    [{ DUCKDB_MAX_ROWS_PER_PAGE: "0" }, /max_rows_per_page .*>= 1/],
    [{ DUCKDB_PORT: "70000" }, /port .*<= 65535/],
    [{ DUCKDB_ENABLE_OBJECT_CACHE: "maybe" }, /enable_object_cache .*true or false/],
    [{ DUCKDB_MEMORY_LIMIT: "lots" }, /memory_limit .*512MB or 4GB/],
    [{ DUCKDB_ROUTE_PREFIX: "/a b" }, /route_prefix/],
    // DuckDB would name the catalog "Main" and make every unqualified name ambiguous.
    [{ DUCKDB_DATABASE_PATH: "/tmp/Main.DB" }, /database_path .*clashes with its reserved "main"/],
    [{ DUCKDB_DATABASE_PATH: "data/Temp.db" }, /database_path .*reserved "temp"/],
    // User SQL may read anything below an allowed directory: never the auth or stream data.
    [
      { DUCKDB_AUTH_DATABASE_PATH: "/srv/ds/auth.duckdb", DUCKDB_ALLOWED_DIRECTORIES: "/srv/ds/" },
      /^invalid allowed_directories = "\/srv\/ds\/": .*the auth database/,
    ],
    [{ DUCKDB_ALLOWED_DIRECTORIES: "/srv/files,/" }, /allowed_directories = "\/".*auth database/],
    [{ DUCKDB_TEMP_DIRECTORY: "data" }, /^invalid temp_directory = ".*\/data": .*auth database/],
    [
      { DUCKDB_DATABASE_PATH: "/srv/f/db.duckdb", DUCKDB_ALLOWED_DIRECTORIES: "/srv/f" },
      /allowed_directories = "\/srv\/f": .*the database file itself/,
    ],
    [
      { DUCKDB_STREAMS_DIR: "/srv/streams", DUCKDB_ALLOWED_DIRECTORIES: "/srv/streams/sub" },
      /allowed_directories .*stream storage \(streams_dir \/srv\/streams\)/,
    ],
  ];
  for (const [env, pattern] of cases) {
    await rejects(loadConfig({ env }), (err: Error) => {
      ok(err instanceof ConfigError, String(err));
      match(err.message, pattern);
      equal(err.message.includes("\n"), false);
      return true;
    });
  }
  await rejects(loadConfig({ env: {}, flags: { nonsense: "1" } }), /unknown option --nonsense/);
  // Apart from them, allowed directories are fine; without auth or durable streams, anywhere.
  const apart = await loadConfig({
    env: {
      DUCKDB_AUTH_DATABASE_PATH: "/srv/ds/auth.duckdb",
      DUCKDB_STREAMS_DIR: "/srv/ds/streams",
    },
    flags: { allowed_directories: "/srv/ds/files,/srv/dsx" },
  });
  deepEqual(apart.allowed_directories, ["/srv/ds/files", "/srv/dsx"]);
  const open = await loadConfig({
    env: {
      DUCKDB_AUTH_ENABLED: "false",
      DUCKDB_STREAMS_STORAGE: "memory",
      DUCKDB_DATABASE_PATH: ":memory:",
    },
    flags: { allowed_directories: "/" },
  });
  deepEqual(open.allowed_directories, ["/"]);
});

Deno.test("config file errors are clear", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
    await rejects(loadConfig({ file: `${dir}/bad.json`, env: {} }), /not valid JSON/);
    await Deno.writeTextFile(`${dir}/unknown.json`, '{"thread": 2}');
    await rejects(
      loadConfig({ file: `${dir}/unknown.json`, env: {} }),
      /unknown config key "thread"/,
    );
    await rejects(loadConfig({ file: `${dir}/missing.json`, env: {} }), /cannot read config file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("durations, sizes and prefixes parse as documented", async () => {
  deepEqual([parseDuration("500ms"), parseDuration("10s"), parseDuration("1m")], [
    500,
    10_000,
    60_000,
  ]);
  equal(parseDuration("10"), null);
  deepEqual([parseSize("10MB"), parseSize("1KiB"), parseSize("512")], [10_000_000, 1024, 512]);
  equal(parseSize("ten"), null);
  equal((await loadConfig({ env: { DUCKDB_ROUTE_PREFIX: "api/v1/" } })).route_prefix, "/api/v1");
  equal((await loadConfig({ env: { DUCKDB_ROUTE_PREFIX: "/" } })).route_prefix, "");
  deepEqual(
    (await loadConfig({ env: { DUCKDB_ALLOWED_DIRECTORIES: "/data, /exports" } }))
      .allowed_directories,
    ["/data", "/exports"],
  );
});

Deno.test("every config key has an env var following the reference pattern and a flag", () => {
  for (const spec of CONFIG_KEYS) {
    equal(spec.env, `DUCKDB_${spec.key.toUpperCase()}`);
    equal(spec.flag, spec.key.replaceAll("_", "-"));
  }
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  runDeno(["run", "-A", "main.ts", ...args], env);

Deno.test("serve --print-config prints the effective configuration", async () => {
  const r = await cli(["serve", "--print-config", "--threads", "3"], {
    DUCKDB_QUERY_TIMEOUT: "1m",
  });
  equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  equal(printed.threads, 3);
  equal(printed.query_timeout, "1m");
  equal(printed.route_prefix, "/duckdb");
  deepEqual(Object.keys(printed), Object.keys(describeConfig(await loadConfig({ env: {} }))));
});

Deno.test("an invalid value stops start-up with exit code 2 and one line", async () => {
  const r = await cli(["--threads", "abc"]);
  equal(r.code, 2);
  equal(r.stderr.trim().split("\n").length, 1);
  match(r.stderr, /invalid threads = "abc" \(from --threads\)/);
});

Deno.test("streams config: defaults, env names and prefix rules", async () => {
  const config = await loadConfig({ env: {}, cwd: "/srv" });
  equal(config.streams, true);
  equal(config.streams_prefix, "/v1/stream");
  equal(config.streams_storage, "dir");
  equal(config.streams_dir, "/srv/data/streams");
  equal(config.streams_auth, "keys");
  equal(config.long_poll_timeout, 30_000);
  equal(config.sse_reconnect_interval, 60_000);
  equal(config.change_feeds, true);
  const env = await loadConfig({
    env: {
      DUCKDB_STREAMS_PREFIX: "events/",
      DUCKDB_STREAMS_STORAGE: "memory",
      DUCKDB_LONG_POLL_TIMEOUT: "500ms",
      DUCKDB_STREAMS_AUTH: "none",
    },
  });
  equal(env.streams_prefix, "/events");
  equal(env.streams_storage, "memory");
  equal(env.long_poll_timeout, 500);
  equal(env.streams_auth, "none");
  for (const bad of ["/", "/duckdb", "/a b"]) {
    await rejects(
      loadConfig({ env: {}, flags: { streams_prefix: bad } }),
      (err: Error) => err instanceof ConfigError && /streams_prefix/.test(err.message),
      bad,
    );
  }
  await rejects(
    loadConfig({ env: {}, flags: { route_prefix: "/v1/stream/x" } }),
    /hide the endpoints/,
  );
  equal(
    (await loadConfig({ env: {}, flags: { streams_prefix: "/duckdb/streams" } })).streams_prefix,
    "/duckdb/streams",
  );
});
