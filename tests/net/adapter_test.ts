// The listener's fast path (lib/net/request.ts, response.ts, adapter.ts): the lazy Request the
// app gets, string and bytes bodies written without a stream, and the connection timers, each
// through a real listener on an ephemeral port and real sockets.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import net from "node:net";
import { PassThrough } from "node:stream";
import type { ApiError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import type { FetchHandler } from "../../lib/net/adapter.ts";
import { type Listener, openListener } from "../../lib/net/listener.ts";
import { LazyAbort, NodeRequest } from "../../lib/net/request.ts";
import { STATIC_BODIES } from "../../lib/net/response.ts";

async function listen(
  handler: FetchHandler,
  options: { idleTimeout?: number; headerTimeout?: number } = {},
): Promise<Listener & AsyncDisposable> {
  const listener = await openListener({
    hostname: "127.0.0.1",
    port: 0,
    handler,
    log: createLogger("silent"),
    responseHeaders: { "x-content-type-options": "nosniff" },
    ...options,
  });
  return Object.assign(listener, {
    [Symbol.asyncDispose]: async () => {
      listener.closeAll();
      await listener.shutdown();
    },
  });
}

/** Sends raw bytes on a new connection; resolves with everything received until it closes. */
function raw(port: number, send: string, closeAfter = 0): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(send);
      if (closeAfter) setTimeout(() => socket.destroy(), closeAfter);
    });
    let received = "";
    socket.on("data", (d) => {
      received += d;
      if (!closeAfter && /\r\n\r\n/.test(received) && /connection: close/i.test(received)) {
        socket.end();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
  });
}

Deno.test("the app's request: a Request with the client's headers, URL, remote address and body", async () => {
  const seen: Record<string, unknown> = {};
  await using listener = await listen(async (request, info) => {
    seen.isRequest = request instanceof Request;
    seen.method = request.method;
    seen.url = request.url;
    seen.repeated = request.headers.get("x-repeated");
    seen.remote = info.remoteAddr.hostname;
    seen.json = await request.json();
    seen.cache = request.cache; // answered by a real Request made on demand
    seen.aborted = request.signal.aborted;
    return new Response("ok");
  });
  const body = '{"sql":"SELECT 1"}';
  const answer = await raw(
    listener.port,
    `POST /q?x=1 HTTP/1.1\r\nHost: example.com:81\r\nX-Repeated: a\r\nx-repeated: b\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  match(answer, /^HTTP\/1\.1 200/);
  deepEqual(seen, {
    isRequest: true,
    method: "POST",
    url: "http://example.com:81/q?x=1",
    repeated: "a, b",
    remote: "127.0.0.1",
    json: { sql: "SELECT 1" },
    cache: "default",
    aborted: false,
  });
});

Deno.test("chunked bodies stream through request.body; an empty body is null", async () => {
  const bodies: string[] = [];
  await using listener = await listen(async (request) => {
    if (request.body === null) return new Response("null");
    const reader = request.body.getReader();
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      text += new TextDecoder().decode(r.value);
    }
    bodies.push(text);
    return new Response(String(text.length));
  });
  const url = `http://127.0.0.1:${listener.port}/`;
  const chunks = new ReadableStream({
    start(c) {
      for (const part of ["ab", "cd", "é"]) c.enqueue(new TextEncoder().encode(part));
      c.close();
    },
  });
  const r = await fetch(url, { method: "POST", body: chunks });
  equal(await r.text(), "5");
  deepEqual(bodies, ["abcdé"]);
  const empty = await fetch(url, { method: "POST", body: "" });
  equal(await empty.text(), "null");
});

Deno.test("a client that leaves mid-body makes the body read fail with 499, and aborts the signal", async () => {
  const failure = Promise.withResolvers<{ code: string; aborted: boolean }>();
  await using listener = await listen(async (request) => {
    try {
      await request.bytes();
    } catch (err) {
      await new Promise((r) => setTimeout(r, 50));
      failure.resolve({ code: (err as ApiError).code, aborted: request.signal.aborted });
    }
    return new Response("unreachable");
  });
  await raw(
    listener.port,
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789",
    100,
  );
  deepEqual(await failure.promise, { code: "client_closed_request", aborted: true });
});

Deno.test("NodeRequest: a body longer than its declared length is refused; an early abort is kept", async () => {
  const stream = new PassThrough();
  const request = new NodeRequest("POST", "http://x/", [], { stream, length: 3 }, new LazyAbort());
  stream.end(new TextEncoder().encode("12345"));
  await rejects(request.bytes(), (err: ApiError) => err.code === "invalid_request");
  await rejects(request.bytes(), TypeError, "a body is read once");

  const abort = new LazyAbort();
  abort.abort(new DOMException("gone", "AbortError"));
  const late = new NodeRequest("GET", "http://x/", ["Accept", "*/*"], null, abort);
  ok(late.signal.aborted, "a signal made after the abort is aborted");
  equal(late.body, null);
  equal(await late.text(), "");
});

Deno.test("string and bytes bodies go out whole with their length; other bodies still work", async () => {
  ok(STATIC_BODIES, "this Deno keeps string and bytes bodies where the listener can read them");
  const bodies: Record<string, () => Response> = {
    "/text": () => new Response("héllo", { headers: { "content-type": "text/plain" } }),
    "/bytes": () => new Response(new Uint8Array([1, 2, 3])),
    "/json": () => Response.json({ a: 1 }),
    "/plain": () => new Response("hi", { status: 404 }),
    "/own-nosniff": () => new Response("x", { headers: { "X-Content-Type-Options": "other" } }),
    "/cookies": () =>
      new Response(null, { status: 204, headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] }),
    "/used": () => {
      const response = new Response("read first");
      void response.body; // a stream now: the streamed path
      return response;
    },
  };
  await using listener = await listen((request) => bodies[new URL(request.url).pathname]());
  const get = (path: string, method = "GET") =>
    raw(listener.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const text = await get("/text");
  match(text, /\r\ncontent-length: 6\r\n/i);
  ok(text.endsWith("\r\n\r\nhéllo"));
  match(text, /\r\nx-content-type-options: nosniff\r\n/i);
  match(text, /\r\ncontent-type: text\/plain\r\n/i, "a lone content-type Deno keeps apart");
  const plain = await get("/plain");
  match(plain, /^HTTP\/1\.1 404/);
  match(plain, /\r\ncontent-type: text\/plain;charset=UTF-8\r\n[\s\S]*\r\n\r\nhi$/i);
  const bytes = await get("/bytes");
  match(bytes, /\r\ncontent-length: 3\r\n/i);
  ok(bytes.endsWith("\r\n\r\n" + String.fromCharCode(1, 2, 3)));
  match(await get("/json"), /content-type: application\/json\r\n[\s\S]*\r\n\r\n\{"a":1\}$/i);
  const own = await get("/own-nosniff");
  match(own, /x-content-type-options: other/i);
  ok(!/nosniff/.test(own), "the handler's own header wins");
  const cookies = await get("/cookies");
  match(cookies, /^HTTP\/1\.1 204/);
  deepEqual(cookies.match(/set-cookie: .*/gi), ["set-cookie: a=1", "set-cookie: b=2"]);
  match(await get("/used"), /\r\n\r\nread first$/);
  const head = await get("/text", "HEAD");
  match(head, /^HTTP\/1\.1 200/);
  ok(head.endsWith("\r\n\r\n"), "HEAD sends no body");
});

Deno.test("an idle_timeout shorter than header_timeout applies once the first request is done", async () => {
  await using listener = await listen(() => new Response("ok"), {
    idleTimeout: 200,
    headerTimeout: 5_000,
  });
  const opened = performance.now();
  const answer = await raw(listener.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const after = performance.now() - opened;
  match(answer, /^HTTP\/1\.1 200/);
  ok(after >= 150 && after < 2_000, `closed after ${after} ms`);
});

Deno.test("an answer written while the listener drains says Connection: close and is whole", async () => {
  const release = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  await using listener = await listen(async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      started.resolve();
      await release.promise;
    }
    return new Response("done", { headers: { "content-type": "text/plain" } });
  });
  // Two pipelined requests: the second reaches the handler only after the first is answered.
  const answer = raw(
    listener.port,
    "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  await started.promise;
  const drained = listener.shutdown();
  release.resolve();
  const text = await answer;
  await drained;
  match(text, /^HTTP\/1\.1 200 OK\r\n/);
  match(text, /\r\nconnection: close\r\n/i);
  match(text, /\r\ncontent-type: text\/plain\r\n/i);
  ok(text.endsWith("\r\n\r\ndone"), text);
});
