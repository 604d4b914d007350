import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { JsonNumber, MAX_JSON_DEPTH, parseJson, readBodyText } from "../../lib/http/body.ts";
import { jsonDepth } from "../../lib/json.ts";
import { ApiError } from "../../lib/errors.ts";

Deno.test("parseJson() keeps integers beyond 2^53 and inexact decimals exactly", () => {
  const v = parseJson(
    '{"big": 9223372036854775807, "neg": -9007199254740993, "small": 42, "d": 999.99, "x": 1.00000000000000000001, "e": 1e400}',
  ) as Record<string, unknown>;
  equal(v.big, 9223372036854775807n);
  equal(v.neg, -9007199254740993n);
  equal(v.small, 42);
  equal(v.d, 999.99);
  ok(v.x instanceof JsonNumber && v.x.text === "1.00000000000000000001");
  ok(v.e instanceof JsonNumber);
  deepEqual(parseJson("[0.1, 2.5e3, -0]"), [0.1, 2500, -0]);
});

Deno.test("parseJson() rejects malformed JSON with invalid_json", () => {
  throws(() => parseJson("{"), (err: ApiError) => err.code === "invalid_json");
  throws(() => parseJson("[1,]"), (err: ApiError) => err.code === "invalid_json");
});

Deno.test("readBodyText() refuses bodies above the limit, declared or streamed", async () => {
  const declared = new Request("http://x/", { method: "POST", body: "x".repeat(100) });
  await rejects(readBodyText(declared, 10), (err: ApiError) => err.code === "payload_too_large");
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("0123456789"));
      c.close();
    },
  });
  const chunked = new Request("http://x/", { method: "POST", body: stream });
  await rejects(readBodyText(chunked, 50), (err: ApiError) => err.status === 413);
  equal(
    await readBodyText(new Request("http://x/", { method: "POST", body: "héllo" }), 10),
    "héllo",
  );
  const invalid = new Request("http://x/", { method: "POST", body: new Uint8Array([0xff, 0xfe]) });
  await rejects(readBodyText(invalid, 10), (err: ApiError) => err.code === "invalid_json");
});

Deno.test("parseJson() refuses arrays and objects nested deeper than MAX_JSON_DEPTH, in one scan", () => {
  const nest = (depth: number) => "[".repeat(depth) + "1" + "]".repeat(depth);
  deepEqual(parseJson(nest(MAX_JSON_DEPTH)), JSON.parse(nest(MAX_JSON_DEPTH)));
  for (const depth of [MAX_JSON_DEPTH + 1, 1000, 100_000]) {
    throws(
      () => parseJson(nest(depth)),
      (err: ApiError) =>
        err.code === "invalid_request" && err.status === 400 &&
        err.message.includes(`${MAX_JSON_DEPTH}`) && err.extra.max_depth === MAX_JSON_DEPTH,
    );
  }
  // brackets inside strings do not count; objects count like arrays
  deepEqual(parseJson(`{"a": "${"[".repeat(500)}"}`), { a: "[".repeat(500) });
  const objects = '{"a":'.repeat(MAX_JSON_DEPTH + 1) + "1" + "}".repeat(MAX_JSON_DEPTH + 1);
  throws(() => parseJson(objects), (err: ApiError) => err.code === "invalid_request");
  equal(jsonDepth(`["\\"[", {"b": [[]]}]`), 4);
});
