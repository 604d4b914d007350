import { deepEqual, equal, match, ok } from "node:assert/strict";
import { withDatabaseFile } from "../../lib/db/file.ts";
import { runDeno, startTestServer, type TestServer } from "../_helpers.ts";

/** Runs `deno run -A main.ts auth ...args` like a user would. */
const auth = (args: string[]) =>
  runDeno(["run", "-A", "main.ts", "auth", ...args], { NO_COLOR: "1" });

/** The reference module's auth schema (caddy-duckdb-module `auth-db init`), keys in plain text. */
const REFERENCE_SCHEMA = [
  "CREATE TABLE roles (role_name VARCHAR PRIMARY KEY, description VARCHAR)",
  `CREATE TABLE api_keys (key VARCHAR PRIMARY KEY,
     role_name VARCHAR NOT NULL REFERENCES roles(role_name),
     created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, expires_at TIMESTAMP,
     is_active BOOLEAN DEFAULT true)`,
  "CREATE SEQUENCE permissions_id_seq",
  `CREATE TABLE permissions (id INTEGER PRIMARY KEY DEFAULT nextval('permissions_id_seq'),
     role_name VARCHAR NOT NULL REFERENCES roles(role_name), table_name VARCHAR NOT NULL,
     can_create BOOLEAN DEFAULT false, can_read BOOLEAN DEFAULT false,
     can_update BOOLEAN DEFAULT false, can_delete BOOLEAN DEFAULT false,
     can_query BOOLEAN DEFAULT false, UNIQUE (role_name, table_name))`,
];

/** Keys of the reference file (a generated one is 44 characters of base64url with padding). */
const KEYS = {
  admin: "q4Jr7m2Xz0bVt9Lw1sKc8YhPnE3uGf6DaR5oTiQyWlM=",
  reader: "short-reader-key", // 16 characters: accepted with a warning
  analyst: "analyst-key-0123456789-abcdef",
  expired: "expired-editor-key-0123456789",
  inactive: "inactive-admin-key-0123456789",
};

type Grant = [
  role: string,
  table: string,
  c: boolean,
  r: boolean,
  u: boolean,
  d: boolean,
  q: boolean,
];

/** Writes a reference-shaped auth database with `roles`, `grants` and `keys`. */
async function writeReference(
  path: string,
  roles: string[],
  grants: Grant[],
  keys: [key: string, role: string, expires: string | null, active: boolean][],
): Promise<void> {
  await withDatabaseFile(path, { readOnly: false }, async (db) => {
    for (const sql of REFERENCE_SCHEMA) await db.run(sql);
    for (const role of roles) {
      await db.run("INSERT INTO roles VALUES (?, ?)", [role, `the ${role} role`]);
    }
    for (const g of grants) {
      await db.run(
        `INSERT INTO permissions (role_name, table_name, can_create, can_read, can_update,
           can_delete, can_query) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        g,
      );
    }
    for (const [key, role, expires, active] of keys) {
      await db.run(
        "INSERT INTO api_keys (key, role_name, expires_at, is_active) VALUES (?, ?, ?::TIMESTAMP, ?)",
        [key, role, expires, active],
      );
    }
  });
}

/** The reference's default roles and grants, plus `analyst` with a (dead) per-table query. */
const DEFAULT_GRANTS: Grant[] = [
  ["admin", "*", true, true, true, true, true],
  ["editor", "*", true, true, true, true, false],
  ["reader", "*", false, true, false, false, false],
  ["analyst", "reports", false, true, false, false, true],
];

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-import-test-" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function status(t: TestServer, key: string, path: string, init?: RequestInit) {
  const headers = { "x-api-key": key, "content-type": "application/json" };
  return (await t.request(path, { ...init, headers })).status;
}

Deno.test("auth import moves a reference auth database: keys hashed, roles and grants kept", async () => {
  await withDir(async (dir) => {
    const ref = `${dir}/auth.db`;
    await writeReference(ref, ["admin", "editor", "reader", "analyst"], DEFAULT_GRANTS, [
      [KEYS.admin, "admin", null, true],
      [KEYS.reader, "reader", null, true],
      [KEYS.analyst, "analyst", "2999-01-01 00:00:00", true],
      [KEYS.expired, "editor", "2001-01-01 00:00:00", true],
      [KEYS.inactive, "admin", null, false],
    ]);
    const target = `${dir}/new/auth.duckdb`;
    const run = await auth(["import", "--from", ref, "-d", target]);
    equal(run.code, 0, run.stderr);
    match(
      run.stdout,
      /^Imported .*auth\.db into .*auth\.duckdb \(created\): 4 new role\(s\), 4 grant\(s\), 5 new key\(s\)\./,
    );
    const warnings = run.stderr.trim().split("\n");
    equal(warnings.length, 2, run.stderr);
    match(
      warnings[0],
      /^duckserve: auth import: warning: role analyst: query on table reports granted nothing/,
    );
    match(
      warnings[1],
      /^duckserve: auth import: warning: key 2 \(role reader, new key id [a-z0-9]{8}\) is only 16 characters/,
    );
    for (const key of Object.values(KEYS)) {
      ok(!run.stdout.includes(key) && !run.stderr.includes(key));
    }

    // The new file holds digests only.
    const bytes = new TextDecoder("latin1").decode(await Deno.readFile(target));
    for (const key of Object.values(KEYS)) {
      ok(!bytes.includes(key), "no plain-text key in the store");
    }
    const perms = JSON.parse((await auth(["permission", "list", "-d", target, "--json"])).stdout);
    deepEqual(
      perms.map((p: { role: string; table: string; operations: string }) =>
        `${p.role} ${p.table} ${p.operations}`
      ),
      ["admin * crudq", "analyst reports r", "editor * crud", "reader * r"],
    );
    const keys = JSON.parse((await auth(["key", "list", "-d", target, "--json"])).stdout);
    deepEqual(
      keys.map((k: { role: string; status: string }) => `${k.role} ${k.status}`).sort(),
      ["admin active", "admin inactive", "analyst active", "editor expired", "reader active"],
    );
    equal(
      keys.find((k: { role: string }) => k.role === "analyst").expires_at,
      "2999-01-01T00:00:00Z",
    );

    // A server on the new store lets every imported key do what it did in the reference.
    await using t = await startTestServer({ auth_enabled: "true", auth_database_path: target });
    const sql = (text: string) => ({ method: "POST", body: JSON.stringify({ sql: text }) });
    equal(await status(t, KEYS.admin, "/query", sql("CREATE TABLE reports AS SELECT 1 AS n")), 200);
    equal(await status(t, KEYS.reader, "/api/reports"), 200);
    equal(await status(t, KEYS.reader, "/query", sql("SELECT 1")), 403);
    equal(await status(t, KEYS.analyst, "/api/reports"), 200);
    equal(await status(t, KEYS.analyst, "/query", sql("SELECT n FROM reports")), 403);
    equal(await status(t, KEYS.expired, "/api/reports"), 401);
    equal(await status(t, KEYS.inactive, "/api/reports"), 401);

    // Running it again changes nothing.
    const again = await auth(["import", "--from", ref, "-d", target]);
    equal(again.code, 0, again.stderr);
    match(
      again.stdout,
      /: 0 new role\(s\), 4 grant\(s\), 0 new key\(s\), 5 key\(s\) already present\./,
    );
  });
});

Deno.test("auth import refuses a per-table denial unless --allow-widening, and writes nothing", async () => {
  await withDir(async (dir) => {
    const ref = `${dir}/auth.db`;
    await writeReference(ref, ["clerk"], [
      ["clerk", "*", true, true, true, true, false],
      ["clerk", "salaries", false, true, false, false, false], // read only: a denial there
    ], [["clerk-key-0123456789-abcdefgh", "clerk", null, true]]);
    const target = `${dir}/auth.duckdb`;
    const refused = await auth(["import", "--from", ref, "-d", target]);
    equal(refused.code, 1);
    match(
      refused.stderr,
      /^duckserve: auth import: nothing imported: 1 problem\(s\): role clerk: the row for table salaries denied cud .* rerun with --allow-widening to accept\n$/,
    );
    ok(!await Deno.stat(target).then(() => true, () => false), "no store was created");

    const widened = await auth(["import", "--from", ref, "-d", target, "--allow-widening"]);
    equal(widened.code, 0, widened.stderr);
    match(
      widened.stderr,
      /warning: role clerk: the row for table salaries denied cud .* imported anyway/,
    );
    const perms = JSON.parse((await auth(["permission", "list", "-d", target, "--json"])).stdout);
    deepEqual(
      perms.map((p: { table: string; operations: string }) => `${p.table} ${p.operations}`),
      [
        "* crud",
        "salaries r",
      ],
    );
  });
});

Deno.test("auth import explains what it cannot read", async () => {
  await withDir(async (dir) => {
    const missing = await auth(["import", "--from", `${dir}/none.db`, "-d", `${dir}/a.duckdb`]);
    equal(missing.code, 1);
    match(missing.stderr, /^duckserve: auth import: .*none\.db does not exist\n$/);
    const ours = `${dir}/ours.duckdb`;
    equal((await auth(["init", "-d", ours])).code, 0);
    const same = await auth(["import", "--from", ours, "-d", `${dir}/b.duckdb`]);
    equal(same.code, 1);
    match(same.stderr, /ours\.duckdb is already a duckserve auth database/);
    const other = `${dir}/other.db`;
    await withDatabaseFile(other, { readOnly: false }, (db) => db.run("CREATE TABLE t (i INT)"));
    const wrong = await auth(["import", "--from", other, "-d", `${dir}/c.duckdb`]);
    equal(wrong.code, 1);
    match(wrong.stderr, /other\.db is not a caddy-duckdb-module auth database \(no /);
  });
});
