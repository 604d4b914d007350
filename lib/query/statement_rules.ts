/**
 * Rules on raw SQL that need the statement's text as well as the type DuckDB reports, read with
 * the SQL lexer of `lib/sql/lexer.ts` (comments, strings and quoted names handled):
 *
 * - PRAGMA: only the informational pragmas run. Pragmas like `enable_object_cache`,
 *   `disable_checkpoint_on_shutdown` or `enable_verification` change settings without going
 *   through `SET`, so `lock_configuration` does not stop them (`PRAGMA name = value` is a `SET`
 *   and is refused by the lock).
 * - Transaction statements: DuckDB expands some statements itself into a script wrapped in
 *   BEGIN … COMMIT (ALTER TABLE … ADD COLUMN with a non-constant DEFAULT, `import_database`);
 *   those run inside the request's own transaction, while BEGIN, COMMIT or ROLLBACK written by
 *   the user are refused.
 *
 * @example
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { checkPragmas, writesTransactionStatements } from "./statement_rules.ts";
 * checkPragmas("PRAGMA table_info('t')");
 * throws(() => checkPragmas("PRAGMA /* x *\/ enable_object_cache"), /not allowed/);
 * equal(writesTransactionStatements("ALTER TABLE t ADD COLUMN c TIMESTAMP DEFAULT now()"), false);
 * equal(writesTransactionStatements("SELECT 1; COMMIT"), true);
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { splitStatements } from "../sql/mod.ts";

/** Pragmas that only read (the catalog, storage, versions) or import within the sandbox. */
const ALLOWED_PRAGMAS = new Set([
  "show",
  "show_tables",
  "show_tables_expanded",
  "show_databases",
  "table_info",
  "storage_info",
  "database_list",
  "database_size",
  "metadata_info",
  "version",
  "platform",
  "user_agent",
  "functions",
  "collations",
  "import_database",
]);

/** Throws `sandbox_violation` unless every PRAGMA in `sql` is an allowed one. */
export function checkPragmas(sql: string): void {
  const statements = splitStatements(sql);
  const refuse = (what: string) => {
    throw new ApiError(
      "sandbox_violation",
      `${what} is not allowed: pragmas that change settings bypass the locked configuration. ` +
        `Allowed: ${[...ALLOWED_PRAGMAS].join(", ")}.`,
    );
  };
  if (!statements) refuse("This PRAGMA");
  for (const { tokens } of statements!) {
    if (tokens[0]?.kind !== "word" || tokens[0].value !== "pragma") continue;
    const name = tokens[1];
    if (name?.kind !== "word") refuse("This PRAGMA");
    if (!ALLOWED_PRAGMAS.has(name.value)) refuse(`PRAGMA ${name.value}`);
  }
}

/** The prefix of the catalogs where DuckLake keeps a lake's metadata (`__ducklake_metadata_x`). */
export const DUCKLAKE_METADATA_PREFIX = "__ducklake_metadata_";

/**
 * Throws `sandbox_violation` when the SQL text names a DuckLake metadata catalog anywhere (in a
 * name, a string, or a comment): DuckLake alone may write it, and writing it around DuckLake's
 * snapshots would corrupt the lake. No role may, admin included.
 */
export function checkReservedCatalogs(sql: string): void {
  if (!sql.toLowerCase().includes(DUCKLAKE_METADATA_PREFIX)) return;
  throw new ApiError(
    "sandbox_violation",
    `SQL may not name DuckLake's metadata catalogs (${DUCKLAKE_METADATA_PREFIX}…): only DuckLake ` +
      "itself reads and writes them.",
  );
}

/** Leading keywords of the transaction statements a user may write. */
const TRANSACTION_KEYWORDS = new Set(["begin", "start", "commit", "end", "rollback", "abort"]);

/**
 * True when the SQL text itself holds a transaction statement (or cannot be split), as opposed
 * to the BEGIN and COMMIT that DuckDB adds when it expands a statement.
 */
export function writesTransactionStatements(sql: string): boolean {
  const statements = splitStatements(sql);
  if (!statements) return true;
  // A statement not led by a word cannot be told apart here: count it as one (refused).
  return statements.some(({ tokens: [first] }) =>
    first?.kind !== "word" || TRANSACTION_KEYWORDS.has(first.value)
  );
}
