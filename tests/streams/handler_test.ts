// End-to-end protocol tests against a real server (memory storage): the fragile corners.
import { deepEqual, ok } from "node:assert/strict";
import { call, startTestServer } from "../_helpers.ts";
import { parseSse, readSse } from "../_follow.ts";

const T = { "content-type": "text/plain" };
const J = { "content-type": "application/json" };

Deno.test("PUT/POST/GET/HEAD: headers, offsets, ETag and 304", async () => {
  await using srv = await startTestServer();
  const put = await call(srv.at("a/b"), { method: "PUT", headers: T, body: "one" });
  deepEqual(put.status, 201);
  deepEqual(put.headers.get("location"), srv.at("a/b"));
  deepEqual(put.headers.get("x-content-type-options"), "nosniff");
  const o1 = put.headers.get("stream-next-offset")!;
  const post = await call(srv.at("a/b"), { method: "POST", headers: T, body: "two" });
  deepEqual(post.status, 204);
  const o2 = post.headers.get("stream-next-offset")!;
  ok(o2 > o1);
  const head = await call(srv.at("a/b"), { method: "HEAD" });
  deepEqual(head.headers.get("stream-next-offset"), o2);
  deepEqual(head.headers.get("cache-control"), "no-store");
  deepEqual(head.headers.get("stream-closed"), null);
  const get = await call(srv.at("a/b"));
  deepEqual(get.text, "onetwo");
  deepEqual(get.headers.get("stream-up-to-date"), "true");
  const etag = get.headers.get("etag")!;
  const cond = await call(srv.at("a/b"), { headers: { "if-none-match": etag } });
  deepEqual([cond.status, cond.text], [304, ""]);
  const from = await call(`${srv.at("a/b")}?offset=${o1}`);
  deepEqual(from.text, "two");
  const now = await call(`${srv.at("a/b")}?offset=now`);
  deepEqual([now.text, now.headers.get("etag")], ["", null]);
  deepEqual(now.headers.get("stream-next-offset"), o2);
  // idempotent PUT vs conflicting PUT
  deepEqual((await call(srv.at("a/b"), { method: "PUT", headers: T })).status, 200);
  deepEqual((await call(srv.at("a/b"), { method: "PUT", headers: J })).status, 409);
});

Deno.test("errors are problem+json with a stable code and security headers", async () => {
  await using srv = await startTestServer();
  const missing = await call(srv.at("nope"));
  deepEqual(missing.status, 404);
  deepEqual(missing.headers.get("content-type"), "application/problem+json");
  deepEqual(missing.headers.get("x-content-type-options"), "nosniff");
  const body = JSON.parse(missing.text);
  deepEqual([body.type, body.status, body.code], ["about:blank", 404, "stream_not_found"]);
  await call(srv.at("s"), { method: "PUT", headers: J, body: '[{"a":1},{"b":2}]' });
  const beyond = await call(`${srv.at("s")}?offset=0000000000000000_0000000000001000`);
  deepEqual([beyond.status, JSON.parse(beyond.text).code], [400, "bad_offset"]);
  const mid = await call(`${srv.at("s")}?offset=0000000000000000_0000000000000003`);
  deepEqual(mid.status, 400, "JSON reads must start at a message boundary");
  const bad = await call(srv.at("s"), { method: "POST", headers: J, body: "{nope" });
  deepEqual(JSON.parse(bad.text).code, "invalid_json");
  const ct = await call(srv.at("s"), { method: "POST", headers: T, body: "x" });
  deepEqual([ct.status, JSON.parse(ct.text).code], [409, "content_type_mismatch"]);
  const opt = await call(srv.at("s"), { method: "OPTIONS" });
  deepEqual(opt.status, 204);
  ok(opt.headers.get("access-control-allow-headers")!.includes("if-none-match"));
  const reserved = await call(srv.at("__ds/subscriptions/x"));
  deepEqual(reserved.status, 404);
  const patch = await call(srv.at("s"), { method: "PATCH" });
  deepEqual([patch.status, JSON.parse(patch.text).code], [405, "method_not_allowed"]);
});

Deno.test("413 above max_body_size (maxAppendBytes), 400 on empty append", async () => {
  await using srv = await startTestServer({ max_body_size: "1000" });
  await call(srv.at("s"), { method: "PUT", headers: T });
  const big = await call(srv.at("s"), { method: "POST", headers: T, body: "x".repeat(1001) });
  deepEqual([big.status, JSON.parse(big.text).code], [413, "payload_too_large"]);
  deepEqual((await call(srv.at("s"), { method: "POST", headers: T, body: "" })).status, 400);
  deepEqual((await call(srv.at("s"))).text, "");
});

Deno.test("idempotent producer: accept, duplicate, gap, fencing and close tuple", async () => {
  await using srv = await startTestServer();
  await call(srv.at("p"), { method: "PUT", headers: T });
  const send = (epoch: number, seq: number, body: string, extra: Record<string, string> = {}) =>
    call(srv.at("p"), {
      method: "POST",
      headers: {
        ...T,
        "producer-id": "w",
        "producer-epoch": `${epoch}`,
        "producer-seq": `${seq}`,
        ...extra,
      },
      body,
    });
  deepEqual((await send(0, 0, "a")).status, 200);
  deepEqual((await send(0, 1, "b")).status, 200);
  const dup = await send(0, 0, "a");
  deepEqual([dup.status, dup.headers.get("producer-seq")], [204, "1"]);
  const gap = await send(0, 5, "x");
  deepEqual(gap.status, 409);
  deepEqual(gap.headers.get("producer-expected-seq"), "2");
  deepEqual(gap.headers.get("producer-received-seq"), "5");
  deepEqual((await send(1, 3, "x")).status, 400, "new epoch must start at 0");
  deepEqual((await send(1, 0, "c")).status, 200);
  const stale = await send(0, 2, "zombie");
  deepEqual([stale.status, stale.headers.get("producer-epoch")], [403, "1"]);
  const close = await send(1, 1, "d", { "stream-closed": "true" });
  deepEqual([close.status, close.headers.get("stream-closed")], [200, "true"]);
  deepEqual((await send(1, 1, "other body", { "stream-closed": "true" })).status, 204);
  deepEqual((await send(1, 2, "e")).status, 409);
  deepEqual((await call(srv.at("p"))).text, "abcd");
});

Deno.test("Stream-Seq is compared byte-wise and only stored on success", async () => {
  await using srv = await startTestServer();
  await call(srv.at("q"), { method: "PUT", headers: T });
  const post = (seq: string, body = "x") =>
    call(srv.at("q"), { method: "POST", headers: { ...T, "stream-seq": seq }, body });
  deepEqual((await post("2")).status, 204);
  deepEqual((await post("10")).status, 409);
  deepEqual((await call(srv.at("q"), { method: "POST", headers: J, body: "{}" })).status, 409);
  deepEqual((await post("3")).status, 204);
});

Deno.test("closed streams: 409 with final offset, EOF read, long-poll answers at once", async () => {
  await using srv = await startTestServer({ long_poll_timeout: "5s" });
  await call(srv.at("c"), { method: "PUT", headers: T, body: "x" });
  const close = await call(srv.at("c"), { method: "POST", headers: { "stream-closed": "true" } });
  deepEqual([close.status, close.headers.get("stream-closed")], [204, "true"]);
  const tail = close.headers.get("stream-next-offset")!;
  const again = await call(srv.at("c"), { method: "POST", headers: T, body: "y" });
  deepEqual([again.status, again.headers.get("stream-next-offset")], [409, tail]);
  const eof = await call(`${srv.at("c")}?offset=${tail}`);
  deepEqual([eof.status, eof.text, eof.headers.get("stream-closed")], [200, "", "true"]);
  const started = Date.now();
  const lp = await call(`${srv.at("c")}?offset=${tail}&live=long-poll`);
  deepEqual([lp.status, lp.headers.get("stream-closed")], [204, "true"]);
  ok(Date.now() - started < 1000);
  deepEqual((await call(srv.at("c"), { method: "PUT", headers: T })).status, 409);
  deepEqual(
    (await call(srv.at("c"), { method: "PUT", headers: { ...T, "stream-closed": "true" } })).status,
    200,
  );
});

Deno.test("catch-up reads page large streams without splitting JSON messages", async () => {
  await using srv = await startTestServer({}, { streams: { maxReadBytes: 1000 } });
  const data = new Uint8Array(10_000).map((_, i) => i % 256);
  await call(srv.at("bin"), {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
  const got: number[] = [];
  let offset = "-1";
  let pages = 0;
  for (;;) {
    const res = await fetch(`${srv.at("bin")}?offset=${offset}`);
    const chunk = new Uint8Array(await res.arrayBuffer());
    pages++;
    got.push(...chunk);
    const upToDate = res.headers.get("stream-up-to-date") === "true";
    ok(upToDate === (got.length === data.length), "up-to-date only on the last page");
    offset = res.headers.get("stream-next-offset")!;
    if (upToDate) break;
  }
  deepEqual(pages, 10);
  deepEqual(new Uint8Array(got), data);

  const msgs = Array.from({ length: 50 }, (_, i) => ({ i, pad: "p".repeat(90) }));
  await call(srv.at("json"), { method: "PUT", headers: J, body: JSON.stringify(msgs) });
  const values: unknown[] = [];
  offset = "-1";
  for (;;) {
    const res = await fetch(`${srv.at("json")}?offset=${offset}`);
    const page = await res.json();
    ok(page.length > 0 && page.length < 50, "each page holds whole messages");
    values.push(...page);
    offset = res.headers.get("stream-next-offset")!;
    if (res.headers.get("stream-up-to-date") === "true") break;
  }
  deepEqual(values, msgs);
});

Deno.test("forks: sub-offset prefix, reads across the boundary, soft delete and cascade GC", async () => {
  await using srv = await startTestServer();
  await call(srv.at("src"), { method: "PUT", headers: T, body: "hello" });
  await call(srv.at("src"), { method: "POST", headers: T, body: " world" });
  const fork = await call(srv.at("fork"), {
    method: "PUT",
    headers: {
      "stream-forked-from": "/v1/stream/src",
      "stream-fork-offset": "0000000000000000_0000000000000000",
      "stream-fork-sub-offset": "3",
    },
    body: new TextEncoder().encode("p!"),
  });
  deepEqual([fork.status, fork.headers.get("content-type")], [201, "text/plain"]);
  deepEqual((await call(srv.at("fork"))).text, "help!");
  await call(srv.at("src"), { method: "POST", headers: T, body: " more" });
  deepEqual((await call(srv.at("fork"))).text, "help!", "later source appends are invisible");
  const grand = await call(srv.at("grand"), {
    method: "PUT",
    headers: { "stream-forked-from": "/v1/stream/fork" },
  });
  deepEqual(grand.status, 201);
  await call(srv.at("grand"), { method: "POST", headers: T, body: "?" });
  deepEqual((await call(srv.at("grand"))).text, "help!?");
  // soft delete of sources with live forks
  deepEqual((await call(srv.at("src"), { method: "DELETE" })).status, 204);
  deepEqual((await call(srv.at("fork"), { method: "DELETE" })).status, 204);
  deepEqual((await call(srv.at("src"), { method: "HEAD" })).status, 410);
  deepEqual((await call(srv.at("fork"), { method: "HEAD" })).status, 410);
  deepEqual((await call(srv.at("src"), { method: "PUT", headers: T })).status, 409);
  deepEqual((await call(srv.at("grand"))).text, "help!?", "forks keep reading deleted sources");
  deepEqual(srv.streams!.list(), ["grand"]);
  deepEqual((await call(srv.at("grand"), { method: "DELETE" })).status, 204);
  for (const p of ["src", "fork", "grand"]) {
    deepEqual((await call(srv.at(p), { method: "HEAD" })).status, 404, p);
  }
  deepEqual((await call(srv.at("src"), { method: "PUT", headers: T })).status, 201);
});

Deno.test("_changes/ streams are read-only over HTTP; appendJson/readJson/list work", async () => {
  await using srv = await startTestServer();
  const o1 = await srv.streams!.appendJson("_changes/orders", { op: "insert", id: 1 });
  const o2 = await srv.streams!.appendJson("_changes/orders", [1, 2]);
  ok(o2 > o1);
  for (const method of ["PUT", "POST", "DELETE"]) {
    const res = await call(srv.at("_changes/orders"), {
      method,
      headers: J,
      body: method === "DELETE" ? undefined : "{}",
    });
    deepEqual([res.status, JSON.parse(res.text).code], [403, "read_only_stream"], method);
  }
  const get = await call(srv.at("_changes/orders"));
  deepEqual(JSON.parse(get.text), [{ op: "insert", id: 1 }, [1, 2]]);
  const all = [];
  for await (const m of srv.streams!.readJson("_changes/orders")) all.push(m);
  deepEqual(all, [{ offset: o1, value: { op: "insert", id: 1 } }, {
    offset: o2,
    value: [1, 2],
  }]);
  const rest = [];
  for await (const m of srv.streams!.readJson("_changes/orders", o1)) rest.push(m.value);
  deepEqual(rest, [[1, 2]]);
  await call(srv.at("other"), { method: "PUT", headers: T });
  deepEqual(srv.streams!.list("_changes/*"), ["_changes/orders"]);
  deepEqual(srv.streams!.list(), ["_changes/orders", "other"]);
  const concurrent = await Promise.all(
    Array.from({ length: 20 }, (_, i) => srv.streams!.appendJson("_changes/new", { i })),
  );
  deepEqual(new Set(concurrent).size, 20, "concurrent system appends get distinct offsets");
  const seen = [];
  for await (const m of srv.streams!.readJson("_changes/new")) {
    seen.push((m.value as { i: number }).i);
  }
  deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
});

Deno.test("SSE: data/control pairs, CRLF-safe framing, base64, end after close", async () => {
  await using srv = await startTestServer();
  await call(srv.at("t"), { method: "PUT", headers: T, body: "a\r\n\r\nevent: control" });
  await call(srv.at("t"), { method: "POST", headers: T, body: "b" });
  const sse = await readSse(`${srv.at("t")}?offset=-1&live=sse`, (r) => r.includes("upToDate"));
  deepEqual(sse.headers.get("content-type"), "text/event-stream");
  const events = parseSse(sse.received);
  deepEqual(events.map((e) => e.event), ["data", "control"]);
  deepEqual(events[0].data, "a\n\nevent: controlb", "CR/LF became separate data: lines");
  deepEqual(JSON.parse(events[1].data).upToDate, true);

  await call(srv.at("b"), {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: new Uint8Array([0, 255, 10]),
  });
  await call(srv.at("b"), { method: "POST", headers: { "stream-closed": "true" } });
  const bin = await readSse(`${srv.at("b")}?offset=-1&live=sse`, () => false);
  deepEqual(bin.headers.get("stream-sse-data-encoding"), "base64");
  const ev = parseSse(bin.received);
  deepEqual(ev.map((e) => e.event), ["data", "control"], "response ends after streamClosed");
  deepEqual(ev[0].data, btoa(String.fromCharCode(0, 255, 10)));
  const control = JSON.parse(ev[1].data);
  deepEqual([control.streamClosed, control.streamCursor], [true, undefined]);
});

Deno.test("long-poll waits for an append and times out with 204 + cursor", async () => {
  await using srv = await startTestServer({ long_poll_timeout: "300ms" });
  const put = await call(srv.at("lp"), { method: "PUT", headers: T });
  const tail = put.headers.get("stream-next-offset")!;
  const timeout = await call(`${srv.at("lp")}?offset=${tail}&live=long-poll`);
  deepEqual([timeout.status, timeout.headers.get("stream-up-to-date")], [204, "true"]);
  ok(/^\d+$/.test(timeout.headers.get("stream-cursor")!));
  const waiting = call(`${srv.at("lp")}?offset=${tail}&live=long-poll`);
  await new Promise((r) => setTimeout(r, 50));
  await call(srv.at("lp"), { method: "POST", headers: T, body: "news" });
  const got = await waiting;
  deepEqual([got.status, got.text], [200, "news"]);
  ok(got.headers.get("stream-cursor"));
});

Deno.test("the authorize hook gates every action, including the fork source read", async () => {
  await using srv = await startTestServer();
  await call(srv.at("open"), { method: "PUT", headers: T, body: "x" });
  await call(srv.at("secret"), { method: "PUT", headers: T, body: "s" });
  const asked: string[] = [];
  const authorize = (action: string, path: string) => {
    asked.push(`${action}:${path}`);
    return path !== "secret";
  };
  const handle = (req: Request, path: string) =>
    srv.streams!.handle(req, path, "/v1/stream", { authorize });
  const get = await handle(new Request(srv.at("secret")), "secret");
  deepEqual([get.status, (await get.json()).code], [403, "forbidden"]);
  const allowed = await handle(new Request(srv.at("open")), "open");
  deepEqual([allowed.status, await allowed.text()], [200, "x"]);
  const fork = await handle(
    new Request(srv.at("f"), {
      method: "PUT",
      headers: { "stream-forked-from": "/v1/stream/secret" },
    }),
    "f",
  );
  deepEqual(fork.status, 403);
  await fork.body?.cancel();
  deepEqual(asked, ["read:secret", "read:open", "create:f", "read:secret"]);
  deepEqual((await call(srv.at("f"))).status, 404, "denied fork was not created");
});
