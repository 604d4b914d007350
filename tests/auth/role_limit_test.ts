import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { withDatabaseFile } from "../../lib/db/file.ts";
import {
  addKey,
  addRole,
  initAuthFile,
  readAuthData,
  SCHEMA_VERSION,
  setRoleLimit,
} from "../../lib/auth/store.ts";
import { buildSnapshot } from "../../lib/auth/snapshot.ts";
import { runDeno } from "../_helpers.ts";

async function withStore(work: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await work(`${dir}/auth.duckdb`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("role rate limits are stored, validated and carried by principals", async () => {
  await withStore(async (path) => {
    await initAuthFile(path);
    await addRole(path, "metered", null, { rate: "50/s", burst: 100 });
    await addRole(path, "slow", null, { rate: "6/m", burst: null });
    await rejects(addRole(path, "bad", null, { rate: "fast", burst: null }), /invalid rate "fast"/);
    await rejects(setRoleLimit(path, "slow", { rate: "1/s", burst: 0 }), /invalid burst 0/);
    await rejects(setRoleLimit(path, "missing", null), /does not exist/);
    const { keyId } = await addKey(path, { role: "metered" });
    const data = await readAuthData(path);
    const byName = Object.fromEntries(data.roles.map((r) => [r.name, [r.rateLimit, r.rateBurst]]));
    deepEqual(byName.metered, ["50/s", 100]);
    deepEqual(byName.slow, ["6/m", null]);
    deepEqual(byName.admin, [null, null]);
    const snapshot = buildSnapshot(data);
    const principal = [...snapshot.keys.values()].find((k) => k.principal.keyId === keyId)!;
    deepEqual(principal.principal.rateLimit, { rate: 50, burst: 100 });
  });
});

Deno.test("a version 1 auth store is read without limits and upgraded by the first write", async () => {
  await withStore(async (path) => {
    await initAuthFile(path);
    // Make it a version 1 store, as duckserve before rate limits wrote it.
    await withDatabaseFile(path, { readOnly: false }, async (db) => {
      await db.run("ALTER TABLE roles DROP COLUMN rate_limit");
      await db.run("ALTER TABLE roles DROP COLUMN rate_burst");
      await db.run("UPDATE duckserve_meta SET value = '1' WHERE key = 'schema_version'");
    });
    const before = await readAuthData(path);
    equal(before.roles.length, 3);
    equal(before.roles[0].rateLimit, null);
    await setRoleLimit(path, "reader", { rate: "10/s", burst: 20 });
    const after = await readAuthData(path);
    deepEqual(after.roles.find((r) => r.name === "reader")!.rateLimit, "10/s");
    const version = await withDatabaseFile(
      path,
      { readOnly: true },
      (db) => db.all("SELECT value FROM duckserve_meta WHERE key = 'schema_version'"),
    );
    equal(Number(version[0].value), SCHEMA_VERSION);
  });
});

Deno.test("auth role add --rate/--burst, role set and role list", async () => {
  await withStore(async (path) => {
    const auth = (...args: string[]) => runDeno(["run", "-A", "main.ts", "auth", ...args]);
    equal((await auth("init", "-d", path)).code, 0);
    const added = await auth(
      "role",
      "add",
      "-d",
      path,
      "-n",
      "api",
      "--rate",
      "50/s",
      "--burst",
      "100",
    );
    equal(added.code, 0, added.stderr);
    match(added.stdout, /rate limit of 50\/s per key \(burst 100\)/);
    equal((await auth("role", "set", "-d", path, "-n", "reader", "--rate", "10/m")).code, 0);
    const listed = await auth("role", "list", "-d", path, "--json");
    const rows = JSON.parse(listed.stdout);
    deepEqual(
      rows.map((r: Record<string, unknown>) => [r.role, r.rate_limit, r.rate_burst]),
      [["admin", null, null], ["api", "50/s", 100], ["editor", null, null], [
        "reader",
        "10/m",
        null,
      ]],
    );
    const table = await auth("role", "list", "-d", path);
    match(table.stdout, /RATE\s+BURST/);
    match(table.stdout, /api\s+0\s+0\s+50\/s\s+100/);
    equal((await auth("role", "set", "-d", path, "-n", "api", "--rate", "off")).code, 0);
    const cleared = JSON.parse((await auth("role", "list", "-d", path, "--json")).stdout);
    equal(cleared[1].rate_limit, null);
    const bad = await auth("role", "set", "-d", path, "-n", "api", "--rate", "quick");
    equal(bad.code, 1);
    match(bad.stderr, /invalid rate "quick"/);
  });
});
