/**
 * General SQL tooling, free of any feature: the lexer, statement heads and write shapes read
 * from tokens, DuckDB parse trees (`json_serialize_sql`), identifier names as DuckDB compares
 * them, and quoting. Pure functions only; nothing here talks to the database.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { dissectWrite, quoteIdentifier, splitName, splitStatements } from "./mod.ts";
 * equal(splitStatements("SELECT 1; SELECT 2")!.length, 2);
 * deepEqual(dissectWrite("DELETE FROM sales.orders")!.target, ["sales", "orders"]);
 * deepEqual(splitName('main."odd.name"'), ["main", "odd.name"]);
 * equal(quoteIdentifier("odd.name"), '"odd.name"');
 * ```
 * @module
 */

export {
  splitStatements,
  type StatementText,
  type Token,
  tokenize,
  type TokenKind,
} from "./lexer.ts";
export { explainedStatement, leadingKeyword, readWithClause, TokenCursor } from "./statement.ts";
export { dissectWrite, type WriteShape } from "./write_shape.ts";
export {
  type FunctionRef,
  readSingleStatement,
  readTree,
  type SerializedSql,
  type TreeFindings,
} from "./parse_tree.ts";
export { foldCase, type NamePart, splitName, splitNameAsWritten } from "./names.ts";
export { quoteIdentifier, sqlString } from "./quote.ts";
export { redactSql } from "./redact.ts";
export { findWriteTargets, type WriteTarget } from "./write_targets.ts";
