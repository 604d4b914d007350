import { deepEqual, equal } from "node:assert/strict";
import { splitStatements, tokenize } from "../../lib/sql/lexer.ts";

Deno.test("tokenize() follows DuckDB's lexical rules", () => {
  const kinds = (sql: string) => tokenize(sql)!.map((t) => `${t.kind}:${t.value}`);
  deepEqual(kinds('SELECT \'a;b\', "Col""x" -- c;\n/* x /* nested; */ ; */ ;'), [
    "word:select",
    "string:a;b",
    "comma:,",
    'quoted:Col"x',
    "semicolon:;",
  ]);
  deepEqual(kinds("E'it\\'s' || $$a;b$$ || $t$x$t$ || $1 || $name || ?"), [
    "string:it\\'s",
    "op:||",
    "string:a;b",
    "op:||",
    "string:x",
    "op:||",
    "param:$1",
    "op:||",
    "param:$name",
    "op:||",
    "param:?",
  ]);
  deepEqual(kinds("a::INT[] -x"), [
    "word:a",
    "op:::",
    "word:int",
    "open:[",
    "close:]",
    "op:-",
    "word:x",
  ]);
  equal(tokenize("SELECT 'open"), null);
  equal(tokenize("SELECT /* open"), null);
  equal(tokenize('SELECT "open'), null);
  // brackets share the depth of their outside
  deepEqual(tokenize("(a)")!.map((t) => t.depth), [0, 1, 0]);
});

Deno.test("splitStatements() splits at top-level semicolons only", () => {
  const texts = (sql: string) => splitStatements(sql)!.map((s) => s.text);
  deepEqual(texts("SELECT 1; SELECT ';' ;; -- only a comment\n"), ["SELECT 1", "SELECT ';'"]);
  deepEqual(texts("SELECT $$;$$; DELETE FROM t /* ; */ WHERE a = ';'"), [
    "SELECT $$;$$",
    "DELETE FROM t /* ; */ WHERE a = ';'",
  ]);
  deepEqual(texts("-- nothing"), []);
  equal(splitStatements("SELECT 'x"), null);
});
