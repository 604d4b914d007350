// Pure stages of the streams module: offsets, cursor, content types, JSON mode, SSE framing,
// producer decisions, globs, CRC and the record codec. No server, exact assertions.
import { deepEqual, notDeepEqual, ok, throws } from "node:assert/strict";
import {
  formatOffset,
  parseOffset,
  parseOffsetParam,
  ZERO_OFFSET,
} from "../../lib/streams/offsets.ts";
import { computeCursor } from "../../lib/streams/cursor.ts";
import {
  isJsonType,
  isSseTextType,
  normalizeContentType,
  sameMediaType,
} from "../../lib/streams/content_type.ts";
import { joinJsonArray, parseJsonMessages } from "../../lib/streams/json_mode.ts";
import { encodeBase64, encodeControlEvent, encodeSseEvent } from "../../lib/streams/sse.ts";
import { decideProducer } from "../../lib/streams/producer.ts";
import { compileGlob } from "../../lib/glob.ts";
import { crc32c } from "../../lib/streams/crc32.ts";
import {
  decodeBody,
  encodeRecord,
  FRAME_HEADER_BYTES,
  readFrameLength,
} from "../../lib/streams/record.ts";
import {
  parsePostHeaders,
  parsePutHeaders,
  parseReadRequest,
  validateStreamPath,
} from "../../lib/streams/request.ts";
import { ApiError } from "../../lib/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("formatOffset() is fixed-width so lexicographic order is numeric order", () => {
  deepEqual(formatOffset(0), ZERO_OFFSET);
  deepEqual(formatOffset(10), "0000000000000000_0000000000000010");
  ok(formatOffset(9) < formatOffset(10));
  ok(formatOffset(99_999) < formatOffset(100_000));
});

Deno.test("parseOffsetParam() accepts only -1, now and well-formed offsets", () => {
  deepEqual(parseOffsetParam("-1"), { kind: "start" });
  deepEqual(parseOffsetParam("now"), { kind: "now" });
  deepEqual(parseOffsetParam(formatOffset(42)), { kind: "at", pos: 42 });
  for (
    const bad of [
      "",
      "0",
      "0_1",
      "0,1",
      "0 1",
      "../x",
      "a/b",
      "NOW",
      "-2",
      "\n",
      formatOffset(1) + "\r\n",
    ]
  ) {
    deepEqual(parseOffsetParam(bad), null, JSON.stringify(bad));
  }
  // a non-zero generation is not an offset this server ever minted
  deepEqual(parseOffset("0000000000000001_0000000000000000"), null);
  deepEqual(parseOffset("0000000000000000_9999999999999999"), Infinity);
});

Deno.test("computeCursor() returns the interval and jumps past an echoed current cursor", () => {
  const now = Date.UTC(2025, 0, 1);
  const c = computeCursor(now, null, () => 0.5);
  deepEqual(c, String(Math.floor((now - Date.UTC(2024, 9, 9)) / 20_000)));
  deepEqual(computeCursor(now, "12", () => 0.5), c, "an old cursor is ignored");
  const bumped = computeCursor(now, c, () => 0);
  deepEqual(Number(bumped), Number(c) + 1);
  ok(Number(computeCursor(now, c, () => 0.999)) > Number(c) + 100);
  deepEqual(computeCursor(now, "abc", () => 0), c);
});

Deno.test("content types are compared by normalized media type", () => {
  deepEqual(normalizeContentType("TEXT/Plain"), "text/plain");
  deepEqual(
    normalizeContentType("application/json;charset=utf-8"),
    "application/json; charset=utf-8",
  );
  deepEqual(normalizeContentType("nonsense"), null);
  deepEqual(normalizeContentType(null), null);
  ok(sameMediaType("text/plain", "TEXT/PLAIN; charset=utf-8"));
  ok(!sameMediaType("text/plain", "application/json"));
  ok(isJsonType("application/json; charset=utf-8"));
  ok(isSseTextType("text/csv") && isSseTextType("application/json"));
  ok(!isSseTextType("application/octet-stream"));
});

Deno.test("parseJsonMessages() flattens exactly one array level", () => {
  const msgs = (body: string, allowEmpty = false) => {
    const r = parseJsonMessages(enc.encode(body), allowEmpty);
    return r.ok ? r.messages.map((m) => dec.decode(m)) : r.reason;
  };
  deepEqual(msgs('{"a":1}'), ['{"a":1}']);
  deepEqual(msgs('[{"a":1},{"b":2}]'), ['{"a":1}', '{"b":2}']);
  deepEqual(msgs("[[1,2],[3]]"), ["[1,2]", "[3]"]);
  deepEqual(msgs("[[[1]]]"), ["[[1]]"]);
  deepEqual(msgs(" 42 "), ["42"]);
  deepEqual(msgs("[]"), "empty_array");
  deepEqual(msgs("[]", true), []);
  deepEqual(msgs("{ invalid"), "invalid_json");
  deepEqual(dec.decode(joinJsonArray([enc.encode("1"), enc.encode('"x"')])), '[1,"x"]');
  deepEqual(dec.decode(joinJsonArray([])), "[]");
});

Deno.test("encodeSseEvent() prefixes every CR/LF/CRLF-separated line with data:", () => {
  deepEqual(
    encodeSseEvent("data", "a\r\nb\rc\nd"),
    "event: data\ndata:a\ndata:b\ndata:c\ndata:d\n\n",
  );
  deepEqual(encodeSseEvent("data", ""), "event: data\ndata:\n\n");
  const injected = encodeSseEvent("data", "x\n\nevent: control\ndata: {}");
  deepEqual(injected.split("\n\n").length, 2, "no blank line inside the event");
  deepEqual(
    encodeControlEvent({ streamNextOffset: ZERO_OFFSET, upToDate: true }),
    `event: control\ndata:{"streamNextOffset":"${ZERO_OFFSET}","upToDate":true}\n\n`,
  );
  const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
  deepEqual(atob(encodeBase64(bytes)).length, bytes.length);
  deepEqual(encodeBase64(enc.encode("Hello")), "SGVsbG8=");
});

Deno.test("decideProducer() implements epoch fencing, dedup and gap detection", () => {
  deepEqual(decideProducer(undefined, { epoch: 3, seq: 0 }), {
    kind: "accept",
    next: { epoch: 3, lastSeq: 0 },
  });
  deepEqual(decideProducer(undefined, { epoch: 0, seq: 1 }), {
    kind: "gap",
    expected: 0,
    received: 1,
  });
  const st = { epoch: 1, lastSeq: 4 };
  deepEqual(decideProducer(st, { epoch: 0, seq: 5 }), { kind: "stale_epoch", currentEpoch: 1 });
  deepEqual(decideProducer(st, { epoch: 2, seq: 0 }), {
    kind: "accept",
    next: { epoch: 2, lastSeq: 0 },
  });
  deepEqual(decideProducer(st, { epoch: 2, seq: 3 }), { kind: "epoch_seq_not_zero" });
  deepEqual(decideProducer(st, { epoch: 1, seq: 2 }), { kind: "duplicate", state: st });
  deepEqual(decideProducer(st, { epoch: 1, seq: 5 }), {
    kind: "accept",
    next: { epoch: 1, lastSeq: 5 },
  });
  deepEqual(decideProducer(st, { epoch: 1, seq: 7 }), { kind: "gap", expected: 5, received: 7 });
});

Deno.test("compileGlob(): * stays in a segment, ** spans segments", () => {
  ok(compileGlob("orders/*")("orders/2024"));
  ok(!compileGlob("orders/*")("orders/2024/01"));
  ok(compileGlob("orders/**")("orders/2024/01"));
  ok(compileGlob("**/x")("x") && compileGlob("**/x")("a/b/x"));
  ok(!compileGlob("a.b")("aXb"), "dots are literal");
});

Deno.test("crc32c() matches the Castagnoli check value", () => {
  deepEqual(crc32c(enc.encode("123456789")), 0xe3069283);
  deepEqual(crc32c(new Uint8Array(0)), 0);
});

Deno.test("record codec round-trips and rejects corruption", () => {
  const payload = enc.encode("hello world");
  const { bytes, payloadOffset } = encodeRecord({
    type: "append",
    meta: { units: [[5, 6]], prod: ["p", 0, 3], sseq: "a", closed: true, ts: 1 },
    payload,
  });
  const header = bytes.subarray(0, FRAME_HEADER_BYTES);
  const body = bytes.subarray(FRAME_HEADER_BYTES);
  deepEqual(readFrameLength(header), body.length);
  const decoded = decodeBody(header, body);
  ok(decoded && decoded.record.type === "append");
  deepEqual(decoded.payloadOffset + FRAME_HEADER_BYTES, payloadOffset);
  deepEqual(decoded.record.meta.prod, ["p", 0, 3]);
  deepEqual(dec.decode(bytes.subarray(payloadOffset)), "hello world");
  const flipped = body.slice();
  flipped[flipped.length - 1] ^= 1;
  deepEqual(decodeBody(header, flipped), null, "a flipped bit fails the checksum");
  deepEqual(decodeBody(header, body.subarray(0, body.length - 1)), null, "a torn body fails");
  deepEqual(readFrameLength(new Uint8Array(8)), null, "zero length is implausible");
  const del = encodeRecord({ type: "delete" });
  deepEqual(decodeBody(del.bytes.subarray(0, 8), del.bytes.subarray(8))?.record, {
    type: "delete",
  });
});

Deno.test("request parsing rejects malformed protocol headers with 400", () => {
  const put = (h: Record<string, string>) => parsePutHeaders(new Headers(h), "/v1/stream");
  const status = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof ApiError ? e.status : -1;
    }
    return 0;
  };
  for (const ttl of ["abc", "-1", "00060", "+60", "60.5", "1e3"]) {
    deepEqual(status(() => put({ "stream-ttl": ttl })), 400, ttl);
  }
  deepEqual(put({ "stream-ttl": "0" }).ttlSeconds, 0);
  deepEqual(
    status(() => put({ "stream-ttl": "1", "stream-expires-at": new Date().toISOString() })),
    400,
  );
  deepEqual(status(() => put({ "stream-expires-at": "not-a-timestamp" })), 400);
  deepEqual(
    put({ "stream-expires-at": "2030-01-01T00:00:00+02:00" }).expiresAtMs,
    Date.UTC(2029, 11, 31, 22),
  );
  deepEqual(status(() => put({ "stream-fork-sub-offset": "0" })), 400);
  deepEqual(
    status(() => put({ "stream-forked-from": "/v1/stream/a", "stream-fork-sub-offset": "1" })),
    400,
  );
  deepEqual(status(() => put({ "stream-forked-from": "/elsewhere/a" })), 400);
  deepEqual(put({ "stream-forked-from": "/v1/stream/a%2Fb/c" }).fork?.from, "a/b/c");
  const post = (h: Record<string, string>) => parsePostHeaders(new Headers(h));
  deepEqual(status(() => post({ "producer-id": "p" })), 400);
  deepEqual(
    status(() => post({ "producer-id": "", "producer-epoch": "0", "producer-seq": "0" })),
    400,
  );
  deepEqual(
    status(() => post({ "producer-id": "p", "producer-epoch": "1e3", "producer-seq": "0" })),
    400,
  );
  deepEqual(post({ "producer-id": "p", "producer-epoch": "2", "producer-seq": "7" }).producer, {
    id: "p",
    epoch: 2,
    seq: 7,
  });
  const read = (q: string) => parseReadRequest(new URL(`http://x/s?${q}`), new Headers());
  deepEqual(status(() => read("offset=")), 400);
  deepEqual(status(() => read("offset=-1&offset=now")), 400);
  deepEqual(status(() => read("live=long-poll")), 400);
  deepEqual(status(() => read("offset=-1&live=bogus")), 400);
  deepEqual(read("offset=now&live=sse&foo=bar").live, "sse");
  throws(() => validateStreamPath("a//b"));
  throws(() => validateStreamPath("a/../b"));
  throws(() => validateStreamPath(""));
  validateStreamPath("orders/2024");
  notDeepEqual(formatOffset(1), formatOffset(2));
});
