/**
 * `duckserve auth`: manage API keys, roles and permissions in the auth store, with the verbs and
 * flags of the reference module's `auth-db` tool. Works while the server runs: each command opens
 * the store for one short transaction, and the server picks the change up within a second.
 *
 * Every verb takes `-d, --db PATH` (default: the configured `auth_database_path`) and `--help`;
 * lists print a table or, with `--json`, JSON. Errors print one line and exit non-zero. No verb
 * ever prints a key except `key add`, once, for the key it creates.
 * @module
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { FileLockedError } from "../lib/db/file.ts";
import { keyStatus, parseExpiry } from "../lib/auth/keys.ts";
import { importReferenceAuth } from "../lib/auth/import.ts";
import { displayTable } from "../lib/auth/policy.ts";
import { AuthInputError, formatOperations, parseOperations } from "../lib/permissions.ts";
import {
  addKey,
  addRole,
  type AuthData,
  AuthStoreError,
  DEFAULT_LOCK_WAIT_MS,
  initAuthFile,
  readAuthData,
  removeKey,
  removePermission,
  removeRole,
  requireAuthFile,
  type RoleLimit,
  setPermission,
  setRoleLimit,
} from "../lib/auth/store.ts";
import { createCommand, parseCommand, printError } from "./_program.ts";

/** Help text of `auth`. */
export const AUTH_HELP = "Manage API keys, roles and permissions in the auth database. " +
  "Safe while the server runs: changes take effect in the running server within a second.";

const DB_FLAG = "-d, --db <path>";
const DB_HELP = "auth database file (default: the configured auth_database_path)";

type Options = Record<string, string | boolean | undefined>;

/** How the verbs are declared: an action wrapper and a subcommand with `--db`. */
interface Verbs {
  /** Wraps a verb: resolves the database path, maps known errors to one line and exit 1. */
  verb(
    name: string,
    work: (options: Options, db: string) => Promise<void>,
  ): (options: Options, command: Command) => Promise<void>;
  /** Adds the subcommand `name` to `parent`, with `--db` and no extra arguments. */
  leaf(parent: Command, name: string, description: string): Command;
}

/** Runs `auth` with `args`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let exitCode = 0;
  const program = createCommand("duckserve auth")
    .description(AUTH_HELP)
    .option(DB_FLAG, DB_HELP);
  const verbs: Verbs = {
    verb: (name, work) => async (options, command) => {
      try {
        const db = await databasePath(command.optsWithGlobals<Options>().db as string | undefined);
        await work(options, db);
      } catch (err) {
        exitCode = report(name, err);
      }
    },
    leaf: (parent, name, description) =>
      parent.command(name).description(description).option(DB_FLAG, DB_HELP).allowExcessArguments(
        false,
      ),
  };
  addInitVerb(program, verbs);
  addKeyVerbs(program, verbs);
  addRoleVerbs(program, verbs);
  addPermissionVerbs(program, verbs);
  addImportVerb(program, verbs);
  addInfoVerb(program, verbs);
  const early = await parseCommand(program, args);
  if (early !== null) return early;
  return exitCode;
}

/** `auth init`. */
function addInitVerb(program: Command, { verb, leaf }: Verbs): void {
  leaf(program, "init", "create a new auth database with the roles admin, editor and reader")
    .option(
      "--with-defaults [bool]",
      "create the default roles and grants (true or false, as in the reference CLI)",
      parseFlagBool,
      true,
    )
    .option(
      "--no-defaults",
      "create the schema only, with no roles (same as --with-defaults=false)",
    )
    .action(verb("init", async (o, db) => {
      const defaults = o.withDefaults !== false && o.defaults !== false;
      await initAuthFile(db, { defaults, lockWaitMs: DEFAULT_LOCK_WAIT_MS });
      print(
        defaults
          ? `Created auth database ${db} with the roles admin, editor and reader.\n` +
            `Add a key with: duckserve auth key add -d ${db} -r admin`
          : `Created auth database ${db} with no roles.\n` +
            `Add one with: duckserve auth role add -d ${db} -n NAME`,
      );
    }));
}

/** `auth key add|remove|list`. */
function addKeyVerbs(program: Command, { verb, leaf }: Verbs): void {
  const key = program.command("key").description("manage API keys");
  leaf(key, "add", "create an API key for a role and print it (once)")
    .requiredOption("-r, --role <role>", "role of the key")
    .option("-k, --key <key>", "use this key instead of a generated one (at least 24 characters)")
    .option("-e, --expires <time>", "expiry as an RFC 3339 timestamp, e.g. 2030-12-31T23:59:59Z")
    .option("--desc <text>", "description")
    .option("--json", "print the new key as JSON")
    .action(verb("key add", async (o, db) => {
      const created = await addKey(db, {
        role: o.role as string,
        key: o.key as string | undefined,
        expiresAt: o.expires === undefined ? null : parseExpiry(o.expires as string),
        description: o.desc as string | undefined,
      });
      if (o.json) {
        printJson({
          key: created.key,
          key_id: created.keyId,
          role: created.role,
          description: created.description,
          expires_at: iso(created.expiresAt),
        });
        return;
      }
      print(
        "API key created. Store it now: it will not be shown again.\n" +
          `API Key: ${created.key}\n` +
          `Key ID:  ${created.keyId}\n` +
          `Role:    ${created.role}\n` +
          `Expires: ${iso(created.expiresAt) ?? "never"}\n` +
          "Send it in the header X-API-Key: <key> (or Authorization: Bearer <key>).",
      );
    }));
  leaf(key, "remove", "delete an API key, named by the key or by its key id")
    .requiredOption("-k, --key <key|id>", "the key, or its key id from `key list`")
    .action(verb("key remove", async (o, db) => {
      const removed = await removeKey(db, o.key as string);
      print(`Removed key ${removed.keyId} (role ${removed.role}).`);
    }));
  leaf(key, "list", "list API keys (ids, roles, status; never the keys)")
    .option("--json", "print JSON")
    .addOption(new Option("--show-keys").hideHelp())
    .action(verb("key list", listKeys));
}

/** `auth key list`: ids, roles and status, never the keys. */
async function listKeys(o: Options, db: string): Promise<void> {
  if (o.showKeys) {
    throw new AuthInputError(
      "keys are stored only as SHA-256 digests and cannot be shown; " +
        "remove a key by its key id and add a new one instead",
    );
  }
  const data = await readStore(db);
  const now = Date.now();
  const rows = data.keys.map((k) => ({
    key_id: k.keyId,
    role: k.role,
    status: keyStatus(k, now),
    created_at: iso(k.createdAt),
    expires_at: iso(k.expiresAt),
    description: k.description,
  }));
  if (o.json) return printJson(rows);
  printTable(
    ["KEY ID", "ROLE", "STATUS", "CREATED", "EXPIRES", "DESCRIPTION"],
    rows.map((r) => [
      r.key_id,
      r.role,
      r.status,
      r.created_at ?? "",
      r.expires_at ?? "never",
      r.description ?? "",
    ]),
  );
}

/** The rate limit of `--rate` and `--burst` (null for none or `--rate off`). */
function limitOf(o: Options): RoleLimit | null {
  const burst = o.burst === undefined ? null : Number(o.burst);
  if (o.rate === undefined || o.rate === "off") {
    if (burst !== null) throw new AuthInputError("--burst needs --rate");
    return null;
  }
  return { rate: String(o.rate), burst };
}

function describeLimit(limit: RoleLimit | null): string {
  if (!limit) return "no rate limit";
  return `a rate limit of ${limit.rate} per key` + (limit.burst ? ` (burst ${limit.burst})` : "");
}

/** `auth role add|set|remove|list`. */
function addRoleVerbs(program: Command, { verb, leaf }: Verbs): void {
  const role = program.command("role").description("manage roles");
  leaf(role, "add", "create a role (it has no permissions until granted)")
    .requiredOption("-n, --name <name>", "role name (letters, digits, _ . -)")
    .option("--desc <text>", "description")
    .option("--rate <rate>", "requests per key of this role (50/s, 600/m); default: no limit")
    .option("--burst <n>", "requests a key may make at once (default: one second's worth)")
    .action(verb("role add", async (o, db) => {
      const limit = limitOf(o);
      await addRole(db, o.name as string, o.desc as string | undefined, limit);
      print(`Added role ${o.name}${limit ? ` with ${describeLimit(limit)}` : ""}.`);
    }));
  leaf(role, "set", "change a role's rate limit (running servers apply it within a second)")
    .requiredOption("-n, --name <name>", "role name")
    .requiredOption("--rate <rate>", "requests per key (50/s, 600/m), or off")
    .option("--burst <n>", "requests a key may make at once (default: one second's worth)")
    .action(verb("role set", async (o, db) => {
      const limit = limitOf(o);
      await setRoleLimit(db, o.name as string, limit);
      print(`Role ${o.name} now has ${describeLimit(limit)}.`);
    }));
  leaf(role, "remove", "delete a role")
    .requiredOption("-n, --name <name>", "role name")
    .option("-f, --force", "also delete the role's keys and permissions")
    .action(verb("role remove", async (o, db) => {
      const removed = await removeRole(db, o.name as string, Boolean(o.force));
      print(
        `Removed role ${o.name}` +
          (removed.keys || removed.permissions
            ? ` with ${removed.keys} key(s) and ${removed.permissions} permission(s).`
            : "."),
      );
    }));
  leaf(role, "list", "list roles")
    .option("--json", "print JSON")
    .action(verb("role list", async (o, db) => {
      const data = await readStore(db);
      const rows = data.roles.map((r) => ({
        role: r.name,
        description: r.description,
        keys: data.keys.filter((k) => k.role === r.name).length,
        permissions: data.permissions.filter((p) => p.role === r.name).length,
        rate_limit: r.rateLimit ?? null,
        rate_burst: r.rateLimit ? r.rateBurst ?? null : null,
      }));
      if (o.json) return printJson(rows);
      printTable(
        ["ROLE", "KEYS", "PERMISSIONS", "RATE", "BURST", "DESCRIPTION"],
        rows.map((r) => [
          r.role,
          String(r.keys),
          String(r.permissions),
          r.rate_limit ?? "-",
          r.rate_limit ? String(r.rate_burst ?? "auto") : "-",
          r.description ?? "",
        ]),
      );
    }));
}

/** `auth permission add|remove|list` (alias `perm`). */
function addPermissionVerbs(program: Command, { verb, leaf }: Verbs): void {
  const permission = program.command("permission").alias("perm").description(
    "manage permissions (operations of a role on a table)",
  );
  leaf(permission, "add", "grant operations on a table to a role (replaces its earlier grant)")
    .requiredOption("-r, --role <role>", "role")
    .requiredOption(
      "-t, --table <table>",
      "table name, schema.table, * for every table, or stream:<name or glob> (r, c, d only)",
    )
    .requiredOption(
      "-o, --operations <ops>",
      "operations: letters of crudq (c create, r read, u update, d delete, q query), " +
        "comma-separated (r,q), words (read,query) or all",
    )
    .action(verb("permission add", async (o, db) => {
      const grant = await setPermission(
        db,
        o.role as string,
        o.table as string,
        parseOperations(o.operations as string),
      );
      print(
        `Granted ${formatOperations(grant.operations)} on ${
          displayTable(grant.table)
        } to role ${grant.role}.`,
      );
    }));
  leaf(permission, "remove", "remove a role's grant on a table")
    .requiredOption("-r, --role <role>", "role")
    .requiredOption("-t, --table <table>", "table name, schema.table, *, or stream:<glob>")
    .action(verb("permission remove", async (o, db) => {
      await removePermission(db, o.role as string, o.table as string);
      print(`Removed the permission of role ${o.role} on ${o.table}.`);
    }));
  leaf(permission, "list", "list permissions")
    .option("-r, --role <role>", "only this role")
    .option("--json", "print JSON")
    .action(verb("permission list", listPermissions));
}

/** `auth permission list`, of one role with `--role`. */
async function listPermissions(o: Options, db: string): Promise<void> {
  const data = await readStore(db);
  if (o.role !== undefined && !data.roles.some((r) => r.name === o.role)) {
    throw new AuthInputError(`role "${o.role}" does not exist`);
  }
  const rows = data.permissions.filter((p) => o.role === undefined || p.role === o.role)
    .map((p) => ({
      role: p.role,
      table: displayTable(p.table),
      operations: formatOperations(p.operations),
      create: p.operations.includes("c"),
      read: p.operations.includes("r"),
      update: p.operations.includes("u"),
      delete: p.operations.includes("d"),
      query: p.operations.includes("q"),
    }));
  if (o.json) return printJson(rows);
  const yes = (b: boolean) => (b ? "yes" : "-");
  printTable(
    ["ROLE", "TABLE", "CREATE", "READ", "UPDATE", "DELETE", "QUERY"],
    rows.map((r) => [
      r.role,
      r.table,
      yes(r.create),
      yes(r.read),
      yes(r.update),
      yes(r.delete),
      yes(r.query),
    ]),
  );
}

/** `auth import`: a caddy-duckdb-module auth database, keys hashed on the way in. */
function addImportVerb(program: Command, { verb, leaf }: Verbs): void {
  leaf(
    program,
    "import",
    "import the roles, grants and keys of a caddy-duckdb-module auth database (keys are hashed)",
  )
    .requiredOption("--from <path>", "the reference's auth database (stop its server first)")
    .option(
      "--allow-widening",
      "import per-table rows that denied what the role's * row allows (duckserve has no denials)",
    )
    .option("--json", "print JSON")
    .action(verb("import", async (o, db) => {
      const from = o.from as string;
      const report = await importReferenceAuth(from, db, {
        allowWidening: Boolean(o.allowWidening),
      });
      for (const warning of report.warnings) printError(`auth import: warning: ${warning}`);
      if (o.json) return printJson({ from, to: db, ...report });
      print(
        `Imported ${from} into ${db}${report.created ? " (created)" : ""}: ` +
          `${report.rolesAdded} new role(s), ${report.permissionsSet} grant(s), ` +
          `${report.keysAdded} new key(s)` +
          (report.keysPresent ? `, ${report.keysPresent} key(s) already present` : "") + ".\n" +
          "The keys work as before and are stored hashed; the reference file still holds them " +
          "in plain text: delete it once every client uses duckserve.",
      );
    }));
}

/** `auth info`. */
function addInfoVerb(program: Command, { verb, leaf }: Verbs): void {
  leaf(program, "info", "show what the auth database holds")
    .option("--json", "print JSON")
    .action(verb("info", async (o, db) => {
      const data = await readStore(db);
      const now = Date.now();
      const count = (status: string) =>
        data.keys.filter((k) => keyStatus(k, now) === status).length;
      const info = {
        path: db,
        roles: data.roles.length,
        keys: data.keys.length,
        active_keys: count("active"),
        expired_keys: count("expired"),
        inactive_keys: count("inactive"),
        permissions: data.permissions.length,
      };
      if (o.json) return printJson(info);
      print(
        `Auth database: ${info.path}\n` +
          `Roles:         ${info.roles}\n` +
          `Keys:          ${info.keys} (${info.active_keys} active, ${info.expired_keys} expired, ` +
          `${info.inactive_keys} inactive)\n` +
          `Permissions:   ${info.permissions}`,
      );
    }));
}

async function databasePath(flag: string | undefined): Promise<string> {
  if (flag !== undefined && flag !== "") return flag;
  return (await loadConfig()).auth_database_path;
}

async function readStore(db: string): Promise<AuthData> {
  await requireAuthFile(db);
  return await readAuthData(db, DEFAULT_LOCK_WAIT_MS);
}

function report(verb: string, err: unknown): number {
  if (err instanceof ConfigError) {
    printError(`auth ${verb}: ${err.message}`);
    return 2;
  }
  if (
    err instanceof AuthInputError || err instanceof AuthStoreError ||
    err instanceof FileLockedError
  ) {
    printError(`auth ${verb}: ${err.message}`);
    return 1;
  }
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  printError(`auth ${verb}: ${message}`);
  return 1;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function print(text: string): void {
  console.log(text);
}

function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Prints rows as an aligned text table with a header (or a note when there are none). */
function printTable(header: string[], rows: string[][]): void {
  if (rows.length === 0) {
    console.log("(none)");
    return;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  console.log([line(header), ...rows.map(line)].join("\n"));
}

/** `--with-defaults` takes no value (true) or true/false, yes/no, 1/0. */
function parseFlagBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["true", "yes", "1"].includes(v)) return true;
  if (["false", "no", "0"].includes(v)) return false;
  throw new InvalidArgumentError("expected true or false");
}
