/**
 * Attaching the configured databases (`databases`) to the main instance under their names, and
 * detaching them. The engine attaches them at start, before the sandbox closes (a file outside
 * `allowed_directories` cannot be attached afterwards: DuckDB's own file-system check refuses
 * it, and user SQL can never ATTACH or DETACH). A file another process holds is explained in one
 * line: DuckDB lets one process open a database file read-write, and no other process may then
 * open it, not even read-only.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { attachStatement } from "./attach.ts";
 * equal(
 *   attachStatement("sales", { path: "/srv/s.duckdb", access_mode: "read_only", options: {} }),
 *   `ATTACH '/srv/s.duckdb' AS "sales" (READ_ONLY)`,
 * );
 * ```
 * @module
 */

import { dirname } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { DatabaseSpec } from "../config_databases.ts";
import { attachTarget } from "../config_databases.ts";
import { quoteIdentifier, sqlString } from "../sql/mod.ts";
import { isLockError } from "./file.ts";

/** What attaching needs of an entry. */
export type AttachSpec = Pick<DatabaseSpec, "path" | "access_mode" | "options">;

/** A database could not be attached; the message is one line for an operator or a client. */
export class AttachError extends Error {
  override name = "AttachError";
  /** `in_use`: another process holds the file; `refused`: DuckDB refused (sandbox, syntax…). */
  readonly reason: "in_use" | "refused" | "exists";

  constructor(reason: AttachError["reason"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The `ATTACH` statement of `spec` under `name` (options passed through). */
export function attachStatement(name: string, spec: AttachSpec): string {
  const options: string[] = [];
  if (spec.access_mode === "read_only") options.push("READ_ONLY");
  for (const [key, value] of Object.entries(spec.options)) {
    const text = typeof value === "string" ? sqlString(value) : String(value);
    options.push(`${key.toUpperCase()} ${text}`);
  }
  const tail = options.length ? ` (${options.join(", ")})` : "";
  return `ATTACH ${sqlString(spec.path)} AS ${quoteIdentifier(name)}${tail}`;
}

/**
 * Attaches `spec` as `name` on `connection`. A file database's directory is created for a
 * read-write attach; a schema of the main database with the same name is refused (a two-part
 * name would mean either).
 */
export async function attachDatabase(
  connection: DuckDBConnection,
  name: string,
  spec: AttachSpec,
): Promise<void> {
  const schemas = await connection.runAndReadAll(
    "SELECT count(*)::INTEGER FROM duckdb_schemas() " +
      `WHERE database_name = current_database() AND lower(schema_name) = lower(${sqlString(name)})`,
  );
  if (Number(schemas.getRows()[0][0]) > 0) {
    throw new AttachError(
      "exists",
      `databases.${name}: the main database has a schema named ${name}; ` +
        `"${name}.table" would mean either, so choose another name`,
    );
  }
  const file = spec.path !== ":memory:" && !attachTarget(spec.path);
  if (file && spec.access_mode === "read_write") {
    await Deno.mkdir(dirname(spec.path), { recursive: true }).catch(() => {});
  }
  try {
    await connection.run(attachStatement(name, spec));
  } catch (err) {
    throw explainAttach(name, spec, err);
  }
}

/**
 * Detaches the database `name` (checkpointing a writable one first, as closing does); throws
 * {@link AttachError} when DuckDB refuses.
 */
export async function detachDatabase(
  connection: DuckDBConnection,
  name: string,
  writable: boolean,
): Promise<void> {
  if (writable) {
    await connection.run(`CHECKPOINT ${quoteIdentifier(name)}`).catch(() => {});
  }
  try {
    await connection.run(`DETACH ${quoteIdentifier(name)}`);
  } catch (err) {
    const message = String((err as Error)?.message ?? err).split("\n")[0];
    throw new AttachError("refused", `databases.${name}: cannot detach: ${message}`, {
      cause: err,
    });
  }
}

function explainAttach(name: string, spec: AttachSpec, err: unknown): AttachError {
  const message = String((err as Error)?.message ?? err).split("\n")[0];
  if (isLockError(err)) {
    const pid = /\(PID (\d+)\)/.exec(message)?.[1];
    return new AttachError(
      "in_use",
      `databases.${name}: ${spec.path} is in use by another process${
        pid ? ` (pid ${pid})` : ""
      }; DuckDB lets one process open a database file read-write and then no other process may ` +
        "attach it, not even read_only: stop the other process or attach a copy",
      { cause: err },
    );
  }
  if (/file system operations are disabled|Cannot access file/.test(message)) {
    return new AttachError(
      "refused",
      `databases.${name}: ${spec.path} is outside the sandbox; while serving, only ` +
        "`:memory:` databases and files inside allowed_directories can be attached: add the " +
        "database to `databases` and restart instead",
      { cause: err },
    );
  }
  if (/extensions is disabled|extension/i.test(message)) {
    return new AttachError(
      "refused",
      `databases.${name}: attaching ${spec.path} needs a DuckDB extension that is not loaded ` +
        `(${message})`,
      { cause: err },
    );
  }
  return new AttachError("refused", `databases.${name}: ${message}`, { cause: err });
}
