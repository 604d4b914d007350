/**
 * Identifier names as DuckDB compares them: case folding, and dotted names (`schema.table`)
 * with DuckDB-style double quotes (`"my.table"` is one identifier, `""` a quote inside one).
 * Two readings of a dotted name, for two kinds of caller:
 *
 * - {@link splitNameAsWritten} reads a name exactly as written (a URL path segment): no
 *   trimming, empty parts kept, unquoted parts may hold `"`; each part says whether it was
 *   quoted. The caller decides what an odd name means.
 * - {@link splitName} is strict (grants, authorization keys): the text is trimmed, and every
 *   part must be non-empty with no stray `"`; otherwise it is not a name.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { foldCase, splitName, splitNameAsWritten } from "./names.ts";
 * deepEqual(splitName(' Sales."Odd.Name" '), ["Sales", "Odd.Name"]);
 * equal(splitName("a..b"), null);
 * deepEqual(splitNameAsWritten("a..b")!.map((p) => p.value), ["a", "", "b"]);
 * equal(foldCase("Main.ÄB"), "main.Äb");
 * ```
 * @module
 */

/** Lowercases ASCII letters only, as DuckDB compares identifiers. */
export function foldCase(name: string): string {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** One part of a dotted name. */
export interface NamePart {
  /** The identifier (quotes removed, `""` unescaped). */
  value: string;
  /** The part was written in double quotes. */
  quoted: boolean;
}

/**
 * Splits a dotted name as written, honouring double quotes: an unquoted part runs to the next
 * `.` (it may be empty or hold any other character). Null when a quoted part is unterminated or
 * something other than `.` follows its closing quote.
 */
export function splitNameAsWritten(text: string): NamePart[] | null {
  const parts: NamePart[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) return null;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      parts.push({ value, quoted: true });
    } else {
      const end = text.indexOf(".", i);
      const stop = end < 0 ? text.length : end;
      parts.push({ value: text.slice(i, stop), quoted: false });
      i = stop;
    }
    if (i >= text.length) break;
    if (text[i] !== ".") return null;
    i++;
  }
  return parts;
}

/**
 * Splits a dotted table name into its identifiers, strictly: the text is trimmed, unquoted parts
 * may hold any character but `.` and `"` (a URL may name the table `odd name`), and no part may
 * be empty. Returns null when the text is not a name.
 */
export function splitName(text: string): string[] | null {
  const parts = splitNameAsWritten(text.trim());
  if (!parts) return null;
  const names: string[] = [];
  for (const part of parts) {
    if (part.value === "" || (!part.quoted && part.value.includes('"'))) return null;
    names.push(part.value);
  }
  return names;
}
