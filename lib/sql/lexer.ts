/**
 * A lexer for DuckDB SQL text: tokens with their nesting depth, and a script split into its
 * statements. Lexical rules follow DuckDB (its PostgreSQL-derived scanner): `--` and nested
 * `/* *\/` comments, `'...'` strings with `''`, `E'...'` strings with backslash escapes,
 * `$tag$...$tag$` strings, `"..."` identifiers with `""`, `?`, `$1` and `$name` parameters.
 * Text that cannot be tokenized (an unterminated string, identifier or comment) yields `null`.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { splitStatements, tokenize } from "./lexer.ts";
 * ok(splitStatements("SELECT ';'; -- x\nDELETE FROM t")!.length === 2);
 * ok(tokenize('SELECT "Odd ""x"""')![1].value === 'Odd "x"');
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
  const push = (kind: TokenKind, value: string, start: number, end: number) =>
    tokens.push({ kind, value, start, end, depth });
  while (i < sql.length) {
    const c = sql[i];
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      i = skipBlockComment(sql, i);
      if (i < 0) return null;
    } else if (c === "'" || c === '"') {
      const end = scanQuoted(sql, i, c, false);
      if (end < 0) return null;
      push(c === "'" ? "string" : "quoted", unquote(sql.slice(i + 1, end - 1), c), start, end);
      i = end;
    } else if (c === "$") {
      const dollar = scanDollar(sql, i);
      if (!dollar) return null;
      push(dollar.kind, dollar.value, start, dollar.end);
      i = dollar.end;
    } else if (c === "?") {
      i++;
      while (i < sql.length && /[0-9]/.test(sql[i])) i++;
      push("param", sql.slice(start, i), start, i);
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) {
      i = scanNumber(sql, i);
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
    } else if (c === "," || c === ";" || c === ".") {
      push(c === "," ? "comma" : c === ";" ? "semicolon" : "dot", c, start, ++i);
    } else {
      i = OP_CHARS.includes(c) ? scanOperator(sql, i) : i + 1;
      push("op", sql.slice(start, i), start, i);
    }
  }
  return tokens;
}

/** Index just past the (nested) block comment starting at `i`, or -1 when it is unterminated. */
function skipBlockComment(sql: string, i: number): number {
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
  return level === 0 ? i : -1;
}

/** A `$tag$…$tag$` string or a `$name` parameter at `i`; null when the string is unterminated. */
function scanDollar(
  sql: string,
  i: number,
): { kind: TokenKind; value: string; end: number } | null {
  const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
  if (tag) {
    const close = sql.indexOf(tag[0], i + tag[0].length);
    if (close < 0) return null;
    return {
      kind: "string",
      value: sql.slice(i + tag[0].length, close),
      end: close + tag[0].length,
    };
  }
  let end = i + 1;
  while (end < sql.length && WORD_PART.test(sql[end]) && sql[end] !== "$") end++;
  return { kind: "param", value: sql.slice(i, end), end };
}

/** Index just past the number starting at `i` (exponents with a sign included). */
function scanNumber(sql: string, i: number): number {
  i++;
  while (i < sql.length && /[0-9A-Za-z_.]/.test(sql[i])) {
    if ((sql[i] === "e" || sql[i] === "E") && /[+-]/.test(sql[i + 1] ?? "")) i++;
    i++;
  }
  return i;
}

/** Index just past the operator starting at `i` (it stops before a comment). */
function scanOperator(sql: string, i: number): number {
  i++;
  while (
    i < sql.length && OP_CHARS.includes(sql[i]) &&
    !(sql[i] === "-" && sql[i + 1] === "-") && !(sql[i] === "/" && sql[i + 1] === "*")
  ) i++;
  return i;
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
