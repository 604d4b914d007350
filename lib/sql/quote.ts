/**
 * Quoting values into SQL text: identifiers and string literals, safe for any input.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { quoteIdentifier, sqlString } from "./quote.ts";
 * equal(quoteIdentifier('a"b'), '"a""b"');
 * equal(sqlString("it's"), "'it''s'");
 * ```
 * @module
 */

/** `"name"` with embedded quotes doubled: a safe SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
