/**
 * The shape of an INSERT, UPDATE, DELETE or TRUNCATE statement, which DuckDB's parse tree
 * (`json_serialize_sql`) does not give: the table it writes, whether it returns rows or upserts,
 * and SELECT "probes" that reference everything else the write reads, so that a parser of SELECT
 * statements can list those parts. Anything unexpected yields `null`, and the caller then
 * treats the statement as one it cannot analyse.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { dissectWrite } from "./write_shape.ts";
 * const write = dissectWrite("UPDATE sales.orders o SET total = (SELECT 1 FROM prices) WHERE id = ?")!;
 * ok(write.kind === "update" && write.target.join(".") === "sales.orders");
 * ok(write.probes[0] === "SELECT total = (SELECT 1 FROM prices) WHERE id = ?");
 * ```
 * @module
 */

import { tokenize } from "./lexer.ts";
import { readWithClause, TokenCursor } from "./statement.ts";

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

/** Makes a probe of a SELECT body (prefixed with the statement's WITH clause). */
type Probe = (body: string) => string;

/**
 * Dissects an INSERT, UPDATE, DELETE or TRUNCATE statement; null when the text is anything
 * else or has a shape this function does not know.
 */
export function dissectWrite(statement: string): WriteShape | null {
  const tokens = tokenize(statement);
  if (!tokens || tokens.some((t) => t.kind === "semicolon" && t.depth === 0)) return null;
  const cursor = new TokenCursor(statement, tokens);
  const withText = readWithClause(cursor);
  if (withText === null) return null;
  const probe: Probe = (body) => (withText ? `${withText} ${body}` : body);
  let shape: WriteShape | null;
  if (cursor.take("insert")) shape = readInsert(cursor, probe);
  else if (cursor.take("update")) shape = readUpdate(cursor, probe);
  else if (cursor.take("delete")) shape = readDelete(cursor, probe);
  else if (withText === "" && cursor.take("truncate")) return readTruncate(cursor);
  else return null;
  if (!shape) return null;
  if (cursor.take("returning")) {
    shape.returning = true;
    const list = cursor.until();
    if (list === "") return null;
    shape.probes.push(probe(`SELECT ${list}`));
  }
  if (!cursor.atEnd()) return null;
  return shape;
}

function shapeOf(kind: WriteShape["kind"], target: string[]): WriteShape {
  return { kind, target, upsert: false, returning: false, probes: [] };
}

/** `INSERT [OR REPLACE | OR IGNORE] INTO t … [ON CONFLICT …]`, after the INSERT keyword. */
function readInsert(cursor: TokenCursor, probe: Probe): WriteShape | null {
  let upsert = false;
  if (cursor.take("or")) {
    if (cursor.take("replace")) upsert = true;
    else if (!cursor.take("ignore")) return null;
  }
  if (!cursor.take("into")) return null;
  const target = cursor.path();
  if (!target) return null;
  const shape = shapeOf("insert", target);
  shape.upsert = upsert;
  if (cursor.take("as") && cursor.identifier() === null) return null;
  if (cursor.take("by") && !cursor.take("name", "position")) return null;
  if (cursor.columnListAhead()) cursor.skipGroup();
  if (cursor.word("default")) {
    cursor.i++;
    if (!cursor.take("values")) return null;
  } else {
    const source = untilConflict(cursor);
    if (source === "") return null;
    shape.probes.push(probe(`SELECT * FROM (${source}) AS duckserve_source`));
  }
  if (cursor.word("on") && !readOnConflict(cursor, shape, probe)) return null;
  return shape;
}

/** `ON CONFLICT [(cols)] [WHERE …] DO NOTHING | DO UPDATE SET … [WHERE …]`; false if unknown. */
function readOnConflict(cursor: TokenCursor, shape: WriteShape, probe: Probe): boolean {
  cursor.i += 2; // ON CONFLICT (checked by untilConflict)
  if (cursor.token?.kind === "open") {
    if (!cursor.columnListAhead()) return false;
    cursor.skipGroup();
  }
  if (cursor.take("where")) shape.probes.push(probe(`SELECT ${cursor.until("do")}`));
  if (!cursor.take("do")) return false;
  if (!cursor.take("update")) return cursor.take("nothing");
  shape.upsert = true;
  if (!cursor.take("set")) return false;
  const set = cursor.until("where", "returning");
  if (set === "") return false;
  shape.probes.push(probe(`SELECT ${set}`));
  if (cursor.take("where")) shape.probes.push(probe(`SELECT ${cursor.until("returning")}`));
  return true;
}

/** `UPDATE t [[AS] alias] SET … [FROM …] [WHERE …]`, after the UPDATE keyword. */
function readUpdate(cursor: TokenCursor, probe: Probe): WriteShape | null {
  const target = cursor.relation();
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
  const shape = shapeOf("update", target);
  shape.probes.push(probe(body));
  return shape;
}

/** `DELETE FROM t [[AS] alias] [USING …] [WHERE …]`, after the DELETE keyword. */
function readDelete(cursor: TokenCursor, probe: Probe): WriteShape | null {
  if (!cursor.take("from")) return null;
  const target = cursor.relation();
  if (!target) return null;
  if (cursor.take("as")) {
    if (cursor.identifier() === null) return null;
  } else cursor.identifier();
  let body = "SELECT 1";
  if (cursor.take("using")) body += ` FROM ${cursor.until("where", "returning")}`;
  if (cursor.take("where")) body += ` WHERE ${cursor.until("returning")}`;
  const shape = shapeOf("delete", target);
  shape.probes.push(probe(body));
  return shape;
}

/** `TRUNCATE [TABLE] t` (a DELETE of every row), after the TRUNCATE keyword. */
function readTruncate(cursor: TokenCursor): WriteShape | null {
  cursor.take("table");
  const target = cursor.relation();
  if (!target || !cursor.atEnd()) return null;
  return shapeOf("delete", target);
}

/** Text of an INSERT source up to `ON CONFLICT`, `RETURNING` or the end. */
function untilConflict(cursor: TokenCursor): string {
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
