import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { startServer } from "../../lib/server.ts";
import { createLogger } from "../../lib/log.ts";
import { consume, sqlPath, startTestServer, testConfig } from "../_helpers.ts";

const settled = async (promise: Promise<unknown>, ms: number) => {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((r) => setTimeout(r, ms));
  return done;
};

Deno.test("probes while starting: livez 200, readyz and everything else 503 with Retry-After", async () => {
  const gate = Promise.withResolvers<void>();
  const listening = Promise.withResolvers<string>();
  const starting = startServer(await testConfig(), {
    log: createLogger("silent"),
    onListen: (url) => listening.resolve(url),
    beforeOpen: () => gate.promise,
  });
  const url = await listening.promise;
  const livez = await consume(await fetch(`${url}/livez`));
  equal(livez.status, 200);
  deepEqual(livez.body, { status: "ok", phase: "starting" });
  for (const path of ["/readyz", "/health", "/tables", "/openapi.json"]) {
    const reply = await consume(await fetch(`${url}${path}`));
    equal(reply.status, 503, path);
    equal(reply.body.code, "unavailable");
    equal(reply.body.phase, "starting");
    equal(reply.headers.get("retry-after"), "1");
    equal(reply.headers.get("content-type"), "application/problem+json");
  }
  const post = await consume(await fetch(`${url}/query`, { method: "POST", body: "{}" }));
  equal(post.status, 503);
  gate.resolve();
  await using server = await starting;
  equal(server.phase, "ready");
  const ready = await consume(await fetch(`${url}/readyz`));
  equal(ready.status, 200);
  deepEqual(ready.body, { status: "ok", phase: "ready" });
  const head = await fetch(`${url}/readyz`, { method: "HEAD" });
  await head.body?.cancel();
  equal(head.status, 200);
});

Deno.test("a failed start releases the port and rejects", async () => {
  const listening = Promise.withResolvers<string>();
  const failing = startServer(await testConfig(), {
    log: createLogger("silent"),
    onListen: (url) => listening.resolve(url),
    beforeOpen: () => Promise.reject(new Error("cannot open")),
  });
  await rejects(failing, /cannot open/);
  const url = await listening.promise;
  await rejects(fetch(`${url}/livez`));
});

Deno.test("draining: readyz 503 at once, no new connections, in-flight requests finish", async () => {
  const t = await startTestServer({ absolute_max_rows: "0", shutdown_grace: "30s" });
  const response = await fetch(
    // big enough that DuckDB's JSON writer cannot finish it while the client does not read
    `${t.url}${sqlPath("SELECT range AS i, repeat('x', 100) AS pad FROM range(1000000)")}`,
    { headers: { "accept-encoding": "identity" } },
  );
  equal(response.status, 200);
  const reader = response.body!.getReader();
  const first = await reader.read();
  ok(first.value && first.value.byteLength > 0);

  const stopping = t.server.shutdown();
  equal(t.server.phase, "draining");
  const readyz = await consume(await t.server.fetch(new Request(`${t.url}/readyz`)));
  equal(readyz.status, 503);
  equal(readyz.body.phase, "draining");
  equal(readyz.headers.get("retry-after"), "1");
  const livez = await consume(await t.server.fetch(new Request(`${t.url}/livez`)));
  deepEqual(livez.body, { status: "ok", phase: "draining" });
  const late = await consume(
    await t.server.fetch(new Request(`${t.url}/query`, { method: "POST", body: "{}" })),
  );
  equal(late.status, 503, "requests that still reach the app while draining get 503");
  equal(late.body.code, "unavailable");
  await rejects(fetch(`${t.url}/livez`), "the listener is closed");

  ok(!await settled(stopping, 300), "shutdown waits for the in-flight response");
  const decoder = new TextDecoder();
  let text = decoder.decode(first.value, { stream: true });
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value, { stream: true });
  }
  const body = JSON.parse(text);
  equal(body.data.length, 1000000, "the in-flight response is complete");
  await stopping;
  equal(t.server.phase, "stopped");
  const stopped = t.logs.map((l) => JSON.parse(l)).find((e) => e.event === "server_stopped");
  deepEqual([stopped.graceful, stopped.interrupted_connections], [true, 0]);
});

Deno.test("after shutdown_grace, running statements are interrupted with 503 and the server stops", async () => {
  const t = await startTestServer({ shutdown_grace: "300ms", query_timeout: "60s" });
  const slow = t.query("SELECT count(*) FROM range(100000000000) a");
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  await t.server.shutdown();
  const reply = await slow;
  equal(reply.status, 503);
  equal(reply.body.code, "unavailable");
  match(reply.body.detail, /shutting down/);
  ok(performance.now() - started < 10_000, "stopped soon after the grace period");
  const events = t.logs.map((l) => JSON.parse(l));
  const expired = events.find((e) => e.event === "shutdown_grace_expired");
  equal(expired.interrupted_connections, 1);
  const stopped = events.find((e) => e.event === "server_stopped");
  equal(stopped.graceful, false);
});

Deno.test("health and readyz answer at once while every pooled connection runs a long query", async () => {
  await using t = await startTestServer({ threads: "2", query_timeout: "20s" });
  const slow = "SELECT count(*) FROM range(20000000000) a";
  const controllers = [0, 1, 2].map(() => new AbortController());
  const running = controllers.map((c) =>
    fetch(`${t.url}/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql: slow }),
      signal: c.signal,
    }).then((r) => r.body?.cancel(), () => null)
  );
  // Both pooled connections are busy by now (and a third request waits for one).
  await new Promise((r) => setTimeout(r, 1000));
  for (const path of ["/health", "/readyz"]) {
    const started = performance.now();
    const reply = await t.request(path);
    equal(reply.status, 200, `${path}: ${JSON.stringify(reply.body)}`);
    ok(performance.now() - started < 1000, `${path} waited for a pooled connection`);
  }
  for (const c of controllers) c.abort();
  await Promise.all(running);
});
