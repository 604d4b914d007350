/**
 * Recovery benchmark: start-up time of durable storage with many streams and a large stream.
 *
 * Usage: deno run -A bench/streams/recovery_bench.ts [streams=1000] [bigMiB=128] [clean|crash]
 * `crash` removes the clean-shutdown manifest first, forcing full checksum verification.
 * @module
 */

import { createStreams } from "../../lib/streams/mod.ts";

const STREAMS = Number(Deno.args[0] ?? 1000);
const BIG_MIB = Number(Deno.args[1] ?? 128);
const CRASH = Deno.args[2] === "crash";
const dir = await Deno.makeTempDir({ prefix: "streams-recovery-" });
const open = () =>
  createStreams({
    storage: { kind: "dir", dir },
    longPollTimeoutMs: 1000,
    sseReconnectIntervalMs: 60_000,
  });
try {
  const s = await open();
  const small = { note: "y".repeat(100) };
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < STREAMS * 20) {
      const i = next++;
      await s.appendJson(`tenant/${i % STREAMS}`, { ...small, i });
    }
  }));
  const chunk = new Uint8Array(256 * 1024).fill(7);
  const req = (body?: Uint8Array, method = "POST") =>
    new Request("http://x/v1/stream/big", {
      method,
      headers: { "content-type": "application/octet-stream" },
      body,
    });
  await (await s.handle(req(undefined, "PUT"), "big", "/v1/stream")).body?.cancel();
  for (let i = 0; i < BIG_MIB * 4; i++) await s.handle(req(chunk), "big", "/v1/stream");
  await s.close();
  if (CRASH) await Deno.remove(`${dir}/streams/CLEAN.json`);
  const t0 = performance.now();
  const again = await open();
  const ms = performance.now() - t0;
  console.log(
    `recovered ${again.list().length} streams (${STREAMS * 20} small records + ${BIG_MIB} MiB ` +
      `in ${BIG_MIB * 4} records) in ${ms.toFixed(0)} ms after a ${
        CRASH ? "crash" : "clean shutdown"
      }`,
  );
  await again.close();
} finally {
  await Deno.remove(dir, { recursive: true });
}
