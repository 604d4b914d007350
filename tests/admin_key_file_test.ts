import { equal, match, ok, rejects } from "node:assert/strict";
import { parse } from "yaml";
import { startTestServer } from "./_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("admin_key_file: the first start writes the admin key to a new 0600 file, not to stderr", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-key-file-" });
  try {
    const keyFile = `${dir}/secrets/admin.key`;
    // A stale file of another mode is replaced, never reused.
    await Deno.mkdir(`${dir}/secrets`);
    await Deno.writeTextFile(keyFile, "old\n", { mode: 0o644 });
    await using t = await startTestServer({
      auth_enabled: "true",
      auth_database_path: `${dir}/auth.duckdb`,
      admin_key_file: keyFile,
    });
    const key = (await Deno.readTextFile(keyFile)).trim();
    match(key, /^dsk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    equal(t.announcements.length, 1);
    const text = t.announcements[0];
    ok(!text.includes(key), "the key is not announced");
    ok(text.includes(`admin API key written to ${keyFile} (mode 0600)`), text);
    ok(!t.logs.join("\n").includes(key), "the key is not logged");
    const created = t.logs.map((l) => JSON.parse(l)).find((e) =>
      e.event === "auth_database_created"
    );
    equal(created?.admin_key_file, keyFile);
    const r = await t.query("SELECT 1 AS one", [], { "x-api-key": key });
    equal(r.status, 200, r.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("admin_key_file that cannot be written stops the start and leaves no auth database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-key-file-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    let failure: Error | null = null;
    try {
      await using _ = await startTestServer({
        auth_enabled: "true",
        auth_database_path: `${dir}/auth.duckdb`,
        admin_key_file: `${dir}/file/admin.key`, // below a regular file
      });
    } catch (err) {
      failure = err as Error;
    }
    match(String(failure?.message), /^cannot write admin_key_file .*\/file\/admin\.key/);
    ok(!await Deno.stat(`${dir}/auth.duckdb`).then(() => true, () => false));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the Docker and compose examples read the key file the image configures; greps match", async () => {
  const dockerfile = await Deno.readTextFile(`${ROOT}/Dockerfile`);
  const composeText = await Deno.readTextFile(`${ROOT}/docker-compose.yml`);
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const file = /DUCKDB_ADMIN_KEY_FILE=(\S+)/.exec(dockerfile)?.[1];
  equal(file, "/data/admin.key");
  equal(parse(composeText).services.duckserve.environment.DUCKDB_ADMIN_KEY_FILE, file);
  ok(composeText.includes(`docker compose exec duckserve cat ${file}`), "compose hint");
  const docker = readme.slice(readme.indexOf("### With Docker"));
  ok(docker.includes(`docker exec duckserve cat ${file}`), "README hint");
  // Any grep for the key that the docs still suggest must find the line the server prints.
  await using t = await startTestServer({ auth_enabled: "true" });
  const line = t.announcements[0].split("\n").find((l) => l.includes("dsk_"))!;
  const greps = [...`${readme}\n${composeText}`.matchAll(/grep -i (?:"([^"]+)"|'([^']+)'|(\S+))/g)]
    .map((m) => m[1] ?? m[2] ?? m[3]);
  for (const pattern of greps) {
    ok(line.toLowerCase().includes(pattern.toLowerCase()), `grep -i ${pattern} misses "${line}"`);
  }
});

Deno.test("admin_key_file may not lie where user SQL reaches", async () => {
  const { loadConfig } = await import("../lib/config.ts");
  await rejects(
    loadConfig({
      env: {},
      flags: { admin_key_file: "/srv/files/admin.key", allowed_directories: "/srv/files" },
    }),
    /^ConfigError: invalid allowed_directories = "\/srv\/files": .*admin key file/,
  );
});
