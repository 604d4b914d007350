import { equal, match, ok } from "node:assert/strict";
import { startAuthServer } from "../_helpers.ts";

const LONG_SQL = "SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b";

Deno.test("dashboard: the page and its assets are public, local and locked down by CSP", async () => {
  await using t = await startAuthServer();
  const page = await t.request("/dashboard");
  equal(page.status, 200);
  match(page.headers.get("content-type")!, /^text\/html/);
  const csp = page.headers.get("content-security-policy")!;
  match(csp, /default-src 'self'/);
  match(csp, /script-src 'self'/);
  // Every script and style sheet is one of the embedded assets (relative, no CDN).
  const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  ok(refs.length >= 4);
  for (const ref of refs) ok(ref.startsWith("dashboard/assets/") || ref === "data:,", ref);
  const types: Record<string, RegExp> = {
    "uPlot.min.js": /^text\/javascript/,
    "uPlot.min.css": /^text\/css/,
    "dashboard.js": /^text\/javascript/,
    "dashboard.css": /^text\/css/,
  };
  for (const [name, type] of Object.entries(types)) {
    const asset = await t.request(`/dashboard/assets/${name}`);
    equal(asset.status, 200, name);
    match(asset.headers.get("content-type")!, type);
    ok(asset.text.length > 1000, name);
  }
  match((await t.request("/dashboard/assets/uPlot.min.js")).text, /uPlot/);
  const unknown = await t.request("/dashboard/assets/nope.js", { headers: t.as(t.keys.admin) });
  equal(unknown.status, 404);
  equal(unknown.body.code, "route_not_found");
});

Deno.test("dashboard: the feed needs an admin key and sends hello, then a tick a second", async () => {
  await using t = await startAuthServer({ roles: { analyst: [["*", "rq"]] } });
  equal((await t.request("/dashboard/feed")).status, 401);
  const reader = await t.request("/dashboard/feed", { headers: t.as(t.keys.analyst) });
  equal(reader.status, 403);
  equal(reader.body.code, "forbidden");

  const feed = await fetch(`${t.url}/dashboard/feed`, {
    headers: { accept: "text/event-stream", ...t.as(t.keys.admin) },
  });
  equal(feed.status, 200);
  match(feed.headers.get("content-type")!, /^text\/event-stream/);
  const running = fetch(`${t.url}/query`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-id": "feed-long",
      ...t.as(t.keys.analyst),
    },
    body: JSON.stringify({ sql: LONG_SQL }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
  for (let i = 0; i < 5; i++) await t.query("SELECT 1", undefined, t.as(t.keys.admin));

  // deno-lint-ignore no-explicit-any
  const events: { name: string; data: any }[] = [];
  const text = feed.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    const { value, done } = await text.read();
    if (done) break;
    buffer += value;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)![1];
      events.push({ name, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) });
    }
    const ticks = events.filter((e) => e.name === "tick");
    // deno-lint-ignore no-explicit-any
    const seen = ticks.some((e) => e.data.queries.some((q: any) => q.request_id === "feed-long"));
    const counted = ticks.reduce((n, e) => n + e.data.frame.requests, 0);
    if (seen && counted >= 5) break;
  }
  await text.cancel();
  equal(events[0].name, "hello");
  ok(Array.isArray(events[0].data.history));
  const ticks = events.filter((e) => e.name === "tick");
  ok(ticks.length >= 1, "no tick");
  const last = ticks[ticks.length - 1].data;
  for (const key of ["requests", "errors", "cache_hits", "in_flight", "queued", "connections"]) {
    ok(key in last.frame, key);
  }
  ok(last.frame.pool && typeof last.frame.pool.busy === "number");
  ok(ticks.reduce((n, e) => n + e.data.frame.requests, 0) >= 5, "requests counted");
  ok(
    ticks.some((e) => e.data.frame.latency["/duckdb/query"]?.count > 0),
    "latency per route",
  );
  const listed = ticks.flatMap((e) => e.data.queries)
    // deno-lint-ignore no-explicit-any
    .find((q: any) => q.request_id === "feed-long");
  ok(listed, "the running query is in the feed");
  equal(listed.role, "analyst");

  const cancel = await t.request("/queries/feed-long", {
    method: "DELETE",
    headers: t.as(t.keys.admin),
  });
  equal(cancel.status, 202);
  equal((await running).body.code, "query_canceled");

  // Without `Accept: text/event-stream`: one JSON snapshot, and the answer ends.
  const snapshot = await t.request("/dashboard/feed", { headers: t.as(t.keys.admin) });
  equal(snapshot.status, 200);
  ok(snapshot.body.history.length >= 1, "the frames seen while watched");
  ok(Array.isArray(snapshot.body.queries));
});
