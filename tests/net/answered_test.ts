// The listener reports every answer once to `onAnswered` (what the access log and the metrics
// count): the request the handler got, the status, the body bytes sent, the arrival time and
// whether the answer broke off; over HTTP/1.1 and HTTP/2, for static and streamed bodies, HEAD,
// handler errors, 499s and clients that leave mid-stream. Real listeners, real sockets.
import { deepEqual, equal, ok } from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { createLogger } from "../../lib/log.ts";
import type { Answered, FetchHandler } from "../../lib/net/adapter.ts";
import { type Listener, openListener, type TlsPair } from "../../lib/net/listener.ts";
import { createTestCa, hasOpenssl } from "./_certs.ts";

interface Report extends Answered {
  path: string;
  same: boolean;
  proto: string;
}

/** A body of `parts` chunks of `size` bytes, each after a timer (a real stream). */
function slowStream(parts: number, size: number, gap = 5): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(c) {
      await new Promise((r) => setTimeout(r, gap));
      c.enqueue(new Uint8Array(size).fill(97));
      if (++sent === parts) c.close();
    },
  });
}

/** The app of these tests, by path. */
const app: FetchHandler = async (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/text") return new Response("hello");
  if (path === "/json") return Response.json({ a: 1 });
  if (path === "/stream") return new Response(slowStream(4, 1000));
  if (path === "/endless") return new Response(slowStream(100_000, 1000, 2));
  if (path === "/throws") throw new Error("boom");
  if (path === "/upload") {
    try {
      await request.bytes();
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      return new Response("gone", { status });
    }
  }
  return new Response("?", { status: 404 });
};

async function listen(tls: TlsPair | null = null) {
  const reports: Report[] = [];
  const seen = new Set<Request>();
  const heard = Promise.withResolvers<void>();
  let wanted = Infinity;
  const listener: Listener = await openListener({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    log: createLogger("silent"),
    handler: (request, info) => {
      seen.add(request);
      return app(request, info);
    },
    onAnswered: (request, info, answered) => {
      reports.push({
        ...answered,
        path: new URL(request.url).pathname,
        same: seen.has(request),
        proto: info.proto,
      });
      if (reports.length >= wanted) heard.resolve();
    },
  });
  return {
    listener,
    reports,
    /** Resolves once `n` answers have been reported in all. */
    until(n: number, ms = 3000): Promise<void> {
      wanted = n;
      if (reports.length >= n) return Promise.resolve();
      const timer = setTimeout(() => heard.reject(new Error(`${reports.length} of ${n}`)), ms);
      return heard.promise.finally(() => clearTimeout(timer));
    },
    byPath(path: string): Report[] {
      return reports.filter((r) => r.path === path);
    },
    async [Symbol.asyncDispose]() {
      listener.closeAll();
      await listener.shutdown();
    },
  };
}

/** Sends raw bytes on a new connection and closes it after `ms`. */
function sendAndLeave(port: number, send: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(send);
      setTimeout(() => socket.destroy(), ms);
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve());
  });
}

Deno.test("HTTP/1.1: every answer is reported once with its status, body bytes and timing", async () => {
  await using s = await listen();
  const base = `http://127.0.0.1:${s.listener.port}`;
  const before = performance.now();
  equal(await (await fetch(`${base}/text`)).text(), "hello");
  equal(await (await fetch(`${base}/json`)).text(), '{"a":1}');
  equal((await (await fetch(`${base}/stream`)).bytes()).byteLength, 4000);
  const head = await fetch(`${base}/text`, { method: "HEAD" });
  equal(await head.text(), "");
  const failed = await fetch(`${base}/throws`);
  const problem = await failed.bytes();
  equal(failed.status, 500);
  await s.until(5);
  const [text, headed] = s.byPath("/text");
  deepEqual([text.status, text.bytes, text.aborted, text.same], [200, 5, false, true]);
  ok(text.started >= before && text.started <= performance.now());
  deepEqual([headed.status, headed.bytes, headed.aborted], [200, 0, false]);
  deepEqual([s.byPath("/json")[0].bytes, s.byPath("/stream")[0].bytes], [7, 4000]);
  const thrown = s.byPath("/throws")[0];
  deepEqual([thrown.status, thrown.bytes, thrown.same], [500, problem.byteLength, true]);
  ok(s.reports.every((r) => r.proto === "http/1.1" && r.same));
  await new Promise((r) => setTimeout(r, 50));
  equal(s.reports.length, 5, "each answer reported once");
});

Deno.test("HTTP/1.1: a 499 after a half-sent body and a stream the client left are reported aborted", async () => {
  await using s = await listen();
  const port = s.listener.port;
  await sendAndLeave(
    port,
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n01",
    50,
  );
  await sendAndLeave(port, "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n", 100);
  await s.until(2);
  const upload = s.byPath("/upload")[0];
  deepEqual([upload.status, upload.bytes, upload.aborted], [499, 0, true]);
  const endless = s.byPath("/endless")[0];
  equal(endless.status, 200);
  equal(endless.aborted, true);
  ok(endless.bytes > 0 && endless.bytes < 100_000_000, `${endless.bytes} bytes`);
  await new Promise((r) => setTimeout(r, 50));
  equal(s.reports.length, 2, "each answer reported once");
});

Deno.test({
  name: "HTTP/2: static and streamed answers and a reset stream are each reported once",
  ignore: !(await hasOpenssl()),
  async fn() {
    await using ca = await createTestCa();
    const files = await ca.leaf("server");
    const tls = {
      cert: await Deno.readTextFile(files.cert),
      key: await Deno.readTextFile(files.key),
    };
    await using s = await listen(tls);
    const session = http2.connect(`https://localhost:${s.listener.port}`, { ca: ca.caPem });
    try {
      const get = (path: string, leaveAfter = 0) =>
        new Promise<number>((resolve, reject) => {
          const stream = session.request({ ":path": path });
          let bytes = 0;
          stream.on("data", (chunk: Uint8Array) => {
            bytes += chunk.byteLength;
            if (leaveAfter && bytes >= leaveAfter) {
              stream.close(http2.constants.NGHTTP2_CANCEL);
              resolve(bytes);
            }
          });
          stream.on("end", () => resolve(bytes));
          stream.on("error", reject);
        });
      equal(await get("/text"), 5);
      equal(await get("/stream"), 4000);
      ok(await get("/endless", 3000) >= 3000);
      await s.until(3);
      deepEqual(
        s.reports.map((r) => [r.path, r.status, r.proto, r.aborted, r.same]).sort(),
        [
          ["/endless", 200, "h2", true, true],
          ["/stream", 200, "h2", false, true],
          ["/text", 200, "h2", false, true],
        ],
      );
      deepEqual([s.byPath("/text")[0].bytes, s.byPath("/stream")[0].bytes], [5, 4000]);
      ok(s.byPath("/endless")[0].bytes >= 3000);
      await new Promise((r) => setTimeout(r, 50));
      equal(s.reports.length, 3, "each answer reported once");
    } finally {
      session.close();
    }
  },
});
