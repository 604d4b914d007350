import { equal } from "node:assert/strict";
import {
  DuckDBBlobType,
  DuckDBIntegerType,
  DuckDBIntervalType,
  DuckDBListType,
  DuckDBTimestampType,
  DuckDBVarCharType,
  UNION,
} from "@duckdb/node-api";
import { jsonValueSql, parquetValueSql, planCopy } from "../../lib/encode/sql_render.ts";

const json = { bigNumbers: "number" as const };

Deno.test("planCopy() wraps the query with aliases, renders values and sets COPY options", () => {
  const plan = planCopy(
    "SELECT * FROM t -- comment\n;",
    [DuckDBIntegerType.instance, DuckDBBlobType.instance],
    ["id", 'we"ird'],
    "csv",
    { json, csv: { delimiter: ";", nullMarker: "NULL" }, limit: 10 },
  )!;
  equal(
    plan.select,
    'SELECT q.c1 AS "id", to_base64(q.c2) AS "we""ird" FROM (\nSELECT * FROM t -- comment\n) AS q(c1, c2) LIMIT 10',
  );
  equal(
    plan.options,
    "FORMAT csv, HEADER true, DELIMITER ';', NULLSTR 'NULL', QUOTE '\"', ESCAPE '\"', " +
      "NEW_LINE '\r\n', USE_TMP_FILE false",
  );
  equal(
    planCopy("SELECT 1", [DuckDBIntegerType.instance], ["x"], "json", {
      json,
      csv: { delimiter: ",", nullMarker: "" },
    })!
      .options,
    "FORMAT json, USE_TMP_FILE false",
  );
});

Deno.test("planCopy() gives up on types without a SQL rendering", () => {
  const union = UNION({ num: DuckDBIntegerType.instance, text: DuckDBVarCharType.instance });
  const jsonText = new DuckDBVarCharType("JSON");
  equal(
    planCopy("SELECT 1", [jsonText], ["j"], "ndjson", {
      json,
      csv: { delimiter: ",", nullMarker: "" },
    }),
    null,
  );
  equal(jsonValueSql("x", new DuckDBListType(jsonText), json), null);
  equal(jsonValueSql("x", union, json), null);
});

Deno.test("jsonValueSql() converts only what DuckDB would write differently", () => {
  equal(jsonValueSql("x", DuckDBIntegerType.instance, json), "x");
  equal(jsonValueSql("x", new DuckDBListType(DuckDBIntegerType.instance), json), "x");
  equal(
    jsonValueSql("x", new DuckDBListType(DuckDBTimestampType.instance), json),
    "list_transform(x, lambda v0: (CASE WHEN v0 >= TIMESTAMP '0001-01-01' AND v0 < TIMESTAMP " +
      "'10000-01-01' THEN CAST(CAST(v0 AS DATE) AS VARCHAR) || 'T' || CAST(CAST(v0 AS TIME) AS VARCHAR) " +
      "ELSE regexp_replace(CAST(v0 AS VARCHAR), ' ', 'T') END))",
  );
  equal(jsonValueSql("x", DuckDBVarCharType.instance, { bigNumbers: "string" }), "x");
});

Deno.test("parquetValueSql() keeps exact types and converts intervals to a struct", () => {
  equal(parquetValueSql("x", DuckDBIntegerType.instance), "x");
  equal(parquetValueSql("x", DuckDBBlobType.instance), "x");
  equal(parquetValueSql("x", DuckDBIntervalType.instance).includes("struct_pack(months :="), true);
});
