/**
 * A lexer for DuckDB SQL text and the few structural facts the authorizer needs that DuckDB's
 * parse tree does not give for every statement type: where statements start and end in a
 * script, the table an INSERT/UPDATE/DELETE writes, whether it returns rows or upserts, and
 * SELECT "probes" that reference everything else the write reads, so that DuckDB's parser
 * (`json_serialize_sql`) can analyse those parts. Anything unexpected yields `null`, and the
 * caller then treats the statement as one it cannot analyse.
 *
 * Lexical rules follow DuckDB (its PostgreSQL-derived scanner): `--` and nested `/* *\/`
 * comments, `'...'` strings with `''`, `E'...'` strings with backslash escapes, `$tag$...$tag$`
 * strings, `"..."` identifiers with `""`, `?`, `$1` and `$name` parameters.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { dissectWrite, splitStatements } from "./sql_lexer.ts";
 * ok(splitStatements("SELECT ';'; -- x\nDELETE FROM t")!.length === 2);
 * const write = dissectWrite("UPDATE sales.orders o SET total = (SELECT 1 FROM prices) WHERE id = ?")!;
 * ok(write.kind === "update" && write.target.join(".") === "sales.orders");
 * ok(write.probes[0] === "SELECT total = (SELECT 1 FROM prices) WHERE id = ?");
 * ```
 * @module
 */

/** Kinds of tokens. */
export type TokenKind =
  | "word"
  | "quoted"
  | "string"
  | "number"
  | "param"
  | "op"
  | "open"
  | "close"
  | "comma"
  | "dot"
  | "semicolon";

/** One token of SQL text. */
export interface Token {
  kind: TokenKind;
  /** Words: lowercased; quoted identifiers: unescaped; other tokens: their text. */
  value: string;
  start: number;
  end: number;
  /** Bracket nesting level; an opening bracket and its closing one share their outer level. */
  depth: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OP_CHARS = "+-*/<>=~!@#%^&|`:";

/** Splits SQL text into tokens; null when a string, identifier or comment is unterminated. */
export function tokenize(sql: string): Token[] | null {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const push = (kind: TokenKind, value: string, start: number, end: number, at = depth) =>
    tokens.push({ kind, value, start, end, depth: at });
  while (i < sql.length) {
    const c = sql[i];
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      let level = 0;
      while (i < sql.length) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          level++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          level--;
          i += 2;
          if (level === 0) break;
        } else i++;
      }
      if (level !== 0) return null;
    } else if (c === "'") {
      const end = scanQuoted(sql, i, "'", false);
      if (end < 0) return null;
      push("string", unquote(sql.slice(i + 1, end - 1), "'"), start, end);
      i = end;
    } else if (c === '"') {
      const end = scanQuoted(sql, i, '"', false);
      if (end < 0) return null;
      push("quoted", unquote(sql.slice(i + 1, end - 1), '"'), start, end);
      i = end;
    } else if (c === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) return null;
        push("string", sql.slice(i + tag[0].length, close), start, close + tag[0].length);
        i = close + tag[0].length;
      } else {
        i++;
        while (i < sql.length && WORD_PART.test(sql[i]) && sql[i] !== "$") i++;
        push("param", sql.slice(start, i), start, i);
      }
    } else if (c === "?") {
      i++;
      while (i < sql.length && /[0-9]/.test(sql[i])) i++;
      push("param", sql.slice(start, i), start, i);
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) {
      i++;
      while (i < sql.length && /[0-9A-Za-z_.]/.test(sql[i])) {
        if ((sql[i] === "e" || sql[i] === "E") && /[+-]/.test(sql[i + 1] ?? "")) i++;
        i++;
      }
      push("number", sql.slice(start, i), start, i);
    } else if (WORD_START.test(c)) {
      while (i < sql.length && WORD_PART.test(sql[i])) i++;
      const word = sql.slice(start, i);
      if (sql[i] === "'" && /^[eE]$/.test(word)) {
        const end = scanQuoted(sql, i, "'", true);
        if (end < 0) return null;
        push("string", sql.slice(i + 1, end - 1), start, end);
        i = end;
      } else {
        push("word", word.toLowerCase(), start, i);
      }
    } else if (c === "(" || c === "[" || c === "{") {
      push("open", c, start, ++i);
      depth++;
    } else if (c === ")" || c === "]" || c === "}") {
      depth = Math.max(0, depth - 1);
      push("close", c, start, ++i);
    } else if (c === ",") {
      push("comma", c, start, ++i);
    } else if (c === ";") {
      push("semicolon", c, start, ++i);
    } else if (c === ".") {
      push("dot", c, start, ++i);
    } else if (OP_CHARS.includes(c)) {
      i++;
      while (
        i < sql.length && OP_CHARS.includes(sql[i]) &&
        !(sql[i] === "-" && sql[i + 1] === "-") && !(sql[i] === "/" && sql[i + 1] === "*")
      ) i++;
      push("op", sql.slice(start, i), start, i);
    } else {
      push("op", c, start, ++i);
    }
  }
  return tokens;
}

/** Index just past the closing quote of the quoted run starting at `i`, or -1. */
function scanQuoted(sql: string, i: number, quote: string, backslash: boolean): number {
  let j = i + 1;
  while (j < sql.length) {
    if (backslash && sql[j] === "\\") {
      j += 2;
      continue;
    }
    if (sql[j] === quote) {
      if (sql[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return -1;
}

function unquote(body: string, quote: string): string {
  return body.replaceAll(quote + quote, quote);
}

/** One statement of a script: its text and tokens. */
export interface StatementText {
  text: string;
  tokens: Token[];
}

/**
 * Splits a script at top-level semicolons into non-empty statements (comment-only pieces are
 * dropped, as DuckDB drops them). Null when the text cannot be tokenized.
 */
export function splitStatements(sql: string): StatementText[] | null {
  const tokens = tokenize(sql);
  if (!tokens) return null;
  const statements: StatementText[] = [];
  let current: Token[] = [];
  const flush = () => {
    if (current.length) {
      const base = current[0].start;
      const text = sql.slice(base, current[current.length - 1].end);
      statements.push({
        text,
        tokens: current.map((t) => ({ ...t, start: t.start - base, end: t.end - base })),
      });
    }
    current = [];
  };
  for (const token of tokens) {
    if (token.kind === "semicolon" && token.depth === 0) flush();
    else current.push(token);
  }
  flush();
  return statements;
}

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

/** The shape of an INSERT, UPDATE or DELETE (TRUNCATE is a DELETE). */
export interface WriteShape {
  kind: "insert" | "update" | "delete";
  /** The written table's identifiers as written (1 to 3 parts, quotes removed). */
  target: string[];
  /** `INSERT OR REPLACE` or `ON CONFLICT … DO UPDATE`: the write may also update rows. */
  upsert: boolean;
  /** The statement has a RETURNING clause. */
  returning: boolean;
  /**
   * SELECT statements that, together, mention every table, function and subquery the write
   * reads besides its target (the WITH clause is repeated in each, so CTE names resolve).
   */
  probes: string[];
}

class Cursor {
  i = 0;
  constructor(readonly text: string, readonly tokens: Token[]) {}
  get token(): Token | undefined {
    return this.tokens[this.i];
  }
  word(...words: string[]): boolean {
    const t = this.token;
    return t !== undefined && t.kind === "word" && t.depth === 0 && words.includes(t.value);
  }
  take(...words: string[]): boolean {
    if (!this.word(...words)) return false;
    this.i++;
    return true;
  }
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

/** Reads a leading `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (query), …`. */
function readWith(cursor: Cursor): string | null {
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

/**
 * Dissects an INSERT, UPDATE, DELETE or TRUNCATE statement; null when the text is anything
 * else or has a shape this function does not know.
 */
export function dissectWrite(statement: string): WriteShape | null {
  const tokens = tokenize(statement);
  if (!tokens || tokens.some((t) => t.kind === "semicolon" && t.depth === 0)) return null;
  const cursor = new Cursor(statement, tokens);
  const withText = readWith(cursor);
  if (withText === null) return null;
  const probe = (body: string) => (withText ? `${withText} ${body}` : body);
  const probes: string[] = [];
  let kind: WriteShape["kind"];
  let target: string[] | null;
  let upsert = false;
  let returning = false;

  if (cursor.take("insert")) {
    kind = "insert";
    if (cursor.take("or")) {
      if (cursor.take("replace")) upsert = true;
      else if (!cursor.take("ignore")) return null;
    }
    if (!cursor.take("into")) return null;
    target = cursor.path();
    if (!target) return null;
    if (cursor.take("as") && cursor.identifier() === null) return null;
    if (cursor.take("by") && !cursor.take("name", "position")) return null;
    if (cursor.columnListAhead()) cursor.skipGroup();
    if (cursor.word("default")) {
      cursor.i++;
      if (!cursor.take("values")) return null;
    } else {
      const source = untilConflict(cursor);
      if (source === "") return null;
      probes.push(probe(`SELECT * FROM (${source}) AS duckserve_source`));
    }
    if (cursor.word("on")) {
      cursor.i += 2; // ON CONFLICT (checked by untilConflict)
      if (cursor.token?.kind === "open") {
        if (!cursor.columnListAhead()) return null;
        cursor.skipGroup();
      }
      if (cursor.take("where")) probes.push(probe(`SELECT ${cursor.until("do")}`));
      if (!cursor.take("do")) return null;
      if (cursor.take("update")) {
        upsert = true;
        if (!cursor.take("set")) return null;
        const set = cursor.until("where", "returning");
        if (set === "") return null;
        probes.push(probe(`SELECT ${set}`));
        if (cursor.take("where")) probes.push(probe(`SELECT ${cursor.until("returning")}`));
      } else if (!cursor.take("nothing")) return null;
    }
  } else if (cursor.take("update")) {
    kind = "update";
    target = cursor.relation();
    if (!target) return null;
    if (cursor.take("as")) {
      if (cursor.identifier() === null) return null;
    } else if (!cursor.word("set")) cursor.identifier();
    if (!cursor.take("set")) return null;
    const set = cursor.until("from", "where", "returning");
    if (set === "") return null;
    let body = `SELECT ${set}`;
    if (cursor.take("from")) body += ` FROM ${cursor.until("where", "returning")}`;
    if (cursor.take("where")) body += ` WHERE ${cursor.until("returning")}`;
    probes.push(probe(body));
  } else if (cursor.take("delete")) {
    kind = "delete";
    if (!cursor.take("from")) return null;
    target = cursor.relation();
    if (!target) return null;
    if (cursor.take("as")) {
      if (cursor.identifier() === null) return null;
    } else cursor.identifier();
    let body = "SELECT 1";
    if (cursor.take("using")) body += ` FROM ${cursor.until("where", "returning")}`;
    if (cursor.take("where")) body += ` WHERE ${cursor.until("returning")}`;
    probes.push(probe(body));
  } else if (withText === "" && cursor.take("truncate")) {
    kind = "delete";
    cursor.take("table");
    target = cursor.relation();
    if (!target || !cursor.atEnd()) return null;
    return { kind, target, upsert, returning, probes };
  } else {
    return null;
  }

  if (cursor.take("returning")) {
    returning = true;
    const list = cursor.until();
    if (list === "") return null;
    probes.push(probe(`SELECT ${list}`));
  }
  if (!cursor.atEnd()) return null;
  return { kind, target, upsert, returning, probes };
}

/** Text of an INSERT source up to `ON CONFLICT`, `RETURNING` or the end. */
function untilConflict(cursor: Cursor): string {
  const from = cursor.i;
  while (!cursor.atEnd()) {
    if (cursor.word("returning")) break;
    if (cursor.word("on")) {
      const next = cursor.tokens[cursor.i + 1];
      if (next?.kind === "word" && next.value === "conflict") break;
    }
    cursor.i++;
  }
  return cursor.slice(from, cursor.i);
}

/** The statement an `EXPLAIN [ANALYZE] [(options)]` statement explains, or null. */
export function explainedStatement(statement: string): string | null {
  const tokens = tokenize(statement);
  if (!tokens) return null;
  const cursor = new Cursor(statement, tokens);
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
  const cursor = new Cursor(statement, tokens);
  if (readWith(cursor) === null) return null;
  const t = cursor.token;
  return t?.kind === "word" ? t.value : null;
}
