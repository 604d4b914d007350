/**
 * `deno task bench:streams`: duckserve's Durable Streams against the published reference server
 * (`@durable-streams/server`, under Node, installed in tools/conformance), both run on this
 * machine in this run, side by side, pinned to core 0, and measured alternately repeat by repeat
 * (so load changes on the machine hit both alike); the load (wrk, or the Deno client in
 * `_client.ts`) runs pinned to core 1. Measures, in memory and durable storage:
 *
 * - appends/s: 64 connections POSTing ~200-byte JSON messages to one stream (wrk);
 * - catch-up read MB/s: a 64 MiB binary stream and a ~32 MB JSON stream of small messages read
 *   from offset -1 to the tail, following Stream-Next-Offset;
 * - long-poll wake-up latency: 1,000 readers wait at the tail, one append wakes them; latency
 *   from sending the append to each reader having its response (p50 / p99).
 *
 * Prints a table of ratios (> 1 means duckserve is better) with the absolute numbers.
 *
 *   deno task bench:streams [--repeats 5] [--seconds 3] [--readers 1000] [--rounds 7]
 * @module
 */

import { parseArgs } from "node:util";
import {
  ensureWrk,
  freePort,
  LOAD_CORE,
  SERVER_CORE,
  sh,
  startServer,
  summarize,
  type Summary,
  wrk,
} from "../_lib.ts";

const { values } = parseArgs({
  options: {
    repeats: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    readers: { type: "string", default: "1000" },
    rounds: { type: "string", default: "7" },
  },
});
const REPEATS = Number(values.repeats);
const SECONDS = Number(values.seconds);
const READERS = Number(values.readers);
const ROUNDS = Number(values.rounds);
const ROOT = new URL("../../", import.meta.url).pathname;
const CONFORMANCE = `${ROOT}tools/conformance`;

type Storage = "memory" | "durable";
type Kind = "duckserve" | "reference";

interface Running {
  origin: string;
  stop(): Promise<void>;
}

const work = await Deno.makeTempDir({ prefix: "duckserve-streams-bench-" });

async function ensureReference(): Promise<void> {
  try {
    await Deno.stat(`${CONFORMANCE}/node_modules/@durable-streams/server`);
  } catch {
    await sh("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", CONFORMANCE]);
  }
}

async function waitUp(origin: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${origin}/v1/stream/__probe`, { method: "HEAD" });
      await res.body?.cancel();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${origin} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function start(kind: Kind, storage: Storage): Promise<Running> {
  const dir = `${work}/${kind}-${storage}`;
  if (kind === "duckserve") {
    const server = await startServer({
      auth_enabled: "false",
      streams_auth: "none",
      streams_storage: storage === "durable" ? "dir" : "memory",
      streams_dir: dir,
      long_poll_timeout: "30s",
    });
    return { origin: new URL(server.url).origin, stop: server.stop };
  }
  const port = freePort();
  const args = [
    "-c",
    SERVER_CORE,
    "node",
    `${CONFORMANCE}/reference_server.mjs`,
    "--port",
    `${port}`,
  ];
  if (storage === "durable") args.push("--data-dir", dir);
  args.push("--long-poll-ms", "30000");
  const child = new Deno.Command("taskset", { args, stdout: "null", stderr: "inherit" }).spawn();
  const origin = `http://127.0.0.1:${port}`;
  await waitUp(origin);
  return {
    origin,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      await child.status;
    },
  };
}

async function put(url: string, type: string, body?: BodyInit): Promise<void> {
  const res = await fetch(url, { method: "PUT", headers: { "content-type": type }, body });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`PUT ${url}: ${res.status}`);
}

async function post(url: string, type: string, body: BodyInit): Promise<void> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": type }, body });
  await res.body?.cancel();
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status}`);
}

async function client(args: string[]): Promise<Record<string, number[]>> {
  const out = await sh("taskset", [
    "-c",
    LOAD_CORE,
    Deno.execPath(),
    "run",
    "-A",
    `${ROOT}bench/streams/_client.ts`,
    ...args,
  ]);
  return JSON.parse(out.trim().split("\n").pop()!);
}

const NOTE = "x".repeat(180);
const APPEND_SCRIPT = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind":"order","id":1,"note":"${NOTE}"}'
`;

interface Measures {
  appends: Summary;
  readBinary: Summary;
  readJson: Summary;
  wakeP50?: Summary;
  wakeP99?: Summary;
}

const KINDS = ["duckserve", "reference"] as const;

/** Loads the catch-up streams: 64 MiB binary, ~32 MB JSON of ~200-byte messages. */
async function load(base: string): Promise<void> {
  await put(`${base}/appends`, "application/json");
  await put(`${base}/bin`, "application/octet-stream");
  const mib = new Uint8Array(1 << 20).map((_, i) => i % 251);
  for (let i = 0; i < 64; i++) await post(`${base}/bin`, "application/octet-stream", mib);
  await put(`${base}/json`, "application/json");
  const batch = JSON.stringify(
    Array.from({ length: 1000 }, (_, i) => ({ kind: "order", id: i, note: NOTE })),
  );
  for (let i = 0; i < 160; i++) await post(`${base}/json`, "application/json", batch);
  await put(`${base}/wake`, "application/json");
}

/**
 * Both servers run side by side (the idle one costs nothing) and every repeat measures them
 * alternately, so load changes on the machine hit both alike.
 */
async function measure(storage: Storage): Promise<Record<Kind, Measures>> {
  const servers: Partial<Record<Kind, Running>> = {};
  try {
    for (const kind of KINDS) servers[kind] = await start(kind, storage);
    const base = (kind: Kind) => `${servers[kind]!.origin}/v1/stream`;
    const raw = Object.fromEntries(KINDS.map((k) => [k, {
      appends: [] as number[],
      readBinary: [] as number[],
      readJson: [] as number[],
      wakeP50: [] as number[],
      wakeP99: [] as number[],
    }])) as Record<Kind, Record<keyof Measures, number[]>>;
    for (const kind of KINDS) {
      await load(base(kind));
      await wrk(`${base(kind)}/appends`, APPEND_SCRIPT, { connections: 64, seconds: 1 }); // warm-up
    }
    for (let r = 0; r < REPEATS; r++) {
      for (const kind of KINDS) {
        const result = await wrk(`${base(kind)}/appends`, APPEND_SCRIPT, {
          connections: 64,
          seconds: SECONDS,
        });
        if (result.non2xx > 0) throw new Error(`${kind}: ${result.non2xx} failed appends`);
        raw[kind].appends.push(result.requestsPerSecond);
        raw[kind].readBinary.push(...(await client(["read", `${base(kind)}/bin`, "1"])).mbps);
        raw[kind].readJson.push(...(await client(["read", `${base(kind)}/json`, "1"])).mbps);
      }
    }
    if (storage === "memory") {
      for (let r = 0; r < ROUNDS; r++) {
        for (const kind of KINDS) {
          const wake = await client(["wake", `${base(kind)}/wake`, String(READERS), "1"]);
          raw[kind].wakeP50.push(...wake.p50);
          raw[kind].wakeP99.push(...wake.p99);
        }
      }
    }
    return Object.fromEntries(KINDS.map((kind) => {
      const m: Measures = {
        appends: summarize(raw[kind].appends),
        readBinary: summarize(raw[kind].readBinary),
        readJson: summarize(raw[kind].readJson),
      };
      if (storage === "memory") {
        m.wakeP50 = summarize(raw[kind].wakeP50);
        m.wakeP99 = summarize(raw[kind].wakeP99);
      }
      return [kind, m];
    })) as Record<Kind, Measures>;
  } finally {
    for (const server of Object.values(servers)) await server?.stop();
  }
}

await ensureWrk();
await ensureReference();
const results: Record<string, Measures> = {};
try {
  for (const storage of ["memory", "durable"] as const) {
    console.error(`measuring ${storage} storage ...`);
    const measured = await measure(storage);
    for (const kind of KINDS) results[`${kind}/${storage}`] = measured[kind];
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows: string[][] = [];
function row(
  name: string,
  key: keyof Measures,
  storage: Storage,
  unit: string,
  lowerIsBetter = false,
) {
  const ours = results[`duckserve/${storage}`][key];
  const theirs = results[`reference/${storage}`][key];
  if (!ours || !theirs) return;
  const ratio = lowerIsBetter ? theirs.median / ours.median : ours.median / theirs.median;
  const digits = unit === "ms" ? 1 : 0;
  rows.push([
    `${name} (${storage})`,
    `${fmt(ours.median, digits)} ${unit}`,
    `${fmt(theirs.median, digits)} ${unit}`,
    `**${ratio.toFixed(2)}×**`,
  ]);
}
for (const storage of ["memory", "durable"] as const) {
  row("appends/s, 64 connections", "appends", storage, "/s");
  row("catch-up read, binary 64 MiB", "readBinary", storage, "MB/s");
  row("catch-up read, JSON 200-byte messages", "readJson", storage, "MB/s");
  row(`long-poll wake-up p50, ${READERS} readers`, "wakeP50", storage, "ms", true);
  row(`long-poll wake-up p99, ${READERS} readers`, "wakeP99", storage, "ms", true);
}
const header = ["case", "duckserve", "@durable-streams/server", "ratio (> 1: duckserve better)"];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`);
console.log(table.join("\n"));
console.log(
  `\nmedians of ${REPEATS} runs (wake-up: ${ROUNDS} rounds); durable = fdatasync before ` +
    "acknowledging (duckserve log files; reference LMDB + segment files); " +
    `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}, Node ${
      (await sh("node", ["--version"])).trim()
    }`,
);
console.log(JSON.stringify(results));
