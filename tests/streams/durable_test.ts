// Durable storage: restart consistency, torn-tail recovery, handle LRU, and a SIGKILL crash test
// against a real `main.ts serve` subprocess.
import { deepEqual, equal, ok } from "node:assert/strict";
import { call, spawnMain, startTestServer } from "../_helpers.ts";

const T = { "content-type": "text/plain" };
const J = { "content-type": "application/json" };

async function logFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/streams`)) {
    if (e.name.endsWith(".log")) out.push(`${dir}/streams/${e.name}`);
  }
  return out.sort();
}

/** Config flags of a server whose streams live in `dir`. */
function durable(dir: string): Record<string, string> {
  return { streams_storage: "dir", streams_dir: dir };
}

function producer(id: string, epoch: number, seq: number): Record<string, string> {
  return { "producer-id": id, "producer-epoch": `${epoch}`, "producer-seq": `${seq}` };
}

Deno.test("durable storage restores data, producer state, seq, closure, TTL and forks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-durable-" });
  try {
    {
      await using srv = await startTestServer(durable(dir));
      await call(srv.at("a"), { method: "PUT", headers: { ...T, "stream-ttl": "3600" } });
      for (const [seq, body] of [[0, "x"], [1, "y"]] as const) {
        const r = await call(srv.at("a"), {
          method: "POST",
          headers: { ...T, ...producer("p", 0, seq), "stream-seq": `s${seq}` },
          body,
        });
        deepEqual(r.status, 200);
      }
      await call(srv.at("j"), { method: "PUT", headers: J, body: '[{"n":1},{"n":2},{"n":3}]' });
      const close = await call(srv.at("j"), {
        method: "POST",
        headers: { ...J, ...producer("c", 2, 0), "stream-closed": "true" },
        body: '{"n":4}',
      });
      deepEqual(close.status, 200);
      const fork = await call(srv.at("f"), {
        method: "PUT",
        headers: {
          "stream-forked-from": "/v1/stream/j",
          "stream-fork-offset": "0000000000000000_0000000000000000",
          "stream-fork-sub-offset": "2",
        },
      });
      deepEqual(fork.status, 201);
      await call(srv.at("f"), { method: "POST", headers: J, body: '{"fork":true}' });
      deepEqual((await call(srv.at("j"), { method: "DELETE" })).status, 204); // soft
      await call(srv.at("gone"), { method: "PUT", headers: T, body: "bye" });
      deepEqual((await call(srv.at("gone"), { method: "DELETE" })).status, 204);
      await srv.streams!.appendJson("_changes/t", { op: "x" });
    }
    await using srv = await startTestServer(durable(dir));
    deepEqual(srv.streams!.list(), ["_changes/t", "a", "f"]);
    deepEqual((await call(srv.at("a"))).text, "xy");
    const head = await call(srv.at("a"), { method: "HEAD" });
    deepEqual(head.headers.get("stream-ttl"), "3600");
    const dup = await call(srv.at("a"), {
      method: "POST",
      headers: { ...T, ...producer("p", 0, 1) },
      body: "y",
    });
    deepEqual([dup.status, dup.headers.get("producer-seq")], [204, "1"]);
    const seqConflict = await call(srv.at("a"), {
      method: "POST",
      headers: { ...T, "stream-seq": "s0" },
      body: "z",
    });
    deepEqual(seqConflict.status, 409, "Stream-Seq survives restart");
    const next = await call(srv.at("a"), {
      method: "POST",
      headers: { ...T, ...producer("p", 0, 2) },
      body: "z",
    });
    deepEqual(next.status, 200);
    deepEqual((await call(srv.at("j"), { method: "HEAD" })).status, 410, "soft delete survives");
    deepEqual(JSON.parse((await call(srv.at("f"))).text), [{ n: 1 }, { n: 2 }, { fork: true }]);
    deepEqual((await call(srv.at("gone"))).status, 404);
    deepEqual((await call(srv.at("gone"), { method: "PUT", headers: J })).status, 201);
    // deleting the last fork garbage-collects the soft-deleted source and its file
    const before = (await logFiles(dir)).length;
    deepEqual((await call(srv.at("f"), { method: "DELETE" })).status, 204);
    deepEqual((await call(srv.at("j"), { method: "HEAD" })).status, 404);
    await new Promise((r) => setTimeout(r, 100));
    deepEqual((await logFiles(dir)).length, before - 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a torn or garbage tail is truncated on recovery; earlier records survive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-torn-" });
  try {
    {
      await using srv = await startTestServer(durable(dir));
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
    {
      await using srv = await startTestServer(durable(dir));
      ok(srv.events("streams_recovery_truncated").length > 0);
      const get = await call(srv.at("t"));
      deepEqual([get.text, get.headers.get("stream-closed")], ["onetwo", null]);
      // the torn record's producer state is gone too: seq 0 is new again
      const again = await call(srv.at("t"), {
        method: "POST",
        headers: { ...T, ...producer("p", 0, 0) },
        body: "four",
      });
      deepEqual(again.status, 200);
    }
    const f = await Deno.open(file, { append: true });
    await f.write(crypto.getRandomValues(new Uint8Array(37)));
    f.close();
    {
      await using srv = await startTestServer(durable(dir));
      deepEqual(srv.events("streams_recovery_truncated").length, 1);
      deepEqual((await call(srv.at("t"))).text, "onetwofour");
      await call(srv.at("t"), { method: "POST", headers: T, body: "five" });
    }
    await using srv = await startTestServer(durable(dir));
    deepEqual(srv.events("streams_recovery_truncated").length, 0);
    deepEqual((await call(srv.at("t"))).text, "onetwofourfive");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("many streams with a small handle LRU stay readable and writable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "streams-lru-" });
  try {
    const N = 40;
    {
      await using srv = await startTestServer(durable(dir), { streams: { maxOpenFiles: 4 } });
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
      for (let i = 0; i < N; i++) deepEqual((await call(srv.at(`s/${i}`))).text, `${i}:012`);
    }
    await using srv = await startTestServer(durable(dir), { streams: { maxOpenFiles: 4 } });
    deepEqual(srv.streams!.list("s/*").length, N);
    for (let i = 0; i < N; i++) deepEqual((await call(srv.at(`s/${i}`))).text, `${i}:012`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `main.ts serve` as a subprocess on durable storage in `dir`; `url` is its streams mount. */
async function spawnServer(dir: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const spawned = await spawnMain([
    "serve",
    ...["--host", "127.0.0.1", "--port", "0", "--auth-enabled", "false"],
    ...["--database-path", ":memory:", "--streams-storage", "dir", "--streams-dir", dir],
  ]);
  ok(spawned.url, `the server did not start: ${spawned.stderr()}`);
  return { url: `${new URL(spawned.url).origin}/v1/stream`, child: spawned.child };
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
          equal(r.status, 200, "an append before the kill is acknowledged");
          acked[w].add(msg);
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
      deepEqual(new Set(entries).size, entries.length, "no duplicated message");
      for (let w = 0; w < WRITERS; w++) {
        const mine = entries.filter((e) => e.startsWith(`w${w}:`));
        const ks = mine.map((e) => Number(e.slice(e.indexOf(":") + 1, -1)));
        deepEqual(ks, ks.map((_, i) => i), `writer ${w}: contiguous, in order`);
        for (const m of acked[w]) ok(mine.includes(m), `acknowledged ${m} survived`);
        // producer state survived with the data: the last persisted seq is a duplicate now
        const last = ks.length - 1;
        const dup = await call(`${second.url}/crash`, {
          method: "POST",
          headers: { ...T, ...producer(`w${w}`, 0, last) },
          body: "dup",
        });
        deepEqual([dup.status, dup.headers.get("producer-seq")], [204, `${last}`]);
        const next = await call(`${second.url}/crash`, {
          method: "POST",
          headers: { ...T, ...producer(`w${w}`, 0, last + 1) },
          body: `w${w}:${last + 1};`,
        });
        deepEqual(next.status, 200);
      }
      const plain = (await call(`${second.url}/plain`)).text.split(";").filter(Boolean);
      deepEqual(new Set(plain).size, plain.length);
      for (const p of plainAcked) ok(plain.includes(p.slice(0, -1)), `acknowledged ${p}`);
    } finally {
      second.child.kill("SIGKILL");
      await second.child.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
