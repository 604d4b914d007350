import { deepEqual, equal, match, ok } from "node:assert/strict";
import { hashKey } from "../lib/auth/keys.ts";
import { eventually, runDeno, startTestServer, type TestServer, timed } from "./_helpers.ts";

/** Runs `deno run -A main.ts auth ...args` like a user would. */
const auth = (args: string[], env: Record<string, string> = {}) =>
  runDeno(["run", "-A", "main.ts", "auth", ...args], { NO_COLOR: "1", ...env });

async function ok0(args: string[], env?: Record<string, string>): Promise<string> {
  const run = await auth(args, env);
  equal(run.code, 0, `auth ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

async function withStore(work: (db: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-cli-test-" });
  try {
    await work(`${dir}/auth.duckdb`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function status(t: TestServer, key: string, sql = "SELECT 1"): Promise<number> {
  return (await t.query(sql, [], { "x-api-key": key })).status;
}

Deno.test("auth init creates a store with the default roles and refuses to overwrite it", async () => {
  await withStore(async (db) => {
    match(await ok0(["init", "-d", db]), /Created auth database .* admin, editor and reader/);
    const again = await auth(["init", "-d", db]);
    equal(again.code, 1);
    equal(again.stderr, `duckserve: auth init: auth database ${db} already exists\n`);
    const roles = JSON.parse(await ok0(["role", "list", "-d", db, "--json"]));
    deepEqual(roles.map((r: { role: string }) => r.role), ["admin", "editor", "reader"]);
    const perms = JSON.parse(await ok0(["permission", "list", "-d", db, "--json"]));
    deepEqual(
      perms.map((p: { role: string; table: string; operations: string }) =>
        `${p.role} ${p.table} ${p.operations}`
      ),
      ["admin * crudq", "editor * crud", "reader * r"],
    );
  });
});

Deno.test("auth init --with-defaults=false and --no-defaults create the schema with no roles", async () => {
  await withStore(async (db, dir) => {
    match(await ok0(["init", "-d", db, "--with-defaults=false"]), /with no roles/);
    deepEqual(JSON.parse(await ok0(["role", "list", "-d", db, "--json"])), []);
    const other = `${dir}/other.duckdb`;
    match(await ok0(["init", "-d", other, "--no-defaults"]), /with no roles/);
    deepEqual(JSON.parse(await ok0(["permission", "list", "-d", other, "--json"])), []);
    const third = `${dir}/third.duckdb`;
    match(await ok0(["init", "-d", third, "--with-defaults"]), /admin, editor and reader/);
    const bad = await auth(["init", "-d", `${dir}/bad.duckdb`, "--with-defaults=maybe"]);
    equal(bad.code, 1);
    match(bad.stderr, /--with-defaults.*maybe.*expected true or false/);
    ok(
      !(await Deno.stat(`${dir}/bad.duckdb`).then(() => true, () => false)),
      "a refused init leaves no file behind",
    );
  });
});

Deno.test("auth key add/list/remove: shown once, never listed, live on a running server", async () => {
  await withStore(async (db) => {
    await ok0(["init", "-d", db]);
    await using t = await startTestServer({ auth_enabled: "true", auth_database_path: db });
    await t.query("CREATE TABLE t (a INT)", [], {}); // nothing works without a key
    const expires = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
    const out = await ok0([
      "key",
      "add",
      "-d",
      db,
      "-r",
      "admin",
      "--desc",
      "ci key",
      "-e",
      expires,
    ]);
    match(out, /will not be shown again/);
    const key = /API Key: (\S+)/.exec(out)![1];
    const id = /Key ID: +(\S+)/.exec(out)![1];
    match(key, /^dsk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    const added = await timed(async () => await status(t, key) === 200);
    ok(added < 2000, `key add took ${added} ms to take effect`);

    const custom = "a-custom-key-for-the-ci-0123456789";
    const json = JSON.parse(
      await ok0(["key", "add", "-d", db, "-r", "reader", "-k", custom, "--json"]),
    );
    deepEqual([json.key, json.role, json.expires_at], [custom, "reader", null]);

    const listed = [
      await ok0(["key", "list", "-d", db]),
      await ok0(["key", "list", "-d", db, "--json"]),
      await ok0(["info", "-d", db]),
      await ok0(["role", "list", "-d", db]),
    ].join("\n");
    match(listed, new RegExp(`${id} +admin +active .* ${expires} +ci key`));
    const rows = JSON.parse(await ok0(["key", "list", "-d", db, "--json"]));
    deepEqual(Object.keys(rows[0]).sort(), [
      "created_at",
      "description",
      "expires_at",
      "key_id",
      "role",
      "status",
    ]);
    for (const secret of [key, key.slice(13), hashKey(key), custom, hashKey(custom)]) {
      ok(!listed.includes(secret), "a listing shows a key or digest");
    }
    // The reference's --show-keys cannot work on digests: a clear refusal, not a listing.
    const show = await auth(["key", "list", "-d", db, "--show-keys"]);
    equal(show.code, 1);
    equal(show.stdout, "");
    match(show.stderr, /^duckserve: auth key list: keys are stored only as SHA-256 digests/);

    match(await ok0(["key", "remove", "-d", db, "-k", id]), new RegExp(`Removed key ${id}`));
    const revoked = await timed(async () => await status(t, key) === 401);
    ok(revoked < 2000, `key remove took ${revoked} ms to take effect`);
    await ok0(["key", "remove", "-d", db, "-k", custom]);
    const gone = await auth(["key", "remove", "-d", db, "-k", id]);
    equal(gone.code, 1);
    match(gone.stderr, /^duckserve: auth key remove: no such key/);
    ok(!t.logs.join("\n").includes(key), "a key was logged");
  });
});

Deno.test("auth key add -e: the key stops working when it expires", async () => {
  await withStore(async (db) => {
    await ok0(["init", "-d", db]);
    await using t = await startTestServer({ auth_enabled: "true", auth_database_path: db });
    const expires = new Date(Date.now() + 4000).toISOString();
    const out = await ok0(["key", "add", "-d", db, "-r", "reader", "-e", expires, "--json"]);
    const { key } = JSON.parse(out);
    ok(
      await eventually(async () =>
        (await t.request("/x", { headers: { "x-api-key": key } })).status === 404
      ),
    );
    ok(
      await eventually(
        async () => (await t.request("/x", { headers: { "x-api-key": key } })).status === 401,
        6000,
      ),
    );
    match(await ok0(["key", "list", "-d", db]), /expired/);
  });
});

Deno.test("auth role and permission verbs change what a running server allows", async () => {
  await withStore(async (db) => {
    await ok0(["init", "-d", db]);
    await using t = await startTestServer({ auth_enabled: "true", auth_database_path: db });
    const admin = JSON.parse(await ok0(["key", "add", "-d", db, "-r", "admin", "--json"])).key;
    ok(await eventually(async () => await status(t, admin) === 200));
    await t.query(
      "CREATE TABLE reports AS SELECT 1 AS id; CREATE TABLE secret AS SELECT 'x' AS s",
      [],
      { "x-api-key": admin },
    );

    match(
      await ok0(["role", "add", "-d", db, "-n", "analyst", "--desc", "Data analyst"]),
      /Added role analyst/,
    );
    match(
      await ok0(["permission", "add", "-d", db, "-r", "analyst", "-t", "Reports", "-o", "r,q"]),
      /Granted rq on reports to role analyst/,
    );
    const key = JSON.parse(await ok0(["key", "add", "-d", db, "-r", "analyst", "--json"])).key;
    ok(await eventually(async () => await status(t, key, "SELECT * FROM reports") === 200));
    equal(await status(t, key, "SELECT * FROM secret"), 403);

    await ok0(["perm", "add", "-d", db, "-r", "analyst", "-t", "secret", "-o", "read,query"]);
    const granted = await timed(async () => await status(t, key, "SELECT * FROM secret") === 200);
    const table = await ok0(["permission", "list", "-d", db, "-r", "analyst"]);
    match(table, /^ROLE +TABLE +CREATE +READ +UPDATE +DELETE +QUERY\n/);
    match(table, /analyst +reports +- +yes +- +- +yes/);
    match(table, /analyst +secret +- +yes +- +- +yes/);
    ok(!table.includes("admin"));

    match(
      await ok0(["permission", "remove", "-d", db, "-r", "analyst", "-t", "secret"]),
      /Removed/,
    );
    const removed = await timed(async () => await status(t, key, "SELECT * FROM secret") === 403);

    const refused = await auth(["role", "remove", "-d", db, "-n", "analyst"]);
    equal(refused.code, 1);
    match(
      refused.stderr,
      /^duckserve: auth role remove: role "analyst" still has 1 key\(s\) and 1 permission\(s\); remove them first or use --force\n$/,
    );
    match(
      await ok0(["role", "remove", "-d", db, "-n", "analyst", "--force"]),
      /with 1 key\(s\) and 1 permission\(s\)/,
    );
    const dropped = await timed(async () => await status(t, key, "SELECT * FROM reports") === 401);
    for (const ms of [granted, removed, dropped]) ok(ms < 2000, `took ${ms} ms`);

    const info = JSON.parse(await ok0(["info", "-d", db, "--json"]));
    deepEqual(
      [info.roles, info.keys, info.active_keys, info.permissions],
      [3, 1, 1, 3],
    );
    match(await ok0(["info", "-d", db]), /Roles: +3\nKeys: +1 \(1 active, 0 expired, 0 inactive\)/);
  });
});

Deno.test("every auth verb has --help; bad input gives one error line and a non-zero exit", async () => {
  const verbs = [
    [],
    ["init"],
    ["key"],
    ["key", "add"],
    ["key", "remove"],
    ["key", "list"],
    ["role"],
    ["role", "add"],
    ["role", "remove"],
    ["role", "list"],
    ["permission"],
    ["permission", "add"],
    ["permission", "remove"],
    ["permission", "list"],
    ["info"],
  ];
  const helps = await Promise.all(verbs.map((v) => auth([...v, "--help"])));
  for (const [i, run] of helps.entries()) {
    equal(run.code, 0, verbs[i].join(" "));
    match(run.stdout, /^Usage: duckserve auth/, verbs[i].join(" "));
  }
  await withStore(async (db) => {
    await ok0(["init", "-d", db]);
    const errors: [string[], RegExp][] = [
      [["key", "add", "-d", db], /required option '-r, --role <role>' not specified/],
      [["key", "add", "-d", db, "-r", "ghost"], /role "ghost" does not exist/],
      [["key", "add", "-d", db, "-r", "admin", "-k", "too-short"], /at least 24 characters/],
      [["key", "add", "-d", db, "-r", "admin", "-e", "next week"], /RFC 3339/],
      [["key", "add", "-d", db, "-r", "admin", "-e", "2001-01-01T00:00:00Z"], /in the past/],
      [
        ["permission", "add", "-d", db, "-r", "admin", "-t", "x", "-o", "write"],
        /unknown operation/,
      ],
      [["permission", "add", "-d", db, "-r", "admin", "-t", "a.b.c.d", "-o", "r"], /invalid table/],
      [
        ["permission", "remove", "-d", db, "-r", "reader", "-t", "nothing"],
        /no permission on table nothing/,
      ],
      [["permission", "list", "-d", db, "-r", "ghost"], /role "ghost" does not exist/],
      [["role", "add", "-d", db, "-n", "admin"], /already exists/],
      [["role", "add", "-d", db, "-n", "no spaces"], /invalid role name/],
      [
        ["key", "list", "-d", `${db}.missing`],
        /does not exist \(create it with: duckserve auth init/,
      ],
      [["frobnicate"], /unknown command 'frobnicate'/],
    ];
    const runs = await Promise.all(errors.map(([args]) => auth(args)));
    for (const [i, run] of runs.entries()) {
      const [args, pattern] = errors[i];
      ok(run.code !== 0, args.join(" "));
      match(run.stderr, pattern, args.join(" "));
      equal(run.stderr.trimEnd().split("\n").length, 1, `${args.join(" ")}: ${run.stderr}`);
      equal(run.stdout, "", args.join(" "));
    }
  });
});

Deno.test("auth -d defaults to the configured auth_database_path", async () => {
  await withStore(async (db) => {
    const env = { DUCKDB_AUTH_DATABASE_PATH: db };
    await ok0(["init"], env);
    ok((await Deno.stat(db)).isFile);
    match(await ok0(["info"], env), new RegExp(`Auth database: ${db}`));
    // the flag wins over the configuration, before or after the verb
    const other = `${db}.other`;
    await ok0(["-d", other, "init"], env);
    equal(JSON.parse(await ok0(["info", "--json", "-d", other], env)).path, other);
  });
});

Deno.test("auth permission add takes stream:<name or glob> grants, which a running server honours", async () => {
  await withStore(async (db) => {
    await ok0(["init", "-d", db]);
    await using t = await startTestServer({ auth_enabled: "true", auth_database_path: db });
    await ok0(["role", "add", "-d", db, "-n", "producer"]);
    match(
      await ok0([
        "perm",
        "add",
        "-d",
        db,
        "-r",
        "producer",
        "-t",
        "stream:Orders/*",
        "-o",
        "r,c,d",
      ]),
      /Granted crd on stream:Orders\/\* to role producer/,
    );
    const refused = await auth([
      "perm",
      "add",
      "-d",
      db,
      "-r",
      "producer",
      "-t",
      "stream:x",
      "-o",
      "q",
    ]);
    equal(refused.code, 1);
    match(
      refused.stderr,
      /^duckserve: auth permission add: stream grants take r \(read\), c .*\n$/,
    );
    const key = JSON.parse(await ok0(["key", "add", "-d", db, "-r", "producer", "--json"])).key;
    const put = async (path: string) =>
      (await t.stream(path, { method: "PUT", headers: { "x-api-key": key } })).status;
    ok(await eventually(async () => await put("Orders/eu") === 201));
    equal(await put("orders/eu"), 403, "stream grants are case-sensitive");
    equal(await put("Orders/eu/2024"), 403);
    match(
      await ok0(["permission", "list", "-d", db, "-r", "producer"]),
      /producer +stream:Orders\/\* +yes +yes +- +yes +-/,
    );
  });
});
