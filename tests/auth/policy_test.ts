import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { AuthInputError } from "../../lib/auth/keys.ts";
import {
  can,
  compilePolicy,
  displayTable,
  formatOperations,
  isUnrestricted,
  parseGrantTable,
  parseOperations,
  readsEverything,
  splitName,
  tableKey,
} from "../../lib/auth/policy.ts";

Deno.test("parseOperations() reads letters, lists, words and all", () => {
  deepEqual(parseOperations("crud"), ["c", "r", "u", "d"]);
  deepEqual(parseOperations("r,q"), ["r", "q"]);
  deepEqual(parseOperations("q r"), ["r", "q"]);
  deepEqual(parseOperations("READ,query"), ["r", "q"]);
  deepEqual(parseOperations("all"), ["c", "r", "u", "d", "q"]);
  deepEqual(parseOperations("qqq"), ["q"]);
  throws(() => parseOperations(""), AuthInputError);
  throws(() => parseOperations("rx"), /unknown operation "rx"/);
  throws(() => parseOperations("write"), /unknown operation/);
  equal(formatOperations(["q", "c", "r"]), "crq");
});

Deno.test("splitName() honours double quotes", () => {
  deepEqual(splitName("a.b"), ["a", "b"]);
  deepEqual(splitName('"my.table"'), ["my.table"]);
  deepEqual(splitName('s."a""b"'), ["s", 'a"b']);
  deepEqual(splitName("odd name"), ["odd name"]);
  for (const bad of ["", "a.", ".a", "a..b", '"open', 'a"b', '"a"b']) {
    equal(splitName(bad), null, bad);
  }
});

Deno.test("tableKey() follows DuckDB identifier rules", () => {
  equal(tableKey("reports"), "main.reports");
  equal(tableKey("REPORTS"), "main.reports");
  equal(tableKey("Main.Reports"), "main.reports");
  equal(tableKey('"reports"'), "main.reports");
  equal(tableKey("Sales.Orders"), "sales.orders");
  equal(tableKey("memory.main.reports", "memory"), "main.reports");
  equal(tableKey("other.main.reports", "memory"), "other.main.reports");
  equal(tableKey('"odd name"'), 'main."odd name"');
  equal(tableKey("*"), 'main."*"');
  equal(tableKey("Odd Name"), 'main."odd name"');
  equal(tableKey('"Odd Name"'), tableKey("odd name"));
  throws(() => tableKey("a.b.c.d"), AuthInputError);
  throws(() => tableKey('bad"name'), AuthInputError);
});

Deno.test("parseGrantTable() accepts *, table and schema.table", () => {
  equal(parseGrantTable("*"), "*");
  equal(parseGrantTable(" Reports "), "main.reports");
  equal(parseGrantTable("main.reports"), "main.reports");
  equal(parseGrantTable("sales.ORDERS"), "sales.orders");
  throws(() => parseGrantTable("sales.*"), /lone \*/);
  throws(() => parseGrantTable("a.b.c"), /schema.table/);
  throws(() => parseGrantTable(""), AuthInputError);
  equal(displayTable("main.reports"), "reports");
  equal(displayTable("sales.orders"), "sales.orders");
  equal(displayTable('main."odd name"'), '"odd name"');
  equal(displayTable("*"), "*");
});

Deno.test("can() adds grants up: a table's own grant and *", () => {
  const policy = compilePolicy([
    { table: "reports", operations: "rq" },
    { table: "sales.orders", operations: "c" },
    { table: "*", operations: "r" },
  ]);
  ok(can(policy, "q", tableKey("reports")));
  ok(can(policy, "q", tableKey("main.REPORTS")));
  ok(can(policy, "r", tableKey("anything")));
  ok(!can(policy, "q", tableKey("anything")));
  ok(can(policy, "c", tableKey("Sales.Orders")));
  ok(!can(policy, "c", tableKey("orders")), "orders is main.orders, not sales.orders");
  ok(!can(policy, "d", tableKey("reports")));
  ok(!isUnrestricted(policy));
  ok(!readsEverything(policy));
  ok(isUnrestricted(compilePolicy([{ table: "*", operations: "all" }])));
  ok(readsEverything(compilePolicy([{ table: "*", operations: "rq" }])));
  ok(!can(compilePolicy([]), "r", tableKey("x")));
});
