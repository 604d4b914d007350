import { deepEqual, equal, throws } from "node:assert/strict";
import { ApiError } from "../../lib/errors.ts";
import {
  contentTypeFor,
  FORMATS,
  negotiateFormat,
  parseFormatName,
} from "../../lib/encode/formats.ts";

Deno.test("negotiateFormat() picks by explicit format, then q-value, specificity and order", () => {
  const cases: [string | null, string | null, string][] = [
    [null, null, "json"],
    [null, "", "json"],
    [null, "*/*", "json"],
    [null, "application/json", "json"],
    [null, "text/csv", "csv"],
    [null, "text/csv; charset=utf-8", "csv"],
    [null, "application/x-ndjson", "ndjson"],
    [null, "application/ndjson", "ndjson"],
    [null, "application/jsonl", "ndjson"],
    [null, "application/parquet", "parquet"],
    [null, "application/vnd.apache.parquet", "parquet"],
    [null, "application/vnd.apache.arrow.stream", "arrow"],
    [null, "text/csv;q=0.5, application/json", "json"],
    [null, "text/csv;q=0.9, application/json;q=0.8", "csv"],
    [null, "application/parquet, text/csv", "parquet"],
    [null, "text/*", "csv"],
    [null, "application/*", "json"],
    [null, "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", "json"],
    [null, "*/*;q=0.1, text/csv;q=0.2", "csv"],
    [null, "application/json;q=0, */*", "csv"],
    [null, "TEXT/CSV", "csv"],
    ["csv", "application/json", "csv"],
    ["arrow", null, "arrow"],
  ];
  for (const [explicit, accept, expected] of cases) {
    equal(negotiateFormat(explicit as never, accept), expected, `${explicit} ${accept}`);
  }
});

Deno.test("negotiateFormat() refuses with 406 listing what is available", () => {
  for (const accept of ["text/html", "application/xml", "application/json;q=0", "image/*"]) {
    throws(() => negotiateFormat(null, accept), (err: unknown) => {
      equal((err as ApiError).code, "not_acceptable");
      deepEqual(
        (err as ApiError).extra.available,
        FORMATS.flatMap((f) => f.mimeTypes),
      );
      return true;
    });
  }
});

Deno.test("parseFormatName() accepts the five formats in any case and rejects others", () => {
  deepEqual(
    ["json", "CSV", "ndjson", "Parquet", "arrow"].map(parseFormatName),
    ["json", "csv", "ndjson", "parquet", "arrow"],
  );
  for (const bad of ["xml", "xlsx", "", "jsonl"]) {
    throws(
      () => parseFormatName(bad),
      (err: unknown) => (err as ApiError).code === "invalid_request",
    );
  }
});

Deno.test("contentTypeFor() echoes the alias the client asked for, else the format's own", () => {
  equal(contentTypeFor("parquet", null), "application/parquet");
  equal(contentTypeFor("parquet", "application/parquet"), "application/parquet");
  equal(
    contentTypeFor("parquet", "application/vnd.apache.parquet"),
    "application/vnd.apache.parquet",
  );
  equal(
    contentTypeFor("parquet", "application/vnd.apache.parquet;q=0.5, application/parquet"),
    "application/parquet",
  );
  equal(contentTypeFor("ndjson", "application/jsonl"), "application/jsonl");
  equal(contentTypeFor("ndjson", "*/*"), "application/x-ndjson");
  equal(contentTypeFor("csv", "text/csv"), "text/csv; charset=utf-8");
});
