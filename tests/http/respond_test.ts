import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { leasedSource } from "../../lib/db/leased.ts";
import { acquire, createGuard } from "../../lib/db/run.ts";
import { createLogger, SILENT } from "../../lib/log.ts";
import { type EncodeOptions, encodeRows } from "../../lib/encode/encode_rows.ts";
import { type EncodedBody, producerOf } from "../../lib/encode/byte_producer.ts";
import type { FormatName } from "../../lib/encode/formats.ts";
import { bodyAnswer, type StoredAnswer } from "../../lib/query/answer.ts";
import { respondAnswer, type ResponseOptions } from "../../lib/http/respond.ts";
import { encodeOptions, openTestEngine } from "../_engine.ts";

const engine = await openTestEngine(
  "CREATE TABLE r AS SELECT range AS id, 'n' || range AS name FROM range(10)",
);

const encoding = (format: FormatName, extra: Partial<EncodeOptions> = {}) =>
  encodeOptions(engine, format, extra);

const sending = (format: FormatName, extra: Partial<ResponseOptions> = {}): ResponseOptions => ({
  format,
  requestId: "test",
  log: SILENT,
  ...extra,
});

const bytes = (text: string) => new TextEncoder().encode(text);

/** A body whose first bytes are `head`, then `rest` (an Error fails the pull). */
function body(head: string[], rest: (string | Error)[] = []): EncodedBody {
  let i = 0;
  let cancelled = false;
  return {
    head: head.map(bytes),
    size: head.reduce((n, h) => n + h.length, 0),
    ended: rest.length === 0,
    truncated: false,
    writer: "js",
    rest: {
      next() {
        if (cancelled || i >= rest.length) return Promise.resolve(null);
        const part = rest[i++];
        return part instanceof Error ? Promise.reject(part) : Promise.resolve(bytes(part));
      },
      cancel() {
        cancelled = true;
        return Promise.resolve();
      },
    },
  };
}

Deno.test("respondAnswer() caps a source, says so, and adds the caller's envelope members", async () => {
  const guard = createGuard(10_000);
  const lease = await acquire(engine.pool, guard);
  const result = await lease.connection.run("SELECT id FROM r ORDER BY id");
  const encoded = await encodeRows(
    leasedSource(result, lease, guard),
    encoding("json", { cap: 3, meta: { page: 1 }, totalRows: 10 }),
  );
  const response = await respondAnswer(bodyAnswer(encoded), sending("json"));
  equal(response.headers.get("x-truncated"), "true");
  const json = await response.json();
  deepEqual(json.data, [{ id: 0 }, { id: 1 }, { id: 2 }]);
  deepEqual([json.page, json.truncated, json.total_available], [1, true, 10]);
  equal(engine.pool.busy, 0);
});

Deno.test("respondAnswer() sends a small body whole, and compresses a large one", async () => {
  const small = await respondAnswer(
    bodyAnswer(body(["a,b\r\n"])),
    sending("csv", {
      encoding: "gzip",
      compressMinSize: 1024,
      disposition: { type: "attachment", fileName: "r.csv" },
      headers: { "x-extra": "1" },
    }),
  );
  equal(small.status, 200);
  equal(small.headers.get("content-encoding"), null);
  equal(small.headers.get("content-type"), "text/csv; charset=utf-8");
  equal(small.headers.get("content-disposition"), 'attachment; filename="r.csv"');
  equal(small.headers.get("x-extra"), "1");
  equal(await small.text(), "a,b\r\n");

  const line = "x".repeat(99) + "\n";
  const large = await respondAnswer(
    bodyAnswer(body([line], Array(50).fill(line))),
    sending("ndjson", { encoding: "gzip", compressMinSize: 1024 }),
  );
  equal(large.headers.get("content-encoding"), "gzip");
  const plain = await new Response(large.body!.pipeThrough(new DecompressionStream("gzip")))
    .text();
  equal(plain, line.repeat(51));

  const parquet = await respondAnswer(
    bodyAnswer({ ...body(["PAR1"], Array(50).fill(line)), writer: "duckdb" }),
    sending("parquet", { encoding: "gzip", compressMinSize: 1 }),
  );
  equal(parquet.headers.get("content-encoding"), null, "Parquet is never re-compressed");
  equal((await parquet.arrayBuffer()).byteLength, 4 + 50 * 100);
});

Deno.test("respondAnswer() aborts the body on a failure after streaming began, and logs it", async () => {
  const logs: string[] = [];
  const log = createLogger("debug", (line) => logs.push(line));
  let streaming = false;
  const response = await respondAnswer(
    bodyAnswer(body(['{"data":['], ["{}", new Error("engine gone")]), {
      onStreaming: () => (streaming = true),
    }),
    sending("json", { requestId: "abort-1", log }),
  );
  ok(streaming, "onStreaming runs once the headers are decided");
  equal(response.status, 200);
  await rejects(response.text(), /response aborted after an error \(request abort-1/);
  const failed = logs.map((l) => JSON.parse(l)).find((e) => e.event === "stream_failed");
  equal(failed?.request_id, "abort-1");
  equal(failed?.code, "internal_error");
  match(failed?.error, /engine gone/);
});

Deno.test("respondAnswer() sends a kept answer as a hit, and keeps a fresh one as a miss", async () => {
  let kept: StoredAnswer | null = null;
  const fresh = await respondAnswer(
    bodyAnswer(body(['{"data":[1]}']), {
      headers: { "x-total-count": "1" },
      keep: (answer) => (kept = answer),
    }),
    sending("json"),
  );
  equal(fresh.headers.get("x-cache"), "miss");
  equal(await fresh.text(), '{"data":[1]}');
  ok(kept !== null);
  const stored: StoredAnswer = kept;
  equal(new TextDecoder().decode(stored.body), '{"data":[1]}');
  ok(stored.headers.some(([k, v]) => k === "x-total-count" && v === "1"));
  ok(!stored.headers.some(([k]) => k === "x-cache"), "the cache header is not kept");

  const hit = await respondAnswer({ kind: "stored", stored }, sending("json"));
  equal(hit.headers.get("x-cache"), "hit");
  equal(hit.headers.get("x-total-count"), "1");
  equal(await hit.text(), '{"data":[1]}');
});

Deno.test("respondAnswer() streams a body read ahead only in part", async () => {
  const parts = ["[", "1", ",", "2", "]"];
  const encoded: EncodedBody = {
    head: [bytes(parts[0])],
    size: 1,
    ended: false,
    rest: producerOf(parts.slice(1).map(bytes)),
    truncated: true,
    writer: "js",
  };
  const response = await respondAnswer(bodyAnswer(encoded), sending("json"));
  equal(response.headers.get("x-truncated"), "true");
  equal(response.headers.get("content-length"), null);
  equal(await response.text(), "[1,2]");
});

Deno.test("every lease of respond_test came back, and closing removes the scratch directory", async () => {
  equal(engine.pool.busy, 0);
  await engine.close();
  await rejects(Deno.stat(engine.scratchDirectory), Deno.errors.NotFound);
  await rejects(engine.pool.acquire(), (err: { code: string }) => err.code === "unavailable");
});
