/**
 * The listener layer's cost: one server process (pinned to core 0) runs the same ready app behind
 * `lib/net/` (its own listener) and behind `Deno.serve` on a second port; `wrk` (pinned to core
 * 1) loads them alternately, so drift of a shared machine hits both alike.
 *
 *   deno run -A bench/net_compare.ts [--rounds 3] [--seconds 3] [--connections 32]
 *
 * Both sides report every answer to the server's request tracker (metrics on, the access log off
 * as in bench/run.ts): `lib/net` through its `onAnswered` observer, `Deno.serve` when the
 * handler info's `completed` settles (body bytes from `Content-Length` when the app set it, else
 * 0: `Deno.serve` does not tell what it wrote).
 *
 * Prints, per case, each round's req/s on both, the medians and the ratio (lib/net / Deno.serve)
 * as min / median / max over the rounds (each round's ratio uses that round's pair of runs), and
 * the server's CPU time per request on each (user + system, from `/proc`): on a shared machine
 * throughput swings with the neighbours' load, CPU per request much less.
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
      access_log: "off",
      auth_enabled: "false",
      streams_storage: "memory",
      database_path: ":memory:",
    },
  });
  const server = await startServer(config);
  const main = server.listeners.main;
  const tracker = server.ops.tracker;
  const plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request, info) => {
      const started = performance.now();
      const conn = {
        remoteAddr: { ...info.remoteAddr, transport: "tcp" as const },
        proto: "http/1.1" as const,
        secure: false,
      };
      const response = await main.handler(request, conn);
      const status = response.status;
      const bytes = Number(response.headers.get("content-length") ?? 0);
      info.completed.then(
        () => tracker.answered(request, conn, { status, bytes, started, aborted: false }),
        () => tracker.answered(request, conn, { status, bytes: 0, started, aborted: true }),
      );
      return response;
    },
  );
  console.log(JSON.stringify({ net: main.port, deno: plain.addr.port }));
  Deno.addSignalListener("SIGTERM", async () => {
    await Promise.all([plain.shutdown(), server.shutdown()]);
    Deno.exit(0);
  });
  await server.finished;
}

/** CPU time (user + system, seconds) a process has used so far (Linux `/proc`, 100 ticks/s). */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const CASES = [
  {
    name: "POST /query SELECT 1 (cached)",
    path: "/duckdb/query",
    script: `wrk.method = "POST"\nwrk.body = '{"sql":"SELECT 1"}'\n` +
      `wrk.headers["Content-Type"] = "application/json"\n`,
  },
  { name: "GET /livez", path: "/duckdb/livez", script: "" },
];

/** One measurement: req/s and server CPU µs per request. */
interface Run {
  rps: number;
  cpu: number;
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
  const opts = { connections: Number(values.connections), seconds: Number(values.seconds) };
  const rounds = Number(values.rounds);
  console.log(
    `# server on core ${SERVER_CORE}, wrk on core ${LOAD_CORE}, ${opts.connections} conns`,
  );
  for (const c of CASES.filter((c) => !values.only || c.name.includes(values.only))) {
    const measure = async (port: number, seconds: number): Promise<Run> => {
      const before = cpuSeconds(child.pid);
      const r = await wrk(`http://127.0.0.1:${port}${c.path}`, c.script, { ...opts, seconds });
      if (r.non2xx > 0) throw new Error(`${r.non2xx} non-2xx answers`);
      const used = cpuSeconds(child.pid) - before;
      return { rps: r.requestsPerSecond, cpu: used / (r.requestsPerSecond * seconds) * 1e6 };
    };
    await measure(ports.net, 1); // warm both
    await measure(ports.deno, 1);
    const net: Run[] = [];
    const deno: Run[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so neither always gets the fresher machine.
      if (i % 2 === 0) {
        net.push(await measure(ports.net, opts.seconds));
        deno.push(await measure(ports.deno, opts.seconds));
      } else {
        deno.push(await measure(ports.deno, opts.seconds));
        net.push(await measure(ports.net, opts.seconds));
      }
      const [a, b] = [net[i], deno[i]];
      console.log(
        `${c.name} round ${i + 1}: lib/net ${a.rps.toFixed(0)} req/s (${a.cpu.toFixed(1)} µs ` +
          `CPU/req), Deno.serve ${b.rps.toFixed(0)} req/s (${b.cpu.toFixed(1)} µs CPU/req), ` +
          `ratio ${(a.rps / b.rps).toFixed(2)}`,
      );
    }
    const n = summarize(net.map((r) => r.rps)), d = summarize(deno.map((r) => r.rps));
    const r = summarize(net.map((run, i) => run.rps / deno[i].rps));
    const nc = summarize(net.map((r) => r.cpu)), dc = summarize(deno.map((r) => r.cpu));
    console.log(
      `${c.name}: lib/net ${n.min.toFixed(0)}-${n.max.toFixed(0)} req/s (median ` +
        `${n.median.toFixed(0)}), Deno.serve ${d.min.toFixed(0)}-${d.max.toFixed(0)} (median ` +
        `${d.median.toFixed(0)}); ratio min/median/max ${r.min.toFixed(2)} / ` +
        `${r.median.toFixed(2)} / ${r.max.toFixed(2)}; CPU per request (median) ` +
        `${nc.median.toFixed(1)} µs vs ${dc.median.toFixed(1)} µs`,
    );
  }
  child.kill("SIGTERM");
  await child.status;
}

if (values.serve) {
  await serveBoth();
} else {
  await drive();
}
