// Durable storage: restart consistency, torn-tail recovery, handle LRU, and a SIGKILL crash test
// against a real server subprocess.
import { assert, assertEquals } from "./_assert.ts";
import { call, startServer } from "./_server.ts";
import type { StreamsEvent } from "../../lib/streams/mod.ts";

const T = { "content-type": "text/plain" };
const J = { "content-type": "application/json" };

async function logFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/streams`)) {
    if (e.name.endsWith(".log")) out.push(`${dir}/streams/${e.name}`);
  }
  return out.sort();
}

function producer(id: string, epoch: number, seq: number): Record<string, string> {
  return { "producer-id": id, "producer-epoch": `${epoch}`, "producer-seq": `${seq}` };
}

Deno.test("durable storage restores data, producer state, seq, closure, TTL and forks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-durable-" });
  try {
    {
      await using srv = await startServer({ storage: { kind: "dir", dir } });
      await call(srv.at("a"), { method: "PUT", headers: { ...T, "stream-ttl": "3600" } });
      for (const [seq, body] of [[0, "x"], [1, "y"]] as const) {
        const r = await call(srv.at("a"), {
          method: "POST",
          headers: { ...T, ...producer("p", 0, seq), "stream-seq": `s${seq}` },
          body,
        });
        assertEquals(r.status, 200);
      }
      await call(srv.at("j"), { method: "PUT", headers: J, body: '[{"n":1},{"n":2},{"n":3}]' });
      const close = await call(srv.at("j"), {
        method: "POST",
        headers: { ...J, ...producer("c", 2, 0), "stream-closed": "true" },
        body: '{"n":4}',
      });
      assertEquals(close.status, 200);
      const fork = await call(srv.at("f"), {
        method: "PUT",
        headers: {
          "stream-forked-from": "/v1/stream/j",
          "stream-fork-offset": "0000000000000000_0000000000000000",
          "stream-fork-sub-offset": "2",
        },
      });
      assertEquals(fork.status, 201);
      await call(srv.at("f"), { method: "POST", headers: J, body: '{"fork":true}' });
      assertEquals((await call(srv.at("j"), { method: "DELETE" })).status, 204); // soft
      await call(srv.at("gone"), { method: "PUT", headers: T, body: "bye" });
      assertEquals((await call(srv.at("gone"), { method: "DELETE" })).status, 204);
      await srv.streams.appendJson("_changes/t", { op: "x" });
    }
    await using srv = await startServer({ storage: { kind: "dir", dir } });
    assertEquals(srv.streams.list(), ["_changes/t", "a", "f"]);
    assertEquals((await call(srv.at("a"))).text, "xy");
    const head = await call(srv.at("a"), { method: "HEAD" });
    assertEquals(head.headers.get("stream-ttl"), "3600");
    const dup = await call(srv.at("a"), {
      method: "POST",
      headers: { ...T, ...producer("p", 0, 1) },
      body: "y",
    });
    assertEquals([dup.status, dup.headers.get("producer-seq")], [204, "1"]);
    const seqConflict = await call(srv.at("a"), {
      method: "POST",
      headers: { ...T, "stream-seq": "s0" },
      body: "z",
    });
    assertEquals(seqConflict.status, 409, "Stream-Seq survives restart");
    const next = await call(srv.at("a"), {
      method: "POST",
      headers: { ...T, ...producer("p", 0, 2) },
      body: "z",
    });
    assertEquals(next.status, 200);
    assertEquals((await call(srv.at("j"), { method: "HEAD" })).status, 410, "soft delete survives");
    assertEquals(JSON.parse((await call(srv.at("f"))).text), [{ n: 1 }, { n: 2 }, { fork: true }]);
    assertEquals((await call(srv.at("gone"))).status, 404);
    assertEquals((await call(srv.at("gone"), { method: "PUT", headers: J })).status, 201);
    // deleting the last fork garbage-collects the soft-deleted source and its file
    const before = (await logFiles(dir)).length;
    assertEquals((await call(srv.at("f"), { method: "DELETE" })).status, 204);
    assertEquals((await call(srv.at("j"), { method: "HEAD" })).status, 404);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals((await logFiles(dir)).length, before - 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a torn or garbage tail is truncated on recovery; earlier records survive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-torn-" });
  try {
    {
      await using srv = await startServer({ storage: { kind: "dir", dir } });
      await call(srv.at("t"), { method: "PUT", headers: T, body: "one" });
      await call(srv.at("t"), { method: "POST", headers: T, body: "two" });
      await call(srv.at("t"), {
        method: "POST",
        headers: { ...T, ...producer("p", 0, 0), "stream-closed": "true" },
        body: "three",
      });
    }
    const [file] = await logFiles(dir);
    const size = (await Deno.stat(file)).size;
    await Deno.truncate(file, size - 3); // tear the last record (data + producer + close)
    const events: StreamsEvent[] = [];
    {
      await using srv = await startServer({
        storage: { kind: "dir", dir },
        onEvent: (e) => events.push(e),
      });
      assert(events.some((e) => e.type === "recovery_truncated"));
      const get = await call(srv.at("t"));
      assertEquals([get.text, get.headers.get("stream-closed")], ["onetwo", null]);
      // the torn record's producer state is gone too: seq 0 is new again
      const again = await call(srv.at("t"), {
        method: "POST",
        headers: { ...T, ...producer("p", 0, 0) },
        body: "four",
      });
      assertEquals(again.status, 200);
    }
    const f = await Deno.open(file, { append: true });
    await f.write(crypto.getRandomValues(new Uint8Array(37)));
    f.close();
    events.length = 0;
    {
      await using srv = await startServer({
        storage: { kind: "dir", dir },
        onEvent: (e) => events.push(e),
      });
      assertEquals(events.filter((e) => e.type === "recovery_truncated").length, 1);
      assertEquals((await call(srv.at("t"))).text, "onetwofour");
      await call(srv.at("t"), { method: "POST", headers: T, body: "five" });
    }
    events.length = 0;
    await using srv = await startServer({
      storage: { kind: "dir", dir },
      onEvent: (e) => events.push(e),
    });
    assertEquals(events.filter((e) => e.type === "recovery_truncated").length, 0);
    assertEquals((await call(srv.at("t"))).text, "onetwofourfive");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("many streams with a small handle LRU stay readable and writable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-lru-" });
  try {
    const N = 40;
    {
      await using srv = await startServer({ storage: { kind: "dir", dir }, maxOpenFiles: 4 });
      await Promise.all(
        Array.from(
          { length: N },
          (_, i) => call(srv.at(`s/${i}`), { method: "PUT", headers: T, body: `${i}:` }),
        ),
      );
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from(
            { length: N },
            (_, i) => call(srv.at(`s/${i}`), { method: "POST", headers: T, body: `${round}` }),
          ),
        );
      }
      for (let i = 0; i < N; i++) assertEquals((await call(srv.at(`s/${i}`))).text, `${i}:012`);
    }
    await using srv = await startServer({ storage: { kind: "dir", dir }, maxOpenFiles: 4 });
    assertEquals(srv.streams.list("s/*").length, N);
    for (let i = 0; i < N; i++) assertEquals((await call(srv.at(`s/${i}`))).text, `${i}:012`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A server subprocess on durable storage. */
async function spawnServer(dir: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const fixture = new URL("./_serve_fixture.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture, dir],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/listening (\d+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited before listening");
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { url: `http://127.0.0.1:${/listening (\d+)/.exec(out)![1]}/v1/stream`, child };
}

Deno.test("SIGKILL mid-write: every acknowledged append survives exactly once, in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-crash-" });
  try {
    const first = await spawnServer(dir);
    await call(`${first.url}/crash`, { method: "PUT", headers: T });
    await call(`${first.url}/plain`, { method: "PUT", headers: T });
    const WRITERS = 8;
    const acked: Set<string>[] = Array.from({ length: WRITERS }, () => new Set());
    const plainAcked = new Set<string>();
    let killed = false;
    const writer = async (w: number) => {
      for (let k = 0; !killed; k++) {
        const msg = `w${w}:${k};`;
        try {
          const r = await call(`${first.url}/crash`, {
            method: "POST",
            headers: { ...T, ...producer(`w${w}`, 0, k) },
            body: msg,
          });
          if (r.status === 200) acked[w].add(msg);
          else throw new Error(`unexpected status ${r.status}`);
          const p = `p${w}:${k};`;
          const rp = await call(`${first.url}/plain`, { method: "POST", headers: T, body: p });
          if (rp.status === 204) plainAcked.add(p);
        } catch (e) {
          if (killed) return;
          throw e;
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    while (acked.reduce((n, s) => n + s.size, 0) < 400) {
      await new Promise((r) => setTimeout(r, 20));
    }
    killed = true;
    first.child.kill("SIGKILL");
    await first.child.status;
    await Promise.allSettled(writers);

    const second = await spawnServer(dir);
    try {
      const text = (await call(`${second.url}/crash`)).text;
      const entries = text.split(";").filter(Boolean).map((e) => `${e};`);
      assertEquals(new Set(entries).size, entries.length, "no duplicated message");
      for (let w = 0; w < WRITERS; w++) {
        const mine = entries.filter((e) => e.startsWith(`w${w}:`));
        const ks = mine.map((e) => Number(e.slice(e.indexOf(":") + 1, -1)));
        assertEquals(ks, ks.map((_, i) => i), `writer ${w}: contiguous, in order`);
        for (const m of acked[w]) assert(mine.includes(m), `acknowledged ${m} survived`);
        // producer state survived with the data: the last persisted seq is a duplicate now
        const last = ks.length - 1;
        const dup = await call(`${second.url}/crash`, {
          method: "POST",
          headers: { ...T, ...producer(`w${w}`, 0, last) },
          body: "dup",
        });
        assertEquals([dup.status, dup.headers.get("producer-seq")], [204, `${last}`]);
        const next = await call(`${second.url}/crash`, {
          method: "POST",
          headers: { ...T, ...producer(`w${w}`, 0, last + 1) },
          body: `w${w}:${last + 1};`,
        });
        assertEquals(next.status, 200);
      }
      const plain = (await call(`${second.url}/plain`)).text.split(";").filter(Boolean);
      assertEquals(new Set(plain).size, plain.length);
      for (const p of plainAcked) assert(plain.includes(p.slice(0, -1)), `acknowledged ${p}`);
    } finally {
      second.child.kill("SIGKILL");
      await second.child.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
