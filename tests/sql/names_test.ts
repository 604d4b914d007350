import { deepEqual, equal } from "node:assert/strict";
import { foldCase, splitName, splitNameAsWritten } from "../../lib/sql/names.ts";

Deno.test("splitName() honours double quotes", () => {
  deepEqual(splitName("a.b"), ["a", "b"]);
  deepEqual(splitName('"my.table"'), ["my.table"]);
  deepEqual(splitName('s."a""b"'), ["s", 'a"b']);
  deepEqual(splitName("odd name"), ["odd name"]);
  for (const bad of ["", "a.", ".a", "a..b", '"open', 'a"b', '"a"b']) {
    equal(splitName(bad), null, bad);
  }
});

Deno.test("splitNameAsWritten() keeps what the strict reading refuses, and says what was quoted", () => {
  deepEqual(splitNameAsWritten("a.b"), [
    { value: "a", quoted: false },
    { value: "b", quoted: false },
  ]);
  deepEqual(splitNameAsWritten('"my schema"."t ""q"""'), [
    { value: "my schema", quoted: true },
    { value: 't "q"', quoted: true },
  ]);
  deepEqual(splitNameAsWritten(" a "), [{ value: " a ", quoted: false }], "no trimming");
  deepEqual(splitNameAsWritten("a..b")?.map((p) => p.value), ["a", "", "b"]);
  deepEqual(splitNameAsWritten("a.")?.map((p) => p.value), ["a", ""]);
  deepEqual(splitNameAsWritten("")?.map((p) => p.value), [""]);
  deepEqual(splitNameAsWritten('a"b'), [{ value: 'a"b', quoted: false }]);
  deepEqual(splitNameAsWritten('""'), [{ value: "", quoted: true }]);
  for (const bad of ['"open', '"a"b', '"a"."b']) equal(splitNameAsWritten(bad), null, bad);
});

Deno.test("splitName() is splitNameAsWritten() of the trimmed text, with every part a name", () => {
  deepEqual(splitName("  Sales.Orders "), ["Sales", "Orders"]);
  deepEqual(splitName('"a.b".c'), ["a.b", "c"]);
  for (const bad of [" ", '""', '"".x', "a. ", '"x".']) equal(splitName(bad), null, bad);
});

Deno.test("foldCase() lowercases ASCII letters only, as DuckDB compares identifiers", () => {
  equal(foldCase("Main.REPORTS"), "main.reports");
  equal(foldCase("ÄÖÜ_Straße"), "ÄÖÜ_straße");
  equal(foldCase('"Odd Name"'), '"odd name"');
});
