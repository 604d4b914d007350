import { deepEqual, equal, throws } from "node:assert/strict";
import type { ApiError } from "../../lib/errors.ts";
import { testConfig } from "../_helpers.ts";
import { contentDisposition, parseDelimiter, parseOutputOptions } from "../../lib/http/output.ts";

const config = await testConfig({ absolute_max_rows: "100", max_export_rows: "5000" });
const request = (query = "", headers: Record<string, string> = {}) =>
  new Request(`http://x/duckdb/query${query}`, { headers });

Deno.test("parseOutputOptions() applies absolute_max_rows to reads and max_export_rows to exports", () => {
  const cases: [string, Record<string, string>, string, number, boolean][] = [
    ["", {}, "json", 100, false],
    ["", { accept: "text/csv" }, "csv", 5000, true],
    ["?format=parquet", {}, "parquet", 5000, true],
    ["?format=arrow", {}, "arrow", 5000, true],
    ["?format=ndjson", {}, "ndjson", 5000, true],
    ["?download=1", {}, "json", 5000, true],
    ["?download=false", {}, "json", 100, false],
  ];
  for (const [query, headers, format, cap, isExport] of cases) {
    const o = parseOutputOptions(request(query, headers), config, { fileName: "result" });
    deepEqual([o.format, o.cap, o.export], [format, cap, isExport], query);
  }
});

Deno.test("parseOutputOptions() reads CSV, JSON, download and compression options", () => {
  let o = parseOutputOptions(
    request("?format=csv&delimiter=tab&null=NA&header=false", { "accept-encoding": "gzip" }),
    config,
    { fileName: "users" },
  );
  deepEqual(o.csv, { delimiter: "\t", nullMarker: "NA", header: false });
  deepEqual(o.disposition, { type: "attachment", fileName: "users.csv" });
  equal(o.encoding, "gzip");
  equal(o.compressMinSize, 1024);
  o = parseOutputOptions(request("?big_numbers=string"), config, { fileName: "result" });
  deepEqual(o.json, { bigNumbers: "string" });
  equal(o.disposition, undefined);
  o = parseOutputOptions(request(), config, {
    suffix: "ndjson",
    fileName: "result",
    alwaysDisposition: true,
  });
  deepEqual(o.disposition, { type: "inline", fileName: "result.ndjson" });
  for (
    const bad of ["?big_numbers=text", "?download=perhaps", "?null=a;b&delimiter=;", "?format=xml"]
  ) {
    throws(
      () => parseOutputOptions(request(bad), config, { fileName: "result" }),
      (err: unknown) => (err as ApiError).code === "invalid_request",
      bad,
    );
  }
});

Deno.test("parseDelimiter() takes one character or tab", () => {
  deepEqual(
    [parseDelimiter(null), parseDelimiter(";"), parseDelimiter("TAB"), parseDelimiter("|")],
    [
      ",",
      ";",
      "\t",
      "|",
    ],
  );
  for (const bad of ["ab", '"', "\n"]) throws(() => parseDelimiter(bad));
});

Deno.test("contentDisposition() quotes ASCII names and adds a UTF-8 name otherwise", () => {
  equal(contentDisposition("attachment", "result.csv"), 'attachment; filename="result.csv"');
  equal(
    contentDisposition("attachment", "données.csv"),
    "attachment; filename=\"donn_es.csv\"; filename*=UTF-8''donn%C3%A9es.csv",
  );
});
