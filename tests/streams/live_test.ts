// Many concurrent live readers: each waits on the stream's waiter list (no polling) and all are
// woken by one append.
import { deepEqual, ok } from "node:assert/strict";
import { call, startTestServer } from "../_helpers.ts";
import { parseSse } from "../_follow.ts";

const T = { "content-type": "text/plain" };
const READERS = 200;

Deno.test(`${READERS} long-poll readers are all woken by one append`, async () => {
  await using srv = await startTestServer({ long_poll_timeout: "10s" });
  const put = await call(srv.at("hot"), { method: "PUT", headers: T, body: "old" });
  const tail = put.headers.get("stream-next-offset")!;
  const readers = Array.from(
    { length: READERS },
    () => call(`${srv.at("hot")}?offset=${tail}&live=long-poll`),
  );
  await new Promise((r) => setTimeout(r, 300)); // let every reader reach the wait
  const started = performance.now();
  await call(srv.at("hot"), { method: "POST", headers: T, body: "new" });
  const results = await Promise.all(readers);
  const elapsed = performance.now() - started;
  for (const r of results) deepEqual([r.status, r.text], [200, "new"]);
  ok(elapsed < 5000, `woken in ${elapsed} ms`);
});

Deno.test(`${READERS} SSE readers each receive one append as a data+control pair`, async () => {
  await using srv = await startTestServer({}, { streams: { sseKeepAliveMs: 60_000 } });
  await call(srv.at("sse"), { method: "PUT", headers: T });
  const ready: Promise<void>[] = [];
  const readers = Array.from({ length: READERS }, () => {
    let markReady!: () => void;
    ready.push(new Promise<void>((r) => markReady = r));
    return (async () => {
      const ctl = new AbortController();
      const res = await fetch(`${srv.at("sse")}?offset=now&live=sse`, { signal: ctl.signal });
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let text = "";
      let announced = false;
      while (!text.includes("event: data")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
        if (!announced && text.includes("upToDate")) {
          announced = true;
          markReady();
        }
      }
      // read the rest of the pair (same write) then hang up
      while (parseSse(text).length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
      await reader.cancel();
      return parseSse(text);
    })();
  });
  await Promise.all(ready);
  await call(srv.at("sse"), { method: "POST", headers: T, body: "fan-out" });
  const all = await Promise.all(readers);
  for (const events of all) {
    deepEqual(events.map((e) => e.event), ["control", "data", "control"]);
    deepEqual(events[1].data, "fan-out");
  }
});
