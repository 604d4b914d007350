// HTTP/2 over TLS carries every feature (issue 13): streamed exports, long-poll and SSE stream
// reads, and a client stream reset interrupts the query like a closed HTTP/1.1 connection.
import { deepEqual, equal, ok } from "node:assert/strict";
import http2 from "node:http2";
import { testConfig } from "../_helpers.ts";
import { startServer } from "../../lib/server.ts";
import { createLogger } from "../../lib/log.ts";
import { createTestCa, hasOpenssl } from "./_certs.ts";

const ignore = !(await hasOpenssl());

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/2 request on `session`; resolves with the whole body (or the first `until` bytes). */
function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
  until?: (text: string) => boolean,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let text = "";
    let head: http2.IncomingHttpHeaders = {};
    stream.setEncoding("utf8");
    stream.on("response", (h) => (head = h));
    stream.on("data", (chunk: string) => {
      text += chunk;
      if (until?.(text)) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        resolve({ status: Number(head[":status"]), headers: head, body: text });
      }
    });
    stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: text }));
    stream.on("error", reject);
    if (body !== undefined) stream.end(body);
  });
}

async function startH2(flags: Record<string, string> = {}) {
  const ca = await createTestCa();
  const files = await ca.leaf("server");
  const server = await startServer(
    await testConfig({ tls_cert: files.cert, tls_key: files.key, ...flags }),
    { log: createLogger("silent") },
  );
  const session = http2.connect(new URL(server.url).origin, { ca: ca.caPem });
  return {
    server,
    session,
    origin: new URL(server.url).origin,
    async [Symbol.asyncDispose]() {
      session.close();
      await server.shutdown();
      await ca[Symbol.asyncDispose]();
    },
  };
}

const post = (path: string) => ({
  ":method": "POST",
  ":path": path,
  "content-type": "application/json",
});

Deno.test({
  name: "HTTP/2: a streamed CSV export arrives whole",
  ignore,
  fn: async () => {
    await using t = await startH2({ absolute_max_rows: "0" });
    const sql = encodeURIComponent("SELECT range AS i, 'row' || range AS s FROM range(200000)");
    const r = await request(t.session, {
      ":path": `/duckdb/query/${sql}/result.csv`,
      "accept-encoding": "identity",
    });
    equal(r.status, 200);
    equal(r.headers["content-type"], "text/csv; charset=utf-8");
    const lines = r.body.trim().split("\n");
    equal(lines.length, 200_001);
    equal(lines[200_000], "199999,row199999");
  },
});

Deno.test({
  name: "HTTP/2: long-poll and SSE stream reads get appended data",
  ignore,
  fn: async () => {
    await using t = await startH2({ long_poll_timeout: "10s" });
    const created = await request(t.session, {
      ":method": "PUT",
      ":path": "/v1/stream/h2",
      "content-type": "application/json",
    }, "[]");
    equal(created.status, 201);
    const head = await request(t.session, { ":method": "HEAD", ":path": "/v1/stream/h2" });
    const tail = String(head.headers["stream-next-offset"]);
    const poll = request(t.session, { ":path": `/v1/stream/h2?offset=${tail}&live=long-poll` });
    const sse = request(
      t.session,
      { ":path": `/v1/stream/h2?offset=${tail}&live=sse` },
      undefined,
      (text) => text.includes('"n":1'),
    );
    await new Promise((r) => setTimeout(r, 200));
    const appended = await request(t.session, {
      ":method": "POST",
      ":path": "/v1/stream/h2",
      "content-type": "application/json",
    }, '{"n":1}');
    equal(appended.status, 204);
    const polled = await poll;
    equal(polled.status, 200);
    deepEqual(JSON.parse(polled.body), [{ n: 1 }]);
    const events = await sse;
    equal(events.status, 200);
    equal(events.headers["content-type"], "text/event-stream");
    ok(events.body.includes("event: data"), events.body.slice(0, 200));
  },
});

Deno.test({
  name: "HTTP/2: a stream reset interrupts the running statement",
  ignore,
  fn: async () => {
    await using t = await startH2({ threads: "1", query_timeout: "60s" });
    const stream = t.session.request(post("/duckdb/query"));
    stream.on("error", () => {});
    stream.end(JSON.stringify({ sql: "SELECT count(*) FROM range(100000000000) a" }));
    await new Promise((r) => setTimeout(r, 400));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    const started = performance.now();
    // The only pooled connection must be free again: the reset interrupted the statement.
    const r = await request(t.session, post("/duckdb/query"), '{"sql":"SELECT 1 AS one"}');
    equal(r.status, 200);
    deepEqual(JSON.parse(r.body).data, [{ one: 1 }]);
    ok(performance.now() - started < 5_000, `answered after ${performance.now() - started} ms`);
  },
});
