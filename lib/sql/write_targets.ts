/**
 * Which tables a SQL text writes, statement by statement (for the raw-SQL change feed). DuckDB
 * gives statement types but no write targets (`getTableNames` lists only tables read), so the
 * tokens of `lexer.ts` (comments, `'…'`, `E'…'`, `$tag$…$tag$` strings, `"…"` identifiers,
 * brackets) give the top-level shape of each statement: `INSERT [OR …] INTO t`, `UPDATE t`, `DELETE FROM t`,
 * `TRUNCATE t`, `MERGE INTO t`, `COPY t FROM …`, `CREATE [OR REPLACE] [TEMP] TABLE t`,
 * `DROP TABLE t, u`, `ALTER TABLE t [RENAME TO u]`, also behind a `WITH` clause or
 * `EXPLAIN ANALYZE`. Pure functions only.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { findWriteTargets } from "./write_targets.ts";
 * const found = findWriteTargets("WITH x AS (SELECT 1) INSERT INTO sales.orders SELECT * FROM x; SELECT 1");
 * ok(found!.length === 1 && found![0].statement === "INSERT");
 * ok(found![0].tables[0].join(".") === "sales.orders");
 * ```
 * @module
 */

import { splitStatements, type Token as LexToken } from "./lexer.ts";

/** The writing statements of a SQL text, in order. */
export interface WriteTarget {
  /** What the statement does, as a SQL keyword. */
  statement:
    | "INSERT"
    | "UPDATE"
    | "DELETE"
    | "TRUNCATE"
    | "MERGE"
    | "COPY"
    | "CREATE"
    | "DROP"
    | "ALTER";
  /** The tables it writes, as identifier parts written in the SQL (quotes removed). */
  tables: string[][];
  /** `CREATE TEMP TABLE`: a connection-local table. */
  temporary: boolean;
}

/** A token of `lexer.ts` with, for words, the text as written. */
interface Token extends Pick<LexToken, "kind" | "value" | "depth"> {
  raw: string;
}

/** A cursor over one statement's top-level tokens. */
class Cursor {
  i = 0;
  constructor(readonly tokens: Token[]) {}
  get token(): Token | undefined {
    return this.tokens[this.i];
  }
  /** Consumes one of `words` at the top level. */
  take(...words: string[]): string | null {
    const t = this.token;
    if (!t || t.kind !== "word" || t.depth !== 0 || !words.includes(t.value)) return null;
    this.i++;
    return t.value;
  }
  /** Skips a bracket group at the cursor. */
  skipGroup(): boolean {
    if (this.token?.kind !== "open") return false;
    const depth = this.token.depth;
    for (let j = this.i + 1; j < this.tokens.length; j++) {
      if (this.tokens[j].kind === "close" && this.tokens[j].depth === depth) {
        this.i = j + 1;
        return true;
      }
    }
    this.i = this.tokens.length;
    return false;
  }
  /** A dotted name of one to three identifiers. */
  name(): string[] | null {
    const parts: string[] = [];
    for (;;) {
      const t = this.token;
      if (!t || t.depth !== 0 || (t.kind !== "word" && t.kind !== "quoted")) return null;
      parts.push(t.kind === "word" ? t.raw : t.value);
      this.i++;
      if (this.token?.kind !== "dot" || this.token.depth !== 0) break;
      this.i++;
    }
    return parts.length <= 3 ? parts : null;
  }
  /** Advances to the next top-level word among `words`; false at the end. */
  seek(...words: string[]): boolean {
    while (this.i < this.tokens.length) {
      const t = this.tokens[this.i];
      if (t.kind === "word" && t.depth === 0 && words.includes(t.value)) return true;
      this.i++;
    }
    return false;
  }
}

const MAIN_VERBS = ["insert", "update", "delete", "merge", "select", "from", "values", "table"];

function dissect(tokens: Token[]): WriteTarget | null {
  const c = new Cursor(tokens);
  if (c.take("explain")) {
    // EXPLAIN runs nothing unless it is EXPLAIN ANALYZE
    let analyze = c.take("analyze", "analyse") !== null;
    if (c.token?.kind === "open") {
      const from = c.i;
      c.skipGroup();
      analyze ||= tokens.slice(from, c.i).some((t) =>
        t.value === "analyze" || t.value === "analyse"
      );
    }
    if (!analyze) return null;
    return dissect(tokens.slice(c.i));
  }
  if (c.token?.value === "with" && c.token.kind === "word") {
    c.i++;
    if (!c.seek(...MAIN_VERBS)) return null;
  }
  const one = (statement: WriteTarget["statement"], table: string[] | null): WriteTarget | null =>
    table ? { statement, tables: [table], temporary: false } : null;
  switch (
    c.take("insert", "update", "delete", "truncate", "merge", "copy", "create", "drop", "alter")
  ) {
    case "insert":
      if (c.take("or")) c.take("replace", "ignore");
      return c.take("into") ? one("INSERT", c.name()) : null;
    case "update":
      c.take("only");
      return one("UPDATE", c.name());
    case "delete":
      if (!c.take("from")) return null;
      c.take("only");
      return one("DELETE", c.name());
    case "truncate":
      c.take("table");
      c.take("only");
      return one("TRUNCATE", c.name());
    case "merge":
      return c.take("into") ? one("MERGE", c.name()) : null;
    case "copy": {
      const table = c.name();
      if (!table) return null;
      if (c.token?.kind === "open") c.skipGroup();
      return c.take("from") ? one("COPY", table) : null;
    }
    case "create":
      return readCreate(c);
    case "drop":
      return readDrop(c);
    case "alter":
      return readAlter(c);
    default:
      return null;
  }
}

/** `CREATE [OR REPLACE] [TEMP] [PERSISTENT] TABLE [IF NOT EXISTS] t`, after CREATE. */
function readCreate(c: Cursor): WriteTarget | null {
  if (c.take("or")) c.take("replace");
  const temporary = c.take("temp", "temporary") !== null;
  c.take("persistent");
  if (!c.take("table")) return null;
  if (c.take("if")) c.take("not") && c.take("exists");
  const table = c.name();
  return table ? { statement: "CREATE", tables: [table], temporary } : null;
}

/** `DROP TABLE [IF EXISTS] t, u …`, after DROP. */
function readDrop(c: Cursor): WriteTarget | null {
  if (!c.take("table")) return null;
  if (c.take("if")) c.take("exists");
  const tables: string[][] = [];
  for (;;) {
    const table = c.name();
    if (!table) break;
    tables.push(table);
    if (c.token?.kind !== "comma" || c.token.depth !== 0) break;
    c.i++;
  }
  return tables.length ? { statement: "DROP", tables, temporary: false } : null;
}

/** `ALTER TABLE [IF EXISTS] [ONLY] t [RENAME TO u]`, after ALTER. */
function readAlter(c: Cursor): WriteTarget | null {
  if (!c.take("table")) return null;
  if (c.take("if")) c.take("exists");
  c.take("only");
  const table = c.name();
  if (!table) return null;
  const tables = [table];
  if (c.take("rename") && c.take("to")) {
    const renamed = c.name();
    // the new name is in the table's schema
    if (renamed) tables.push([...table.slice(0, -1), renamed[renamed.length - 1]]);
  }
  return { statement: "ALTER", tables, temporary: false };
}

/**
 * The writing statements of `sql` in order (statements that write no table are left out);
 * null when the text cannot be tokenized.
 */
export function findWriteTargets(sql: string): WriteTarget[] | null {
  const statements = splitStatements(sql);
  if (!statements) return null;
  const found: WriteTarget[] = [];
  for (const { text, tokens } of statements) {
    const target = dissect(tokens.map((t) => ({
      kind: t.kind,
      value: t.value,
      depth: t.depth,
      raw: t.kind === "word" ? text.slice(t.start, t.end) : "",
    })));
    if (target) found.push(target);
  }
  return found;
}
