import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { hashKey } from "../../lib/auth/keys.ts";
import { AuthInputError } from "../../lib/permissions.ts";
import {
  addKey,
  addRole,
  AuthStoreError,
  initAuthFile,
  readAuthData,
  removeKey,
  removePermission,
  removeRole,
  setKeyActive,
  setPermission,
} from "../../lib/auth/store.ts";

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-store-test-" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("initAuthFile() creates the default roles, private to the owner, once", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/nested/dirs/auth.duckdb`;
    await initAuthFile(path);
    const data = await readAuthData(path);
    deepEqual(data.roles.map((r) => r.name), ["admin", "editor", "reader"]);
    deepEqual(
      data.permissions.map((p) => [p.role, p.table, p.operations.join("")]),
      [["admin", "*", "crudq"], ["editor", "*", "crud"], ["reader", "*", "r"]],
    );
    deepEqual(data.keys, []);
    if (Deno.build.os !== "windows") equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await rejects(initAuthFile(path), /already exists/);
  });
});

Deno.test("addKey() stores only a digest and a key id, never the key", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/auth.duckdb`;
    await initAuthFile(path);
    const generated = await addKey(path, { role: "admin", description: "ci" });
    const custom = await addKey(path, { role: "reader", key: "my-custom-key-0123456789abc" });
    const data = await readAuthData(path);
    deepEqual(
      data.keys.map((k) => [k.keyId, k.role, k.hash, k.description, k.active, k.expiresAt]),
      [
        [generated.keyId, "admin", hashKey(generated.key), "ci", true, null],
        [custom.keyId, "reader", hashKey(custom.key), null, true, null],
      ],
    );
    // every value in the file, read back as text, and the raw bytes: no key anywhere
    const instance = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
    const connection = await instance.connect();
    let text = "";
    for (const table of ["roles", "api_keys", "permissions", "duckserve_meta"]) {
      const reader = await connection.runAndReadAll(`SELECT * FROM ${table}`);
      text += JSON.stringify(reader.getRowsJson());
    }
    connection.closeSync();
    instance.closeSync();
    ok(text.includes(hashKey(generated.key)));
    const bytes = new TextDecoder("latin1").decode(await Deno.readFile(path));
    for (const secret of [generated.key, generated.key.slice(13), custom.key]) {
      ok(!text.includes(secret));
      ok(!bytes.includes(secret));
    }
  });
});

Deno.test("addKey() validates role, custom key, expiry and duplicates", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/auth.duckdb`;
    await initAuthFile(path);
    await rejects(addKey(path, { role: "nobody" }), /role "nobody" does not exist/);
    await rejects(addKey(path, { role: "admin", key: "short" }), AuthInputError);
    await rejects(
      addKey(path, { role: "admin", expiresAt: Date.now() - 1000 }),
      /expiry is in the past/,
    );
    await addKey(path, { role: "admin", key: "x".repeat(30) });
    await rejects(addKey(path, { role: "reader", key: "x".repeat(30) }), /already exists/);
    const expiring = await addKey(path, { role: "admin", expiresAt: Date.UTC(2040, 0, 1) });
    equal(expiring.expiresAt, Date.UTC(2040, 0, 1));
    const stored = (await readAuthData(path)).keys.find((k) => k.keyId === expiring.keyId);
    equal(stored?.expiresAt, Date.UTC(2040, 0, 1));
  });
});

Deno.test("removeKey() takes the key or its key id; setKeyActive() flips the flag", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/auth.duckdb`;
    await initAuthFile(path);
    const a = await addKey(path, { role: "admin" });
    const b = await addKey(path, { role: "reader" });
    equal((await removeKey(path, a.key)).keyId, a.keyId);
    await setKeyActive(path, b.keyId, false);
    equal((await readAuthData(path)).keys[0].active, false);
    equal((await removeKey(path, b.keyId)).role, "reader");
    deepEqual((await readAuthData(path)).keys, []);
    await rejects(removeKey(path, b.keyId), /no such key/);
    await rejects(removeKey(path, "not-a-key-at-all-but-long"), /no such key/);
  });
});

Deno.test("setPermission() replaces a role's grant on the same table however it is spelled", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/auth.duckdb`;
    await initAuthFile(path, { defaults: false });
    await addRole(path, "analyst", "Data analyst");
    await rejects(addRole(path, "analyst"), /already exists/);
    await rejects(addRole(path, "bad name"), /invalid role name/);
    await setPermission(path, "analyst", "Reports", ["r"]);
    await setPermission(path, "analyst", "main.REPORTS", ["r", "q"]);
    await setPermission(path, "analyst", "sales.orders", ["c"]);
    deepEqual(
      (await readAuthData(path)).permissions.map((p) => [p.table, p.operations.join("")]),
      [["main.reports", "rq"], ["sales.orders", "c"]],
    );
    await rejects(setPermission(path, "nobody", "t", ["r"]), /does not exist/);
    await rejects(setPermission(path, "analyst", "a.b.c.d", ["r"]), /schema.table/);
    await removePermission(path, "analyst", '"reports"');
    await rejects(removePermission(path, "analyst", "reports"), /no permission on table reports/);
    equal((await readAuthData(path)).permissions.length, 1);
  });
});

Deno.test("setPermission() stores stream grants as written, with r, c and d only", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/auth.duckdb`;
    await initAuthFile(path, { defaults: false });
    await addRole(path, "producer");
    await setPermission(path, "producer", "stream:Orders/*", ["r", "c"]);
    await setPermission(path, "producer", "stream:Orders/*", ["c", "r", "d"]);
    await setPermission(path, "producer", "stream:logs/app.v2", ["r"]);
    await rejects(setPermission(path, "producer", "stream:x", ["q"]), AuthInputError);
    await rejects(setPermission(path, "producer", "stream:a//b", ["r"]), /empty segment/);
    deepEqual(
      (await readAuthData(path)).permissions.map((p) => [p.table, p.operations.join("")]),
      [["stream:Orders/*", "crd"], ["stream:logs/app.v2", "r"]],
    );
    await rejects(removePermission(path, "producer", "stream:orders/*"), /no permission/);
    await removePermission(path, "producer", "stream:Orders/*");
    equal((await readAuthData(path)).permissions.length, 1);
  });
});

Deno.test("removeRole() refuses while keys or grants use the role, unless forced", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/auth.duckdb`;
    await initAuthFile(path);
    await addKey(path, { role: "editor" });
    await rejects(removeRole(path, "editor"), /1 key\(s\) and 1 permission\(s\).*--force/);
    deepEqual(await removeRole(path, "editor", true), { keys: 1, permissions: 1 });
    const data = await readAuthData(path);
    deepEqual(data.roles.map((r) => r.name), ["admin", "reader"]);
    equal(data.keys.length, 0);
    await rejects(removeRole(path, "editor"), /does not exist/);
  });
});

Deno.test("the store refuses files that are not duckserve auth databases", async () => {
  await withDir(async (dir) => {
    await rejects(addRole(`${dir}/missing.duckdb`, "x"), /does not exist.*auth init/);
    const other = `${dir}/other.duckdb`;
    const instance = await DuckDBInstance.create(other);
    const connection = await instance.connect();
    // the reference module's schema, with plaintext keys
    await connection.run("CREATE TABLE roles (role_name VARCHAR PRIMARY KEY, description VARCHAR)");
    await connection.run("CREATE TABLE api_keys (key VARCHAR PRIMARY KEY, role_name VARCHAR)");
    connection.closeSync();
    instance.closeSync();
    await rejects(readAuthData(other), (err: Error) => {
      ok(err instanceof AuthStoreError);
      ok(/caddy-duckdb-module/.test(err.message));
      return true;
    });
  });
});
