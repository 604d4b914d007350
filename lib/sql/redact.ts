/**
 * SQL text for logs without its values: every literal (strings of any quoting, numbers) becomes
 * `?`, comments are dropped and whitespace runs become one space, read with the lexer
 * (`lexer.ts`), so a quote inside a string or a comment never confuses it. Text the lexer cannot
 * read (an unterminated string) is not shown at all.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { redactSql } from "./redact.ts";
 * equal(
 *   redactSql("SELECT * FROM t WHERE name = 'O''Brien' AND n > 42 -- secret\nLIMIT $1"),
 *   "SELECT * FROM t WHERE name = ? AND n > ? LIMIT $1",
 * );
 * equal(redactSql("SELECT 'open"), "(SQL not shown: it does not tokenize)");
 * ```
 * @module
 */

import { tokenize } from "./lexer.ts";

/** What a log shows for SQL text the lexer cannot read. */
export const UNREADABLE_SQL = "(SQL not shown: it does not tokenize)";

/** `sql` with literals replaced by `?` and comments removed (see the module documentation). */
export function redactSql(sql: string): string {
  const tokens = tokenize(sql);
  if (tokens === null) return UNREADABLE_SQL;
  let out = "";
  let end = 0;
  for (const token of tokens) {
    if (out !== "" && token.start > end) out += " ";
    out += token.kind === "string" || token.kind === "number"
      ? "?"
      : sql.slice(token.start, token.end);
    end = token.end;
  }
  return out;
}
