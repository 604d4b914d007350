/**
 * Raw statements classified by the statement type DuckDB's parser gives them (never by string
 * prefixes): which a request may run, which answer with rows, which may change the catalog, and
 * after which the connection keeps no session state.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { StatementType } from "../db/types.ts";
 * import { statementTypeName } from "./statement_types.ts";
 * equal(statementTypeName(StatementType.SELECT), "SELECT");
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { StatementType } from "../db/types.ts";

/** Statement types that read: allowed on the read-only endpoint. */
const READ_TYPES = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

/** Statement types that install, load or update extensions: never from a request. */
const EXTENSION_TYPES = new Set<StatementType>([
  StatementType.LOAD,
  StatementType.EXTENSION,
  StatementType.UPDATE_EXTENSIONS,
]);

/** Statement types that always answer with rows. */
export const ROW_TYPES = new Set<StatementType>([
  StatementType.SELECT,
  StatementType.EXPLAIN,
  StatementType.PRAGMA,
  StatementType.CALL,
]);

/** Statement types that cannot change the catalog (anything else invalidates its cache). */
export const DATA_TYPES = new Set<StatementType>([
  StatementType.SELECT,
  StatementType.INSERT,
  StatementType.UPDATE,
  StatementType.DELETE,
]);

/** Statement types after which the connection keeps no session state. */
export const CLEAN_TYPES = new Set<StatementType>([
  StatementType.SELECT,
  StatementType.INSERT,
  StatementType.UPDATE,
  StatementType.DELETE,
  StatementType.EXPLAIN,
]);

const STATEMENT_NAMES = Object.fromEntries(
  Object.entries(StatementType).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k]),
) as Record<number, string>;

/** The SQL keyword name of a statement type (`SELECT`, `CREATE`, ...). */
export function statementTypeName(type: StatementType): string {
  return STATEMENT_NAMES[type] ?? "UNKNOWN";
}

/**
 * Refuses statement types a request may not run. `checkPragmas` vets the request's pragmas (it
 * reads the whole text, so a script runs it once, at its first PRAGMA).
 */
export function checkType(type: StatementType, readOnly: boolean, checkPragmas: () => void): void {
  if (type === StatementType.TRANSACTION) {
    throw new ApiError(
      "statement_not_allowed",
      "Transaction statements (BEGIN, COMMIT, ROLLBACK) are not allowed: each request is its own " +
        "transaction, and several statements in one request already run all or nothing.",
    );
  }
  if (type === StatementType.PRAGMA) checkPragmas();
  if (type === StatementType.ATTACH || type === StatementType.DETACH) {
    throw new ApiError(
      "sandbox_violation",
      "ATTACH and DETACH are not allowed: user SQL works on the server's database only.",
    );
  }
  if (EXTENSION_TYPES.has(type)) {
    throw new ApiError(
      "sandbox_violation",
      "INSTALL, LOAD and UPDATE EXTENSIONS are not allowed: the server loads the extensions its " +
        "`extensions` key names at start.",
    );
  }
  if (readOnly && !READ_TYPES.has(type)) {
    throw new ApiError(
      "not_read_only",
      `GET requests can only execute read-only queries; this is a ${
        statementTypeName(type)
      } statement. Use POST {prefix}/query.`,
    );
  }
}
