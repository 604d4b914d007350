import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { validate } from "dockerfile-utils";
import { parse } from "yaml";
import { CONFIG_KEYS, loadConfig } from "../lib/config.ts";
import { VERSION } from "../lib/version.ts";
import { PERMISSIONS } from "../tools/compile.ts";
import { LOOPBACK_FLAGS, runDeno, spawnMain, startTestServer } from "./_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BINDINGS =
  "node_modules/.deno/@duckdb+node-bindings-linux-x64@1.5.5-r.5/node_modules/@duckdb/node-bindings-linux-x64";
const SWAGGER = "node_modules/.deno/swagger-ui-dist@5.35.0/node_modules/swagger-ui-dist";
const CONFIG_ENVS = new Set(CONFIG_KEYS.map((k) => k.env));

const run = runDeno;

/** `serve` flags of a server on a free loopback port, keys off, database in memory. */
const LOOPBACK = [...LOOPBACK_FLAGS, "--auth-enabled", "false", "--database-path", ":memory:"];

/** True when 64 bytes from the middle of `file` (and its first 4 KiB) are inside `haystack`. */
async function embedded(haystack: Buffer, file: string): Promise<boolean> {
  const bytes = await Deno.readFile(`${ROOT}/${file}`);
  const middle = Math.floor(bytes.byteLength / 2);
  return haystack.indexOf(bytes.subarray(middle, middle + 64)) >= 0 &&
    haystack.indexOf(bytes.subarray(0, 4096)) >= 0;
}

Deno.test({
  name:
    "deno task compile builds one self-extracting binary with the DuckDB addon and the docs assets",
  // deno compile cannot download denort here: DENORT_BIN points it at this deno, which builds the
  // same payload (the result does not run as duckserve).
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "duckserve-compile-" });
    try {
      const out = `${dir}/duckserve`;
      const result = await run(["task", "compile", "--output", out], {
        DENORT_BIN: Deno.execPath(),
        NO_COLOR: "1",
      });
      equal(result.code, 0, result.stderr);
      match(result.stderr, /DENORT_BIN=.* is the deno CLI, not denort/, "the warning");
      const binary = Buffer.from(await Deno.readFile(out));
      ok(await embedded(binary, `${BINDINGS}/duckdb.node`), "duckdb.node");
      ok(await embedded(binary, `${BINDINGS}/libduckdb.so`), "libduckdb.so beside it");
      ok(await embedded(binary, `${SWAGGER}/swagger-ui-bundle.js`), "Swagger UI script");
      ok(await embedded(binary, `${SWAGGER}/swagger-ui.css`), "Swagger UI styles");
      ok(await embedded(binary, "lib/http/docs/init.js"), "the page script");
      // Test tools and the other platforms' DuckDB builds stay out.
      const musl = BINDINGS.replaceAll("linux-x64", "linux-x64-musl");
      if (await Deno.stat(`${ROOT}/${musl}/libduckdb.so`).then(() => true, () => false)) {
        ok(!await embedded(binary, `${musl}/libduckdb.so`), "no musl build");
      }
      const playwright = "node_modules/.deno/playwright-core@1.65.1/node_modules/playwright-core";
      ok(!await embedded(binary, `${playwright}/lib/coreBundle.js`), "no Playwright");
      // The metadata: self-extracting, unstable features from deno.json, no subprocesses.
      const start = binary.lastIndexOf('{"argv":');
      ok(start >= 0, "metadata");
      const metadata = binary.subarray(start, binary.indexOf("\n", start)).toString();
      match(metadata, /"self_extracting":"[0-9a-f]+"/);
      match(metadata, /"features":\["no-legacy-abort"\]/);
      match(metadata, /"allow_run":null/);
      // The JS heap bound of `deno task start` is baked in too.
      match(metadata, /"v8_flags":\[[^\]]*"--max-old-space-size=512"\]/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deno task compile without denort says in one line what is missing and what DENORT_BIN is", async () => {
  // No denort for this target is cached, and the proxy refuses every download: what an offline
  // machine sees, wherever the test runs.
  const dir = await Deno.makeTempDir({ prefix: "duckserve-compile-" });
  try {
    const target = "aarch64-unknown-linux-gnu";
    const result = await run(["task", "compile", "--target", target, "--output", `${dir}/x`], {
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "",
      NO_COLOR: "1",
    });
    equal(result.code, 1, result.stderr);
    const last = result.stderr.trim().split("\n").at(-1)!;
    match(
      last,
      new RegExp(`^compile: deno compile could not download denort [0-9.]+ for ${target}`),
    );
    match(
      last,
      /DENORT_BIN .* must name a denort binary .* pointed at deno it builds the deno CLI/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start bounds the JS heap at 512 MB of old space; dev and the image too", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks;
  for (const task of ["start", "dev"]) {
    match(tasks[task], /^deno run .*--v8-flags=--max-old-space-size=512 .*main\.ts serve/, task);
  }
  const dockerfile = await Deno.readTextFile(`${ROOT}/Dockerfile`);
  match(dockerfile, /^ARG MAX_HEAP_MB=512$/m);
  match(dockerfile, /deno task compile --output \/out\/duckserve --max-heap "\$\{MAX_HEAP_MB\}"/);
  // The running server reports V8's limit: old space plus the young generation.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "start", ...LOOPBACK, "--streams-storage", "memory"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let started: Record<string, unknown> | null = null;
  while (!started) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`server did not start: ${log}`);
    log += value;
    const line = log.split("\n").find((l) => l.includes('"event":"server_started"'));
    if (line) started = JSON.parse(line);
  }
  const drain = (async () => {
    while (!(await lines.read()).done) { /* keep the pipe empty */ }
  })();
  const limit = Number(started.js_heap_limit_mb);
  ok(limit >= 512 && limit < 700, `js_heap_limit_mb ${limit}`);
  child.kill("SIGTERM");
  await child.status;
  await drain;
});

Deno.test("the compiled binary's permissions are enough to serve", async () => {
  const server = await spawnMain(["serve", ...LOOPBACK], {}, ROOT, PERMISSIONS);
  const url = server.url;
  ok(url, `server did not start: ${server.stderr()}`);
  const health = await fetch(`${url}/health`);
  equal(health.status, 200, await health.text());
  const query = await fetch(`${url}/query`, {
    method: "POST",
    body: JSON.stringify({ sql: "SELECT 42 AS answer" }),
  });
  deepEqual(await query.json(), { data: [{ answer: 42 }] });
  const asset = await fetch(`${url}/docs/docs.js`);
  equal(asset.status, 200);
  await asset.body?.cancel();
  server.child.kill("SIGTERM");
  equal(await server.exit(), 0);
});

Deno.test("Dockerfile passes dockerfile-utils' linter and has the image's required shape", async () => {
  const text = await Deno.readTextFile(`${ROOT}/Dockerfile`);
  deepEqual(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
  const instructions = text.split("\n").filter((l) => /^[A-Z]+\s/.test(l));
  equal(instructions.filter((l) => l.startsWith("FROM ")).length, 2, "multi-stage");
  match(text, /^FROM denoland\/deno:\$\{DENO_VERSION\} AS build$/m);
  match(text, /^FROM debian:bookworm-slim$/m);
  match(text, /deno task compile/);
  match(text, /^USER duckserve$/m, "non-root");
  match(text, /^VOLUME \["\/data"\]$/m);
  match(text, /^EXPOSE 8080$/m);
  match(text, /^HEALTHCHECK .*\n\s+CMD \["\/opt\/duckserve\/duckserve", "healthcheck"\]$/m);
  const env = Object.fromEntries(
    [...text.matchAll(/(DUCKDB_[A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2].replace(/\\$/, "")]),
  );
  equal(env.DUCKDB_DATABASE_PATH, "/data/main.db");
  equal(env.DUCKDB_AUTH_DATABASE_PATH, "/data/auth.db");
  equal(env.DUCKDB_PORT, "8080");
  for (const name of Object.keys(env)) ok(CONFIG_ENVS.has(name), `${name} is a config variable`);
});

Deno.test("docker-compose.yml runs the image with a volume on /data and known variables", async () => {
  const compose = parse(await Deno.readTextFile(`${ROOT}/docker-compose.yml`));
  const service = compose.services.duckserve;
  equal(service.build, ".");
  deepEqual(service.ports, ["8080:8080"]);
  deepEqual(service.volumes, ["duckserve-data:/data"]);
  ok("duckserve-data" in compose.volumes);
  for (const name of Object.keys(service.environment)) {
    ok(name === "TZ" || CONFIG_ENVS.has(name), `${name} is a config variable`);
  }
});

Deno.test("duckserve healthcheck exits 0 when /health answers 200, else 1", async () => {
  await using t = await startTestServer();
  const ok0 = await run(["run", "-A", "main.ts", "healthcheck", "--url", `${t.url}/health`]);
  equal(ok0.code, 0, ok0.stderr);
  const port = new URL(t.url).port;
  const fromEnv = await run(["run", "-A", "main.ts", "healthcheck"], {
    DUCKDB_PORT: port,
    DUCKDB_ROUTE_PREFIX: "/duckdb",
    DUCKDB_HOST: "127.0.0.1",
  });
  equal(fromEnv.code, 0, fromEnv.stderr);
  const wrong = await run(["run", "-A", "main.ts", "healthcheck", "--url", `${t.url}/nowhere`]);
  equal(wrong.code, 1);
  match(wrong.stderr, /unhealthy: .* answered 404/);
});

Deno.test("--version prints the version, also as serve --version", async () => {
  for (const args of [["--version"], ["serve", "--version"], ["version"]]) {
    const result = await run(["run", "-A", "main.ts", ...args]);
    equal(result.code, 0);
    equal(result.stdout.trim(), VERSION);
  }
});

Deno.test("docker-compose.https.yml adds HTTPS ports and only known variables", async () => {
  const compose = parse(await Deno.readTextFile(`${ROOT}/docker-compose.https.yml`));
  const service = compose.services.duckserve;
  deepEqual(service.ports, ["443:8443", "80:8080"]);
  equal(service.environment.DUCKDB_TLS_AUTO, "true");
  equal(service.environment.DUCKDB_PORT, "8443");
  equal(service.environment.DUCKDB_HTTP_PORT, "8080");
  for (const name of Object.keys(service.environment)) {
    ok(CONFIG_ENVS.has(name), `${name} is a config variable`);
  }
  const config = await loadConfig({
    env: {
      DUCKDB_PORT: "8443",
      DUCKDB_HTTP_PORT: "8080",
      DUCKDB_TLS_AUTO: "true",
      DUCKDB_TLS_DOMAINS: "db.example.com",
      DUCKDB_ACME_EMAIL: "ops@example.com",
      DUCKDB_CERTS_DIR: "/data/certs",
    },
  });
  equal(config.tls_auto, true, "the example is a valid configuration");
});
