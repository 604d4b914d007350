import { deepEqual, equal, throws } from "node:assert/strict";
import type { ApiError } from "../../lib/errors.ts";
import { findColumn, parseTableName, requireTable } from "../../lib/query/_resolve.ts";
import { column, table, USERS } from "./_fixtures.ts";

Deno.test("parseTableName() reads name, schema.name and DuckDB-style quoted parts", () => {
  deepEqual(parseTableName("users").candidates, [{ name: "users" }]);
  deepEqual(parseTableName("s.t").candidates, [{ schema: "s", name: "t" }, { name: "s.t" }]);
  deepEqual(parseTableName('"odd.name"').candidates, [{ name: "odd.name" }]);
  deepEqual(parseTableName('"my schema"."t ""q"""').candidates, [{
    schema: "my schema",
    name: 't "q"',
  }]);
  deepEqual(parseTableName("users;DROP TABLE users").candidates, [{
    name: "users;DROP TABLE users",
  }]);
  deepEqual(parseTableName('"unterminated').candidates, [{ name: '"unterminated' }]);
  throws(() => parseTableName(""), (e: unknown) => (e as ApiError).code === "invalid_request");
});

Deno.test("requireTable() resolves like DuckDB and answers 404 for unknown tables", () => {
  const tables = [USERS, table("t", [column("a", "INTEGER")], "table", "s"), table("a.b", [])];
  equal(requireTable(tables, parseTableName("USERS")), USERS);
  equal(requireTable(tables, parseTableName("main.users")), USERS);
  equal(requireTable(tables, parseTableName("s.t")).schema, "s");
  equal(requireTable(tables, parseTableName("a.b")).name, "a.b");
  throws(
    () => requireTable(tables, parseTableName("nope")),
    (e: unknown) =>
      (e as ApiError).code === "unknown_table" &&
      /Table 'nope' does not exist/.test((e as Error).message),
  );
});

Deno.test("findColumn() matches exactly, then case-insensitively, then trimmed", () => {
  equal(findColumn(USERS, "Name")?.name, "name");
  equal(findColumn(USERS, " age ")?.name, "age");
  equal(findColumn(USERS, "ag e"), null);
});
