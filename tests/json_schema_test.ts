import { deepEqual, equal } from "node:assert/strict";
import { columnSchema } from "../lib/openapi/json_schema.ts";

Deno.test("columnSchema() maps scalar types to JSON types and formats", () => {
  deepEqual(columnSchema("TINYINT"), { type: "integer", minimum: -128, maximum: 127 });
  equal(columnSchema("INTEGER").format, "int32");
  equal(columnSchema("BIGINT").format, "int64");
  equal(columnSchema("UBIGINT").minimum, 0);
  equal(columnSchema("DECIMAL(10,2)").type, "number");
  equal(columnSchema("VARCHAR").type, "string");
  equal(columnSchema("VARCHAR(20)").type, "string");
  equal(columnSchema("UUID").format, "uuid");
  equal(columnSchema("DATE").format, "date");
  equal(columnSchema("TIMESTAMP WITH TIME ZONE").format, "date-time");
  equal(columnSchema("TIMESTAMP").format, undefined, "no offset: not an RFC 3339 date-time");
  equal(columnSchema("INTERVAL").format, "duration");
  equal(columnSchema("BLOB").contentEncoding, "base64");
  equal(columnSchema("BOOLEAN").type, "boolean");
  deepEqual(columnSchema("DOUBLE").anyOf?.[1], {
    type: "string",
    enum: ["NaN", "Infinity", "-Infinity"],
  });
  equal(columnSchema("int8").format, "int64", "aliases");
  deepEqual(columnSchema("GEOMETRY"), { description: "DuckDB type GEOMETRY" });
});

Deno.test("columnSchema() admits null for nullable columns", () => {
  deepEqual(columnSchema("VARCHAR", true).type, ["string", "null"]);
  deepEqual(columnSchema("ENUM('a', 'it''s')", true).enum, ["a", "it's", null]);
  deepEqual(columnSchema("DOUBLE", true).anyOf?.at(-1), { type: "null" });
  deepEqual(columnSchema("JSON", true), { description: "JSON value" });
});

Deno.test("columnSchema() maps nested types recursively", () => {
  const list = columnSchema("INTEGER[]");
  equal(list.type, "array");
  deepEqual(list.items?.type, ["integer", "null"]);
  const fixed = columnSchema("VARCHAR[3]");
  equal(fixed.minItems, 3);
  equal(fixed.maxItems, 3);
  const nested = columnSchema("INTEGER[][]");
  equal(nested.items?.items?.format, "int32");
  const struct = columnSchema('STRUCT("my ""field""" INTEGER, b VARCHAR[], c STRUCT(d DATE))');
  deepEqual(Object.keys(struct.properties!), ['my "field"', "b", "c"]);
  deepEqual(struct.properties!.b.type, ["array", "null"], "struct fields may be NULL");
  equal(struct.properties!.c.properties!.d.format, "date");
  const map = columnSchema("MAP(VARCHAR, DECIMAL(4,1))");
  equal(map.type, "object");
  deepEqual((map.additionalProperties as { type: unknown }).type, ["number", "null"]);
  const pairs = columnSchema("MAP(INTEGER, VARCHAR)");
  equal(pairs.type, "array");
  deepEqual(pairs.items?.required, ["key", "value"]);
  const union = columnSchema("UNION(n INTEGER, s VARCHAR)");
  deepEqual(union.anyOf?.map((s) => s.type), ["integer", "string"]);
  deepEqual(columnSchema("STRUCT(a INTEGER)[]").items?.type, ["object", "null"]);
});
