/**
 * CPU time per request of the access log and the metrics: servers with the access log and the
 * metrics off, one of them, or both (`POST /query SELECT 1`, read cache warm), driven in turn by
 * `wrk` like the bench's "access log + metrics" case. The server's user + system CPU time (from
 * `/proc/<pid>/stat`) divided by the requests `wrk` completed is much steadier than req/s on a
 * shared machine: other processes take wall time from the server, not CPU time per request.
 *
 *   deno run -A bench/ops_cpu.ts [--rounds 5] [--seconds 3] [--variants off,both] [--prof DIR]
 *
 * `--prof DIR` runs the servers under `--cpu-prof` and leaves one `.cpuprofile` per server in DIR
 * (written when the server exits). `--base DIR` runs the variants named `base-<variant>` from
 * another checkout (say, the commit before a change) for a before/after comparison.
 * @module
 */

import { parseArgs } from "node:util";
import { freePort, LOAD_CORE, SERVER_CORE, sh, summarize } from "./_lib.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    variants: { type: "string", default: "off,both" },
    connections: { type: "string", default: "32" },
    prof: { type: "string", default: "" },
    base: { type: "string", default: "" },
  },
});

const VARIANTS: Record<string, Record<string, string>> = {
  off: { access_log: "off", metrics: "false" },
  metrics: { access_log: "off", metrics: "true" },
  log: { metrics: "false" },
  both: { metrics: "true" },
};

const work = await Deno.makeTempDir({ prefix: "duckserve-ops-cpu-" });
const ticksPerSecond = Number((await sh("getconf", ["CLK_TCK"])).trim()) || 100;

interface Server {
  name: string;
  url: string;
  pid: number;
  child: Deno.ChildProcess;
  cpu: number[];
  rps: number[];
  requests: number;
}

async function start(name: string): Promise<Server> {
  const base = name.startsWith("base-");
  const flags = VARIANTS[base ? name.slice(5) : name];
  const port = freePort();
  const all: Record<string, string> = {
    database_path: ":memory:",
    auth_enabled: "false",
    threads: "4",
    log_level: "error",
    streams_dir: `${work}/${name}-streams`,
    auth_database_path: `${work}/${name}-auth.duckdb`,
    access_log: `${work}/${name}-access.log`,
    ...flags,
    port: String(port),
    host: "127.0.0.1",
  };
  const deno = ["run", "-A"];
  if (values.prof) deno.push("--cpu-prof", `--cpu-prof-dir=${values.prof}`);
  const args = ["-c", SERVER_CORE, Deno.execPath(), ...deno, "main.ts", "serve"];
  for (const [key, value] of Object.entries(all)) {
    args.push(`--${key.replaceAll("_", "-")}`, value);
  }
  const cwd = base ? values.base : undefined;
  const child = new Deno.Command("taskset", { args, cwd, stdout: "null", stderr: "inherit" })
    .spawn();
  const url = `http://127.0.0.1:${port}/duckdb`;
  for (let tries = 0;; tries++) {
    try {
      const r = await fetch(`${url}/health`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch {
      if (tries > 600) throw new Error(`${name} did not start`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, url, pid: child.pid, child, cpu: [], rps: [], requests: 0 };
}

/** User + system CPU seconds of `pid`. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function load(url: string, seconds: number): Promise<{ requests: number; rps: number }> {
  const script = `${work}/post.lua`;
  await Deno.writeTextFile(
    script,
    `wrk.method = "POST"\nwrk.body = '{"sql":"SELECT 1"}'\n` +
      `wrk.headers["Content-Type"] = "application/json"\n`,
  );
  const out = await sh("taskset", [
    "-c",
    LOAD_CORE,
    "wrk",
    "-t1",
    `-c${values.connections}`,
    `-d${seconds}s`,
    "-s",
    script,
    `${url}/query`,
  ]);
  if (/Non-2xx/.test(out)) throw new Error(`non-2xx answers:\n${out}`);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
  };
}

const servers: Server[] = [];
try {
  for (const name of values.variants.split(",")) servers.push(await start(name));
  if (values.prof) { for (const s of servers) console.log(`${s.name}: pid ${s.pid}`); }
  for (const s of servers) s.requests += (await load(s.url, 1)).requests; // warm up: JIT, cache
  const scraper = setInterval(() => {
    for (const s of servers) {
      if (!s.name.endsWith("off") && !s.name.endsWith("log")) {
        fetch(`${s.url}/metrics`).then((r) => r.body?.cancel()).catch(() => {});
      }
    }
  }, 1000);
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      // Every other round in reverse order (A B, B A, ...): what one run leaves behind (the
      // collector's clean-up after a load, the scrape) falls on each side alike.
      for (const s of round % 2 ? [...servers].reverse() : servers) {
        const before = await cpuSeconds(s.pid);
        const { requests, rps } = await load(s.url, Number(values.seconds));
        const used = await cpuSeconds(s.pid) - before;
        s.requests += requests;
        s.cpu.push(used / requests * 1e6);
        s.rps.push(rps);
      }
    }
  } finally {
    clearInterval(scraper);
  }
  const base = servers[0];
  for (const s of servers) {
    const cpu = summarize(s.cpu);
    const rps = summarize(s.rps);
    const ratios = summarize(s.rps.map((v, i) => v / base.rps[i]));
    const cpuRatio = summarize(s.cpu.map((v, i) => base.cpu[i] / v));
    console.log(
      `${s.name.padEnd(8)} CPU/request µs ${cpu.min.toFixed(1)} / ${cpu.median.toFixed(1)} / ` +
        `${cpu.max.toFixed(1)}   req/s ${rps.min.toFixed(0)} / ${rps.median.toFixed(0)} / ` +
        `${rps.max.toFixed(0)}   req/s ratio to ${base.name} ${ratios.min.toFixed(2)} / ` +
        `${ratios.median.toFixed(2)} / ${ratios.max.toFixed(2)}   CPU ratio ` +
        `${cpuRatio.min.toFixed(2)} / ${cpuRatio.median.toFixed(2)} / ${cpuRatio.max.toFixed(2)}` +
        `   geometric mean ratio ${
          geometricMean(s.rps.map((v, i) => v / base.rps[i])).toFixed(3)
        }` +
        (values.prof ? `   requests ${s.requests}` : ""),
    );
  }
} finally {
  for (const s of servers) {
    s.child.kill("SIGTERM");
    await s.child.status;
  }
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

function geometricMean(values: number[]): number {
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}
