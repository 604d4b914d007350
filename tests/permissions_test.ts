import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  AuthInputError,
  formatOperations,
  isStreamTable,
  OPERATION_NAMES,
  OPERATIONS,
  parseOperations,
  streamTable,
} from "../lib/permissions.ts";

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

Deno.test("streamTable() names a stream's pseudo-table, which isStreamTable() recognizes", () => {
  equal(streamTable("orders/eu"), "stream:orders/eu");
  ok(isStreamTable(streamTable("logs/app.v2")));
  ok(!isStreamTable("orders") && !isStreamTable("main.stream") && !isStreamTable("*"));
  deepEqual(OPERATIONS.map((op) => OPERATION_NAMES[op]), [
    "create",
    "read",
    "update",
    "delete",
    "query",
  ]);
});
