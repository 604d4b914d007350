import { deepEqual, equal } from "node:assert/strict";
import { JsonNumber } from "../../lib/http/body.ts";
import {
  classifyType,
  paramText,
  planTextValue,
  planValue,
  stringifyJson,
  valueSql,
} from "../../lib/query/values.ts";
import { code, column } from "./_fixtures.ts";

const INT = column("n", "INTEGER");
const BIG = column("b", "BIGINT");
const UBIG = column("u", "UBIGINT");
const DEC = column("d", "DECIMAL(18,3)");
const DBL = column("x", "DOUBLE");
const FLT = column("f", "FLOAT");
const BOOL = column("ok", "BOOLEAN");
const TEXT = column("s", "VARCHAR");
const LIST = column("l", "INTEGER[]");
const STRUCT = column("st", 'STRUCT("a b" INTEGER)');
const JSONC = column("j", "JSON");
const BLOB = column("bl", "BLOB");
const DATE = column("dt", "DATE");

const conversion = (fn: () => unknown, pattern: RegExp) => code(fn, "conversion_error", pattern);

Deno.test("classifyType() sorts DuckDB type texts into the classes the planner needs", () => {
  deepEqual(
    [
      "INTEGER",
      "UHUGEINT",
      "DOUBLE",
      "BOOLEAN",
      "VARCHAR",
      "BLOB",
      "JSON",
      "INTEGER[]",
      "INTEGER[3]",
    ]
      .map(classifyType),
    ["integer", "integer", "float", "boolean", "text", "blob", "json", "nested", "nested"],
  );
  deepEqual(
    ["STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)", "DECIMAL(10,2)", "UUID", "ENUM('a', 'b')"]
      .map(classifyType),
    ["nested", "nested", "other", "other", "other"],
  );
});

Deno.test("planValue() keeps integers exact (safe ones in range as numbers, beyond 2^53 as bigint) and checks the range", () => {
  deepEqual(planValue(BIG, { text: "9007199254740993" }, "l"), {
    sql: "CAST(? AS BIGINT)",
    params: [9007199254740993n],
  });
  deepEqual(planValue(BIG, { json: 9223372036854775807n }, "l").params, [9223372036854775807n]);
  deepEqual(planValue(UBIG, { json: 18446744073709551615n }, "l").params, [18446744073709551615n]);
  deepEqual(planValue(INT, { json: 42 }, "l").params, [42]);
  deepEqual(planValue(INT, { json: "-7" }, "l").params, [-7n]);
  deepEqual(planValue(INT, { json: null }, "l"), { sql: "CAST(? AS INTEGER)", params: [null] });
  conversion(() => planValue(INT, { json: 5.5 }, "row 3"), /row 3: the number 5.5 .*INTEGER.*"n"/);
  conversion(
    () => planValue(INT, { json: new JsonNumber("1.00000000000000000001") }, "l"),
    /1\.0+1/,
  );
  conversion(() => planValue(INT, { text: "2147483648" }, "l"), /out of range.*INTEGER/);
  conversion(() => planValue(UBIG, { text: "-1" }, "l"), /out of range/);
  conversion(() => planValue(BIG, { json: true }, "l"), /boolean/);
  conversion(() => planValue(BIG, { json: [1] }, "l"), /an array/);
});

Deno.test("planValue() passes decimals, dates and other types to DuckDB as exact text", () => {
  deepEqual(planValue(DEC, { json: new JsonNumber("12345678901234.567") }, "l"), {
    sql: "CAST(? AS DECIMAL(18,3))",
    params: ["12345678901234.567"],
  });
  deepEqual(planValue(DEC, { json: 0.1 }, "l").params, ["0.1"]);
  deepEqual(planValue(DEC, { json: 12n ** 20n }, "l").params, [(12n ** 20n).toString()]);
  deepEqual(planValue(DATE, { text: "2024-02-29" }, "l"), {
    sql: "CAST(? AS DATE)",
    params: ["2024-02-29"],
  });
  conversion(() => planValue(DATE, { json: { y: 1 } }, "l"), /an object/);
});

Deno.test("planValue() binds doubles and booleans natively and leaves odd spellings to DuckDB", () => {
  deepEqual(planValue(DBL, { text: "1e-9" }, "l"), { sql: "CAST(? AS DOUBLE)", params: [1e-9] });
  deepEqual(planValue(DBL, { text: "inf" }, "l").params, ["inf"]);
  deepEqual(planValue(DBL, { json: 0.1 }, "l").params, [0.1]);
  deepEqual(planValue(DBL, { json: new JsonNumber("0.1000000000000000000001") }, "l").params, [
    "0.1000000000000000000001",
  ]);
  deepEqual(planValue(FLT, { json: 1.5 }, "l").params, ["1.5"]);
  deepEqual(planValue(BOOL, { text: "T" }, "l"), { sql: "CAST(? AS BOOLEAN)", params: [true] });
  deepEqual(planValue(BOOL, { text: "yes" }, "l").params, ["yes"]);
  deepEqual(planValue(BOOL, { json: false }, "l").params, [false]);
  conversion(() => planValue(BOOL, { json: 1 }, "l"), /number 1/);
});

Deno.test("planValue() takes text as is, BLOB as base64, and nested and JSON values as JSON", () => {
  deepEqual(planValue(TEXT, { text: `'; DROP TABLE t; --` }, "l"), {
    sql: "?",
    params: [`'; DROP TABLE t; --`],
  });
  deepEqual(planValue(TEXT, { json: 12n }, "l").params, ["12"]);
  conversion(() => planValue(TEXT, { json: { a: 1 } }, "l"), /an object.*VARCHAR/);
  deepEqual(planValue(BLOB, { json: "AAE=" }, "l"), { sql: "from_base64(?)", params: ["AAE="] });
  deepEqual(planValue(LIST, { json: [1, 9007199254740993n] }, "l"), {
    sql: "CAST(CAST(? AS JSON) AS INTEGER[])",
    params: ["[1,9007199254740993]"],
  });
  deepEqual(planValue(LIST, { text: "[1, 2]" }, "l"), {
    sql: "CAST(? AS INTEGER[])",
    params: ["[1, 2]"],
  });
  deepEqual(
    planValue(STRUCT, { json: { "a b": 1 } }, "l").sql,
    'CAST(CAST(? AS JSON) AS STRUCT("a b" INTEGER))',
  );
  deepEqual(planValue(JSONC, { json: "hi" }, "l"), { sql: "CAST(? AS JSON)", params: ['"hi"'] });
  deepEqual(planValue(JSONC, { text: '{"a":1}' }, "l").params, ['{"a":1}']);
});

Deno.test("valueSql() depends only on the column type and where the value came from", () => {
  deepEqual(
    [TEXT, BLOB, JSONC, LIST, INT].map((c) => [valueSql(c, "text"), valueSql(c, "json")]),
    [
      ["?", "?"],
      ["from_base64(?)", "from_base64(?)"],
      ["CAST(? AS JSON)", "CAST(? AS JSON)"],
      ["CAST(? AS INTEGER[])", "CAST(CAST(? AS JSON) AS INTEGER[])"],
      ["CAST(? AS INTEGER)", "CAST(? AS INTEGER)"],
    ],
  );
});

Deno.test("stringifyJson(), paramText() and planTextValue() keep values exact", () => {
  equal(
    stringifyJson({ a: [1, 2n ** 64n, new JsonNumber("0.10"), null, 'é"', true] }),
    '{"a":[1,18446744073709551616,0.10,null,"é\\"",true]}',
  );
  deepEqual([paramText(null), paramText(2n ** 70n), paramText(0.1), paramText(false)], [
    null,
    "1180591620717411303424",
    "0.1",
    "false",
  ]);
  deepEqual(planTextValue({ json: 5 }), { sql: "?", params: ["5"] });
  deepEqual(planTextValue({ text: "%x%" }), { sql: "?", params: ["%x%"] });
});
