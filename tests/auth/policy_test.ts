import { equal, ok, throws } from "node:assert/strict";
import { AuthInputError } from "../../lib/permissions.ts";
import {
  can,
  canStream,
  compilePolicy,
  displayTable,
  isUnrestricted,
  parseGrantTable,
  readsEverything,
  tableKey,
} from "../../lib/auth/policy.ts";

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
  // issue 18: `db.*` covers a database (or schema), `db.schema.table` names a table in it.
  equal(parseGrantTable("Sales.*"), "sales.*");
  equal(parseGrantTable("a.b.c"), "a.b.c");
  equal(parseGrantTable("archive.main.events"), "archive.events");
  throws(() => parseGrantTable("*.orders"), /lone \*|last part/);
  throws(() => parseGrantTable("a.b.c.d"), /schema.table/);
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

Deno.test("parseGrantTable() keeps stream:<glob> grants as written and refuses bad ones", () => {
  equal(parseGrantTable("stream:Orders/EU"), "stream:Orders/EU", "no case-folding");
  equal(parseGrantTable("stream:logs/app.v2"), "stream:logs/app.v2", "no splitting on dots");
  equal(parseGrantTable("stream:orders/**"), "stream:orders/**");
  equal(displayTable("stream:logs/app.v2"), "stream:logs/app.v2");
  throws(() => parseGrantTable("stream:"), AuthInputError);
  throws(() => parseGrantTable("stream:a//b"), /empty segment/);
  throws(() => compilePolicy([{ table: "stream:x", operations: "q" }]), /r \(read\), c/);
  throws(() => compilePolicy([{ table: "stream:x", operations: "ru" }]), /not u on stream:x/);
});

Deno.test("canStream() allows by the grant on * or any matching stream grant, never table grants", () => {
  const policy = compilePolicy([
    { table: "stream:orders/*", operations: "rc" },
    { table: "stream:orders/eu", operations: "d" },
    { table: "stream:Logs/**", operations: "r" },
    { table: "orders", operations: "crud" },
  ]);
  ok(canStream(policy, "r", "orders/eu") && canStream(policy, "c", "orders/us"));
  ok(canStream(policy, "d", "orders/eu") && !canStream(policy, "d", "orders/us"));
  ok(!canStream(policy, "r", "orders/eu/2024"), "* stays within one segment");
  ok(!canStream(policy, "r", "orders"), "a table grant is not a stream grant");
  ok(canStream(policy, "r", "Logs/app/2024.v1") && !canStream(policy, "r", "logs/app"));
  ok(!can(policy, "r", "stream:orders/eu"), "stream grants do not leak into table checks");
  const everywhere = compilePolicy([{ table: "*", operations: "r" }]);
  ok(canStream(everywhere, "r", "anything/at/all") && !canStream(everywhere, "c", "x"));
  ok(!canStream(compilePolicy([]), "r", "x"));
});
