// Every Durable Streams error a client can provoke, through the real server: the code's status
// from ERROR_CODES, one problem+json shape (the server's ApiError via renderProblem), the
// protocol's own headers, and the CORS and security headers on every error.
import { deepEqual, equal, ok } from "node:assert/strict";
import { ERROR_CODES, type ErrorCode } from "../../lib/errors.ts";
import { type Reply, startTestServer } from "../_helpers.ts";

const JSON_TYPE = { "content-type": "application/json" };
const TEXT = { "content-type": "text/plain" };

Deno.test("every stream error answers its code's status as problem+json with the protocol's headers", async () => {
  await using t = await startTestServer({ max_body_size: "1KB" });
  const send = (method: string, path: string, init: RequestInit = {}): Promise<Reply> =>
    t.stream(path, { method, ...init });
  const must = async (reply: Promise<Reply>, status: number) => {
    const r = await reply;
    equal(r.status, status, r.text);
  };
  // Streams the cases need.
  await must(send("PUT", "json", { headers: JSON_TYPE, body: '[{"a":1}]' }), 201);
  await must(send("PUT", "text", { headers: TEXT, body: "x" }), 201);
  await must(send("PUT", "closed", { headers: { ...TEXT, "stream-closed": "true" } }), 201);
  await must(send("PUT", "source", { headers: TEXT, body: "abc" }), 201);
  await must(
    send("PUT", "fork", { headers: { "stream-forked-from": "/v1/stream/source" } }),
    201,
  );
  await must(send("DELETE", "source"), 204); // soft-deleted: the fork still reads it
  const producer = (epoch: number, seq: number) => ({
    ...TEXT,
    "producer-id": "p",
    "producer-epoch": String(epoch),
    "producer-seq": String(seq),
  });
  await must(send("POST", "text", { headers: producer(1, 0), body: "a" }), 200);
  await must(send("POST", "text", { headers: { ...TEXT, "stream-seq": "b" }, body: "b" }), 204);

  const cases: [ErrorCode, string, string, RequestInit?, Record<string, string>?][] = [
    ["bad_path", "PUT", "a//b"],
    ["bad_offset", "GET", "json?offset=zzz"],
    ["bad_query", "GET", "json?offset=-1&live=sometimes"],
    ["bad_ttl", "PUT", "n1", { headers: { "stream-ttl": "-1" } }],
    ["bad_expires_at", "PUT", "n2", { headers: { "stream-expires-at": "soon" } }],
    ["ttl_and_expires_at", "PUT", "n3", {
      headers: { "stream-ttl": "5", "stream-expires-at": "2030-01-01T00:00:00Z" },
    }],
    ["bad_producer_headers", "POST", "text", {
      headers: { ...TEXT, "producer-id": "q" },
      body: "x",
    }],
    ["producer_epoch_seq", "POST", "text", { headers: producer(2, 1), body: "x" }],
    ["bad_fork_headers", "PUT", "n4", { headers: { "stream-fork-offset": "-1" } }],
    ["fork_offset_invalid", "PUT", "n5", {
      headers: { "stream-forked-from": "/v1/stream/json", "stream-fork-offset": "zzz" },
    }],
    ["fork_sub_offset_invalid", "PUT", "n6", {
      headers: { "stream-forked-from": "/v1/stream/json", "stream-fork-sub-offset": "-1" },
    }],
    ["missing_content_type", "POST", "text", { body: new TextEncoder().encode("x") }],
    ["empty_body", "POST", "text", { headers: TEXT }],
    ["empty_json_array", "POST", "json", { headers: JSON_TYPE, body: "[]" }],
    ["invalid_json", "POST", "json", { headers: JSON_TYPE, body: "{" }],
    ["read_only_stream", "POST", "_changes/t", { headers: JSON_TYPE, body: "{}" }],
    ["producer_stale_epoch", "POST", "text", { headers: producer(0, 0), body: "x" }, {
      "producer-epoch": "1",
    }],
    ["stream_not_found", "GET", "nowhere?offset=-1"],
    ["fork_source_not_found", "PUT", "n7", { headers: { "stream-forked-from": "/v1/stream/no" } }],
    ["reserved_path", "GET", "__ds/subscriptions"],
    ["method_not_allowed", "PATCH", "json", {}, {
      allow: "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    }],
    ["stream_exists", "PUT", "json", { headers: TEXT }],
    ["stream_closed", "POST", "closed", { headers: TEXT, body: "x" }, { "stream-closed": "true" }],
    ["content_type_mismatch", "POST", "json", { headers: TEXT, body: "x" }],
    ["seq_conflict", "POST", "text", { headers: { ...TEXT, "stream-seq": "a" }, body: "x" }],
    ["producer_seq_gap", "POST", "text", { headers: producer(1, 5), body: "x" }, {
      "producer-expected-seq": "1",
      "producer-received-seq": "5",
    }],
    ["fork_source_gone", "PUT", "n8", { headers: { "stream-forked-from": "/v1/stream/source" } }],
    ["stream_gone", "GET", "source?offset=-1"],
    ["payload_too_large", "POST", "text", { headers: TEXT, body: "x".repeat(2048) }],
  ];
  for (const [code, method, path, init, headers] of cases) {
    const r = await send(method, path, init);
    const what = `${code}: ${method} ${path} answered ${r.status} ${r.text}`;
    equal(r.status, ERROR_CODES[code][0], what);
    equal(r.headers.get("content-type"), "application/problem+json", what);
    equal(r.body.code, code, what);
    equal(r.body.status, r.status, what);
    equal(typeof r.body.detail, "string", what);
    deepEqual([r.body.error, r.body.message], [r.body.title, r.body.detail], what);
    equal(r.body.request_id, r.headers.get("x-request-id"), what);
    equal(r.headers.get("access-control-allow-origin"), "*", what);
    equal(r.headers.get("x-content-type-options"), "nosniff", what);
    equal(r.headers.get("cache-control"), "no-store", what);
    ok(r.headers.get("access-control-expose-headers")?.includes("stream-next-offset"), what);
    for (const [name, value] of Object.entries(headers ?? {})) {
      equal(r.headers.get(name), value, `${what}: header ${name}`);
    }
  }
  // HEAD errors: the status and headers without a body.
  const head = await send("HEAD", "nowhere");
  equal(head.status, 404);
  equal(head.text, "");
  equal(head.headers.get("access-control-allow-origin"), "*");
});
