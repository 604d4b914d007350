/**
 * The listener layer's cost: one server process (pinned to core 0) runs the same ready app behind
 * `lib/net/` (its own listener) and behind `Deno.serve` on a second port; `wrk` (pinned to core
 * 1) loads them alternately, so drift of a shared machine hits both alike.
 *
 *   deno run -A bench/net_compare.ts [--rounds 3] [--seconds 3] [--connections 32]
 *
 * Prints, per case, each round's req/s on both, the medians and the ratio (lib/net / Deno.serve)
 * as min / median / max over the rounds (each round's ratio uses that round's pair of runs).
 * @module
 */

import { parseArgs } from "node:util";
import { LOAD_CORE, SERVER_CORE, summarize, wrk } from "./_lib.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    only: { type: "string", default: "" },
    serve: { type: "boolean", default: false },
  },
});

if (values.serve) {
  await serveBoth();
} else {
  await drive();
}

/** The child: the app on its listener and on `Deno.serve`; prints both ports as JSON. */
async function serveBoth(): Promise<void> {
  const { loadConfig } = await import("../lib/config.ts");
  const { startServer } = await import("../lib/server.ts");
  const config = await loadConfig({
    env: {},
    flags: {
      host: "127.0.0.1",
      port: "0",
      log_level: "error",
      auth_enabled: "false",
      streams_storage: "memory",
      database_path: ":memory:",
    },
  });
  const server = await startServer(config);
  const main = server.listeners.main;
  const plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request, info) =>
      main.handler(request, { remoteAddr: info.remoteAddr, proto: "http/1.1", secure: false }),
  );
  console.log(JSON.stringify({ net: main.port, deno: plain.addr.port }));
  Deno.addSignalListener("SIGTERM", async () => {
    await Promise.all([plain.shutdown(), server.shutdown()]);
    Deno.exit(0);
  });
  await server.finished;
}

async function drive(): Promise<void> {
  const child = new Deno.Command("taskset", {
    args: ["-c", SERVER_CORE, Deno.execPath(), "run", "-A", import.meta.filename!, "--serve"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited");
    line += value;
  }
  const ports = JSON.parse(line.trim()) as { net: number; deno: number };
  const cases = [
    {
      name: "POST /query SELECT 1 (cached)",
      path: "/duckdb/query",
      script: `wrk.method = "POST"\nwrk.body = '{"sql":"SELECT 1"}'\n` +
        `wrk.headers["Content-Type"] = "application/json"\n`,
    },
    { name: "GET /livez", path: "/duckdb/livez", script: "" },
  ].filter((c) => !values.only || c.name.includes(values.only));
  const opts = { connections: Number(values.connections), seconds: Number(values.seconds) };
  const rounds = Number(values.rounds);
  console.log(
    `# server on core ${SERVER_CORE}, wrk on core ${LOAD_CORE}, ${opts.connections} conns`,
  );
  for (const c of cases) {
    const url = (port: number) => `http://127.0.0.1:${port}${c.path}`;
    // warm both
    await wrk(url(ports.net), c.script, { ...opts, seconds: 1 });
    await wrk(url(ports.deno), c.script, { ...opts, seconds: 1 });
    const net: number[] = [];
    const deno: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so neither always gets the fresher machine.
      const order = i % 2 === 0 ? ["net", "deno"] : ["deno", "net"];
      const got: Record<string, number> = {};
      for (const which of order) {
        const r = await wrk(url(which === "net" ? ports.net : ports.deno), c.script, opts);
        if (r.non2xx > 0) throw new Error(`${which}: ${r.non2xx} non-2xx answers`);
        got[which] = r.requestsPerSecond;
      }
      net.push(got.net);
      deno.push(got.deno);
      ratios.push(got.net / got.deno);
      console.log(
        `${c.name} round ${i + 1}: lib/net ${got.net.toFixed(0)}  Deno.serve ${
          got.deno.toFixed(0)
        }  ratio ${(got.net / got.deno).toFixed(2)}`,
      );
    }
    const n = summarize(net), d = summarize(deno), r = summarize(ratios);
    console.log(
      `${c.name}: lib/net ${n.min.toFixed(0)}-${n.max.toFixed(0)} (median ${
        n.median.toFixed(0)
      }), ` +
        `Deno.serve ${d.min.toFixed(0)}-${d.max.toFixed(0)} (median ${d.median.toFixed(0)}), ` +
        `ratio ${r.min.toFixed(2)} / ${r.median.toFixed(2)} / ${r.max.toFixed(2)}`,
    );
  }
  child.kill("SIGTERM");
  await child.status;
}
