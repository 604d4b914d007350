/**
 * Reading the head of one SQL statement from its tokens: a cursor over top-level tokens, the
 * leading `WITH` clause, the statement's first keyword, and the statement an `EXPLAIN` explains.
 * Anything unexpected yields `null`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { explainedStatement, leadingKeyword } from "./statement.ts";
 * equal(leadingKeyword("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"), "insert");
 * equal(explainedStatement("EXPLAIN ANALYZE SELECT 1"), "SELECT 1");
 * ```
 * @module
 */

import { type Token, tokenize } from "./lexer.ts";

/** DuckDB keywords that can never be an unquoted table name or alias. */
const NOT_IDENTIFIERS = new Set(
  (
    "all analyse analyze and any array as asc asymmetric both case cast check collate column " +
    "constraint create default deferrable desc describe distinct do else end except false fetch " +
    "for foreign from group having in initially intersect into lambda lateral leading limit not " +
    "null offset on only or order pivot pivot_longer pivot_wider placing primary qualify " +
    "references returning select show some summarize symmetric table then to trailing true " +
    "union unique unpivot using variadic when where window with anti asof at authorization " +
    "binary by collation columns concurrently cross freeze full generated glob ilike inner is " +
    "isnull join left like map natural notnull outer overlaps positional right semi similar " +
    "struct tablesample try_cast unpack verbose"
  ).split(" "),
);

/** A cursor over the tokens of one statement (words and names are read at the top level). */
export class TokenCursor {
  /** Index of the current token. */
  i = 0;
  /** A cursor at the first of `tokens`, the tokens of `text`. */
  constructor(readonly text: string, readonly tokens: Token[]) {}
  /** The current token (undefined at the end). */
  get token(): Token | undefined {
    return this.tokens[this.i];
  }
  /** True when the current token is one of `words` at the top level. */
  word(...words: string[]): boolean {
    const t = this.token;
    return t !== undefined && t.kind === "word" && t.depth === 0 && words.includes(t.value);
  }
  /** Consumes one of `words` at the top level; false when the current token is none of them. */
  take(...words: string[]): boolean {
    if (!this.word(...words)) return false;
    this.i++;
    return true;
  }
  /** True when every token has been read. */
  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }
  /** Index of the closing bracket matching the opening bracket at `index`, or -1. */
  closing(index: number): number {
    const open = this.tokens[index];
    for (let j = index + 1; j < this.tokens.length; j++) {
      if (this.tokens[j].kind === "close" && this.tokens[j].depth === open.depth) return j;
    }
    return -1;
  }
  /** Skips a bracket group at the cursor; false when there is none. */
  skipGroup(): boolean {
    if (this.token?.kind !== "open") return false;
    const close = this.closing(this.i);
    if (close < 0) return false;
    this.i = close + 1;
    return true;
  }
  /** Text of tokens [from, to) in the original statement. */
  slice(from: number, to: number): string {
    if (from >= to) return "";
    return this.text.slice(this.tokens[from].start, this.tokens[to - 1].end);
  }
  /** Advances to the next top-level word among `stops` (or the end); returns the skipped text. */
  until(...stops: string[]): string {
    const from = this.i;
    while (!this.atEnd() && !this.word(...stops)) this.i++;
    return this.slice(from, this.i);
  }
  /** An identifier (word that is not a keyword, or quoted); its value, or null. */
  identifier(anyWord = false, depth = 0): string | null {
    const t = this.token;
    if (!t || t.depth !== depth) return null;
    if (t.kind === "quoted" || (t.kind === "word" && (anyWord || !NOT_IDENTIFIERS.has(t.value)))) {
      this.i++;
      return t.kind === "word" ? this.text.slice(t.start, t.end) : t.value;
    }
    return null;
  }
  /** A dotted name of 1 to 3 identifiers. */
  path(depth = 0): string[] | null {
    const first = this.identifier(false, depth);
    if (first === null) return null;
    const parts = [first];
    while (this.token?.kind === "dot" && this.token.depth === depth) {
      this.i++;
      const next = this.identifier(true, depth);
      if (next === null) return null;
      parts.push(next);
    }
    return parts.length <= 3 ? parts : null;
  }
  /** The target of a write: `[ONLY] name [*]` or `ONLY (name)`. */
  relation(): string[] | null {
    if (this.take("only")) {
      if (this.token?.kind === "open") {
        const close = this.closing(this.i);
        this.i++;
        const parts = this.path(1);
        if (!parts || this.i !== close) return null;
        this.i++;
        return parts;
      }
    }
    const parts = this.path();
    if (parts && this.token?.kind === "op" && this.token.value === "*" && this.token.depth === 0) {
      this.i++;
    }
    return parts;
  }
  /** True when the group at the cursor holds only identifiers and commas (a column list). */
  columnListAhead(): boolean {
    if (this.token?.kind !== "open" || this.token.value !== "(") return false;
    const close = this.closing(this.i);
    if (close < 0) return false;
    for (let j = this.i + 1; j < close; j++) {
      const t = this.tokens[j];
      const ok = t.kind === "quoted" || t.kind === "comma" || t.kind === "dot" ||
        (t.kind === "word" && !NOT_IDENTIFIERS.has(t.value));
      if (!ok) return false;
    }
    return true;
  }
}

/**
 * Reads a leading `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (query), …` at the
 * cursor: its text, `""` when the statement has none, or null when it cannot be read.
 */
export function readWithClause(cursor: TokenCursor): string | null {
  const from = cursor.i;
  if (!cursor.take("with")) return "";
  cursor.take("recursive");
  for (;;) {
    if (cursor.identifier() === null) return null;
    if (cursor.token?.kind === "open" && !cursor.skipGroup()) return null;
    if (cursor.take("using")) {
      if (!cursor.take("key") || !cursor.skipGroup()) return null;
    }
    if (!cursor.take("as")) return null;
    cursor.take("not");
    cursor.take("materialized");
    if (!cursor.skipGroup()) return null;
    if (cursor.token?.kind === "comma" && cursor.token.depth === 0) {
      cursor.i++;
      continue;
    }
    return cursor.slice(from, cursor.i);
  }
}

/** The statement an `EXPLAIN [ANALYZE] [(options)]` statement explains, or null. */
export function explainedStatement(statement: string): string | null {
  const tokens = tokenize(statement);
  if (!tokens) return null;
  const cursor = new TokenCursor(statement, tokens);
  if (!cursor.take("explain")) return null;
  cursor.take("analyze", "analyse");
  if (cursor.token?.kind === "open") {
    const first = cursor.tokens[cursor.i + 1];
    const query = first?.kind === "open" ||
      (first?.kind === "word" &&
        ["select", "with", "values", "from", "table"].includes(first.value));
    if (!query && !cursor.skipGroup()) return null;
  }
  if (cursor.atEnd()) return null;
  return statement.slice(cursor.token!.start);
}

/** The first keyword of a statement (after any WITH clause), e.g. `pragma`, `insert`. */
export function leadingKeyword(statement: string): string | null {
  const tokens = tokenize(statement);
  if (!tokens) return null;
  const cursor = new TokenCursor(statement, tokens);
  if (readWithClause(cursor) === null) return null;
  const t = cursor.token;
  return t?.kind === "word" ? t.value : null;
}
