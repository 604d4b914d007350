/**
 * Load client of the streams ratio benchmark, run pinned to the load core. Prints one JSON line.
 *
 *   deno run -A bench/streams/_client.ts read <streamUrl> <repeats>
 *     catch-up reads of the whole stream from offset -1, following Stream-Next-Offset;
 *     prints {"mbps": [..]} (MB/s per repeat, 1 MB = 10^6 bytes)
 *   deno run -A bench/streams/_client.ts wake <streamUrl> <readers> <rounds>
 *     <readers> long-polls wait at the tail, then one append; prints per-round wake-up latency
 *     percentiles {"p50": [..], "p99": [..], "max": [..]} in ms (append sent → response read)
 * @module
 */

const [mode, url, a, b] = Deno.args;

async function read(repeats: number): Promise<void> {
  const mbps: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let offset = "-1";
    let bytes = 0;
    const t0 = performance.now();
    for (;;) {
      const res = await fetch(`${url}?offset=${offset}`);
      if (res.status !== 200) throw new Error(`read: ${res.status} ${await res.text()}`);
      bytes += (await res.arrayBuffer()).byteLength;
      offset = res.headers.get("stream-next-offset")!;
      if (res.headers.get("stream-up-to-date") === "true") break;
    }
    mbps.push(bytes / 1e6 / ((performance.now() - t0) / 1000));
  }
  console.log(JSON.stringify({ mbps }));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function wake(readers: number, rounds: number): Promise<void> {
  const out = { p50: [] as number[], p99: [] as number[], max: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const head = await fetch(url, { method: "HEAD" });
    await head.body?.cancel();
    const tail = head.headers.get("stream-next-offset")!;
    let t0 = Infinity;
    const waits = Array.from({ length: readers }, async () => {
      const res = await fetch(`${url}?offset=${tail}&live=long-poll`);
      const body = await res.text();
      if (res.status !== 200 || body.length === 0) throw new Error(`wake: ${res.status}`);
      return performance.now() - t0;
    });
    // let every reader reach the server and park at the tail
    await new Promise((r) => setTimeout(r, 1500));
    t0 = performance.now();
    const post = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ round }),
    });
    await post.body?.cancel();
    const latencies = (await Promise.all(waits)).sort((x, y) => x - y);
    out.p50.push(percentile(latencies, 0.5));
    out.p99.push(percentile(latencies, 0.99));
    out.max.push(latencies[latencies.length - 1]);
  }
  console.log(JSON.stringify(out));
}

if (mode === "read") await read(Number(a));
else if (mode === "wake") await wake(Number(a), Number(b));
else throw new Error(`unknown mode ${mode}`);
