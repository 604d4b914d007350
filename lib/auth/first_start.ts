/**
 * The first start of an auth-enabled server without an auth database: create it with the default
 * roles and one `admin` key, and hand that key over once: on stderr (the default), or, with
 * `admin_key_file`, only in a new file of mode `0600` (container logs keep stderr forever), with a
 * line saying where it is.
 * @module
 */

import { dirname } from "node:path";
import type { Logger } from "../log.ts";
import { addKey, DEFAULT_ROLES, initAuthFile } from "./store.ts";

/** Options of {@link createFirstStore}. */
export interface FirstStoreOptions {
  log: Logger;
  /** Receives the announcement text (never logged). */
  announce: (text: string) => void;
  /** Where the admin key goes instead of the announcement (`admin_key_file`), or null. */
  keyFile: string | null;
}

/**
 * Creates the store at `path` with the default roles and an admin key, and hands the key over.
 * When the key file cannot be written, the new store is removed again (nobody would know its
 * key) and the error is thrown.
 */
export async function createFirstStore(path: string, options: FirstStoreOptions): Promise<void> {
  await initAuthFile(path);
  const roles = DEFAULT_ROLES.map((r) => r.name);
  let created;
  try {
    created = await addKey(path, {
      role: "admin",
      description: "created by the first start of duckserve",
    });
    if (options.keyFile !== null) await writeKeyFile(options.keyFile, created.key);
  } catch (err) {
    for (const file of [path, `${path}.wal`]) await Deno.remove(file).catch(() => {});
    throw err;
  }
  options.log.info("auth_database_created", {
    path,
    roles,
    admin_key_id: created.keyId,
    ...(options.keyFile === null ? {} : { admin_key_file: options.keyFile }),
  });
  const head = `duckserve: created the auth database ${path} with the roles ${roles.join(", ")}.\n`;
  options.announce(
    options.keyFile === null
      ? head + `duckserve: admin API key: ${created.key}\n` +
        "duckserve: this key is shown once and will not be shown again; store it now.\n"
      : head + `duckserve: admin API key written to ${options.keyFile} (mode 0600), not shown ` +
        "here; read it, store it, and delete the file.\n",
  );
}

/** Writes `key` to a new file of mode 0600 at `path` (replacing an older one). */
async function writeKeyFile(path: string, key: string): Promise<void> {
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    // A fresh file, so the mode really is 0600 (an existing file would keep its own mode).
    await Deno.remove(path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    await Deno.writeTextFile(path, `${key}\n`, { createNew: true, mode: 0o600 });
  } catch (err) {
    throw new Error(`cannot write admin_key_file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
