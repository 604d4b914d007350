import { deepEqual, equal, match } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { runDeno } from "../_helpers.ts";

const cli = (args: string[], env: Record<string, string> = {}) =>
  runDeno(["run", "-A", "main.ts", ...args], env);

Deno.test("duckserve validate lists every problem of a document and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      bad,
      "port: 70000\nthreads: many\nnope: 1\nclient_ip_header: forwarded\ntrusted_proxies: [300.1.1.1/8]\n",
    );
    const r = await cli(["validate", "--config", bad]);
    equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    equal(lines.length, 4, r.stderr);
    match(r.stderr, /invalid port = 70000 \(from .*bad\.yaml\)/);
    match(r.stderr, /invalid threads = "many"/);
    match(r.stderr, /unknown config key "nope"/);
    match(r.stderr, /invalid trusted_proxies item "300\.1\.1\.1\/8"/);
    const good = `${dir}/good.toml`;
    await Deno.writeTextFile(good, 'port = 9000\nlog_sql = false\naccess_log = "off"\n');
    const ok = await cli(["validate", "--config", good]);
    equal(ok.code, 0, ok.stderr);
    match(ok.stdout, /good\.toml is valid/);
    // Flags and the environment are checked with the document, as serve would load them.
    const flagged = await cli(["validate", "--config", good, "--threads", "0"], {
      DUCKDB_MAX_QUEUED_QUERIES: "-1",
    });
    equal(flagged.code, 1);
    equal(flagged.stderr.trim().split("\n").length, 2, flagged.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("duckserve config prints the effective configuration as JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/duckserve.yml`;
    await Deno.writeTextFile(file, "query_timeout: 3s\nmax_rows_per_page: 7\nlog_sql: false\n");
    const r = await cli(["config", "--config", file, "--port", "9001"], {
      DUCKDB_MAX_ROWS_PER_PAGE: "8",
    });
    equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    equal(printed.port, 9001);
    equal(printed.query_timeout, "3s");
    equal(printed.max_rows_per_page, 8);
    equal(printed.log_sql, "false");
    equal(printed.access_log, "stderr");
    equal(printed.max_concurrent_queries, 0);
    const bad = await cli(["config", "--port", "x"]);
    equal(bad.code, 1);
    match(bad.stderr, /invalid port = "x"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("YAML and TOML documents load like JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const values = {
      threads: 2,
      query_timeout: "1500ms",
      allowed_directories: ["/srv/files"],
      anonymous_rate_limit: "30/m",
      trusted_proxies: ["10.0.0.0/8", "::1"],
      client_ip_header: "x-forwarded-for",
    };
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify(values));
    await Deno.writeTextFile(
      `${dir}/c.yaml`,
      "threads: 2\nquery_timeout: 1500ms\nallowed_directories:\n  - /srv/files\n" +
        "anonymous_rate_limit: 30/m\ntrusted_proxies: [10.0.0.0/8, '::1']\n" +
        "client_ip_header: x-forwarded-for\n",
    );
    await Deno.writeTextFile(
      `${dir}/c.toml`,
      'threads = 2\nquery_timeout = "1500ms"\nallowed_directories = ["/srv/files"]\n' +
        'anonymous_rate_limit = "30/m"\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n' +
        'client_ip_header = "x-forwarded-for"\n',
    );
    const loaded = [];
    for (const ext of ["json", "yaml", "toml"]) {
      const c = await loadConfig({ file: `${dir}/c.${ext}`, env: {}, cwd: dir });
      loaded.push([
        c.threads,
        c.query_timeout,
        c.allowed_directories,
        c.anonymous_rate_limit,
        c.trusted_proxies,
      ]);
    }
    deepEqual(loaded[1], loaded[0]);
    deepEqual(loaded[2], loaded[0]);
    deepEqual(loaded[0], [2, 1500, ["/srv/files"], "30/m", ["10.0.0.0/8", "::1"]]);
    await Deno.writeTextFile(`${dir}/broken.toml`, "threads = = 2");
    const err = await loadConfig({ file: `${dir}/broken.toml`, env: {} }).catch((e) => e);
    match(String(err.message), /is not valid TOML/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
