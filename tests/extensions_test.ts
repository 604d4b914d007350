// The `extensions` and `extension_directory` keys: what an operator configures loads at start,
// before the sandbox closes; what does not load stops the start with one line naming the key; user
// SQL still cannot install or load anything. Only extensions built into DuckDB (`json`, `parquet`)
// can be loaded here (no network): the loading path from a directory is exercised with a file that
// is not a DuckDB extension, which DuckDB opens from `extension_directory` and refuses.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { spawnMain, startTestServer } from "./_helpers.ts";

const load = (flags: Record<string, string>) => loadConfig({ env: {}, flags, cwd: "/opt/ds" });

Deno.test("extensions are bare names; extension_directory is resolved and kept apart from user SQL", async () => {
  const defaults = await load({});
  deepEqual(defaults.extensions, []);
  equal(defaults.extension_directory, null);
  const set = await load({ extensions: "ducklake, httpfs,postgres", extension_directory: "ext" });
  deepEqual(set.extensions, ["ducklake", "httpfs", "postgres"]);
  equal(set.extension_directory, "/opt/ds/ext");
  for (
    const [flags, problem] of [
      [
        { extensions: "json,../evil" },
        /^invalid extensions entry "\.\.\/evil": expected an extension name/,
      ],
      [{ extensions: "/srv/x.duckdb_extension" }, /^invalid extensions entry .*not a path$/],
      [
        { extension_directory: "/srv/ext", allowed_directories: "/srv" },
        /^invalid allowed_directories = "\/srv": it would let user SQL write where extensions are loaded from \(extension_directory \/srv\/ext\)/,
      ],
      [
        { extension_directory: "/srv/ext", allowed_directories: "/srv/ext/v1.5.5" },
        /^invalid allowed_directories = "\/srv\/ext\/v1\.5\.5": .*extension_directory/,
      ],
      [
        { extension_directory: "/srv/ext", temp_directory: "/srv/ext" },
        /^invalid temp_directory = "\/srv\/ext": .*extension_directory/,
      ],
    ] as const
  ) {
    const err = await load(flags).then(() => null, (e) => e);
    ok(err instanceof ConfigError, JSON.stringify(flags));
    equal(err.problems.length, 1, err.message);
    match(err.problems[0], problem);
  }
  // Apart is fine.
  const apart = await load({ extension_directory: "/srv/ext", allowed_directories: "/srv/extra" });
  deepEqual(apart.allowed_directories, ["/srv/extra"]);
});

Deno.test("configured extensions load at start and are reported with where they came from", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-ext-" });
  try {
    await using t = await startTestServer({
      extensions: "json,parquet",
      extension_directory: dir,
    });
    const [started] = t.events("server_started");
    // Both ship inside DuckDB: LOAD finds them without touching the directory.
    deepEqual(started.extensions, [
      { name: "json", path: "(BUILT-IN)" },
      { name: "parquet", path: "(BUILT-IN)" },
    ]);
    const r = await t.query(`SELECT json_extract('{"a":[1,2]}', '$.a[1]')::INT AS v`);
    deepEqual([r.status, r.body.data], [200, [{ v: 2 }]], r.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an extension that does not load stops the start with one line naming the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-ext-" });
  try {
    const missing = await startTestServer({
      extensions: "json,nosuch",
      extension_directory: dir,
    }).then(() => null, (e: Error) => e);
    ok(missing, "the server must not start");
    const where = new RegExp(
      `^extensions: cannot load "nosuch" from extension_directory ${dir}: IO Error: Extension ` +
        `"(${dir}/v[0-9.]+/[a-z0-9_]+)/nosuch\\.duckdb_extension" not found\\. ` +
        `\\(install it there first, with DuckDB's INSTALL nosuch of the same DuckDB version\\)$`,
    ).exec(missing.message);
    ok(where, missing.message);
    // DuckDB looked in extension_directory's version/platform folder: a file there that is not a
    // signed DuckDB extension is opened and refused, and the start stops the same way.
    await Deno.mkdir(where[1], { recursive: true });
    await Deno.writeFile(`${where[1]}/fake.duckdb_extension`, new Uint8Array(4096).fill(7));
    await rejects(
      startTestServer({ extensions: "fake", extension_directory: dir }),
      /^Error: extensions: cannot load "fake" from extension_directory .*: Invalid Input Error: Failed to load 'fake', The file is not a DuckDB extension/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve with an unknown extension exits 1 with one line; a path is a config error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-ext-" });
  try {
    const base = ["serve", "--host", "127.0.0.1", "--port", "0", "--database-path", ":memory:"];
    const flags = ["--auth-enabled", "false", "--streams-storage", "memory"];
    const unknown = await spawnMain([
      ...base,
      ...flags,
      "--extensions",
      "nosuch",
      "--extension-directory",
      dir,
    ]);
    equal(unknown.url, null);
    equal(await unknown.exit(), 1);
    const line = unknown.stderr().trim();
    ok(!line.includes("\n"), line);
    match(
      line,
      /^duckserve: cannot start: extensions: cannot load "nosuch" from extension_directory /,
    );
    const path = await spawnMain([...base, ...flags, "--extensions", "./x.duckdb_extension"]);
    equal(path.url, null);
    equal(await path.exit(), 2);
    match(path.stderr(), /invalid extensions entry "\.\/x\.duckdb_extension"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("user SQL cannot install, load or update extensions, nor reopen the settings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-ext-" });
  const files = await Deno.makeTempDir({ prefix: "duckserve-ext-files-" });
  try {
    await Deno.writeFile(`${files}/x.duckdb_extension`, new Uint8Array(4096).fill(7));
    await using t = await startTestServer({
      extensions: "json",
      extension_directory: dir,
      allowed_directories: files,
    });
    // Refused by statement type, before DuckDB sees them: even a LOAD of a built-in that DuckDB
    // would accept as a no-op.
    for (
      const sql of [
        "LOAD json",
        "LOAD parquet",
        "LOAD httpfs",
        `LOAD '${files}/x.duckdb_extension'`,
        "INSTALL httpfs",
        "FORCE INSTALL json",
        `INSTALL httpfs FROM '${files}'`,
        "UPDATE EXTENSIONS",
        "SELECT 1; LOAD icu",
      ]
    ) {
      const r = await t.query(sql);
      deepEqual([r.status, r.body.code], [403, "sandbox_violation"], `${sql}: ${r.text}`);
    }
    for (
      const sql of [
        `SET extension_directory = '${files}'`,
        "SET allow_unsigned_extensions = true",
        "SET autoload_known_extensions = true",
        "SET autoinstall_known_extensions = true",
        "SET enable_external_access = true",
      ]
    ) {
      const r = await t.query(sql);
      ok(r.status >= 400 && r.status < 500, `${sql} -> ${r.status} ${r.text}`);
    }
    // Nothing changed: the settings are still the server's.
    const settings = await t.query(
      "SELECT name, value FROM duckdb_settings() WHERE name IN ('extension_directory', " +
        "'allow_unsigned_extensions', 'autoload_known_extensions') ORDER BY name",
    );
    deepEqual(settings.body.data, [
      { name: "allow_unsigned_extensions", value: "false" },
      { name: "autoload_known_extensions", value: "false" },
      { name: "extension_directory", value: dir },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(files, { recursive: true });
  }
});
