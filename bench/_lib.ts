/**
 * Bench plumbing: start duckserve pinned to one core, drive it with `wrk` pinned to the other,
 * run in-process baselines pinned like the server, and summarize repeats (min/median/max).
 * @module
 */

/** Core the server (and in-process baselines) run on. */
export const SERVER_CORE = "0";
/** Core the load generator runs on. */
export const LOAD_CORE = "1";

const decoder = new TextDecoder();

/** Runs a command to completion and returns stdout (throws on failure). */
export async function sh(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${decoder.decode(out.stderr)}`);
  }
  return decoder.decode(out.stdout);
}

/** Makes sure `wrk` is installed (Debian package). */
export async function ensureWrk(): Promise<void> {
  try {
    await sh("sh", ["-c", "command -v wrk"]);
  } catch {
    await sh("sh", [
      "-c",
      "apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)",
    ]);
  }
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A duckserve process pinned to {@link SERVER_CORE}. */
export interface BenchServer extends AsyncDisposable {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `main.ts serve` with flags (config keys) pinned to the server core; waits until ready.
 * With `tls_cert`/`tls_key` among the flags the server speaks HTTPS; `ca` is then the PEM CA that
 * signed the certificate.
 */
export async function startServer(
  flags: Record<string, string>,
  ca?: string,
): Promise<BenchServer> {
  const port = freePort();
  // Durable state of a bench server lives in a temporary directory, never in the checkout.
  const scratch = await Deno.makeTempDir({ prefix: "duckserve-bench-server-" });
  flags = {
    database_path: ":memory:",
    // The access log costs a little (its own case measures it); other cases compare without it.
    access_log: "off",
    streams_dir: `${scratch}/streams`,
    auth_database_path: `${scratch}/auth.duckdb`,
    ...flags,
  };
  const args = ["-c", SERVER_CORE, Deno.execPath(), "run", "-A", "main.ts", "serve"];
  for (
    const [key, value] of Object.entries({
      log_level: "error",
      ...flags,
      port: String(port),
      host: "127.0.0.1",
    })
  ) {
    args.push(`--${key.replaceAll("_", "-")}`, value);
  }
  const child = new Deno.Command("taskset", { args, stdout: "null", stderr: "inherit" }).spawn();
  const url = `${flags.tls_cert ? "https" : "http"}://127.0.0.1:${port}/duckdb`;
  const client = ca ? Deno.createHttpClient({ caCerts: [ca] }) : undefined;
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      const r = await fetch(`${url}/health`, { client } as RequestInit);
      await r.body?.cancel();
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  client?.close();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  };
  return { url, pid: child.pid, stop, [Symbol.asyncDispose]: stop };
}

/** Result of one wrk run. */
export interface WrkResult {
  requestsPerSecond: number;
  non2xx: number;
}

/** Runs wrk pinned to the load core against `url` with a Lua script. */
export async function wrk(
  url: string,
  script: string,
  options: { connections: number; seconds: number },
): Promise<WrkResult> {
  const file = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(file, script);
  try {
    const out = await sh("taskset", [
      "-c",
      LOAD_CORE,
      "wrk",
      "-t1",
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      "-s",
      file,
      url,
    ]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    return { requestsPerSecond: rps, non2xx };
  } finally {
    await Deno.remove(file);
  }
}

/**
 * One `curl` request pinned to the load core, the body read and thrown away: its seconds
 * (`time_total`). `args` are curl's options before the URL; a status other than `status` throws.
 */
export async function timedCurl(url: string, args: string[], status: string): Promise<number> {
  const out = await sh("taskset", [
    "-c",
    LOAD_CORE,
    "curl",
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{time_total}",
    ...args,
    url,
  ]);
  const [code, seconds] = out.trim().split(" ");
  if (code !== status) throw new Error(`HTTP ${code}`);
  return Number(seconds);
}

/** Runs `bench/baseline.ts <args>` pinned to the server core and returns its JSON output. */
export async function baseline(args: string[]): Promise<Record<string, number>> {
  const out = await sh("taskset", [
    "-c",
    SERVER_CORE,
    Deno.execPath(),
    "run",
    "-A",
    "bench/baseline.ts",
    ...args,
  ]);
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** min / median / max of a sample. */
export interface Summary {
  min: number;
  median: number;
  max: number;
}

/** Summarizes repeated measurements. */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0],
    median: sorted[Math.floor(sorted.length / 2)],
    max: sorted[sorted.length - 1],
  };
}

/** Peak resident set (VmHWM) and current RSS of a process, in bytes. */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Resets a process's peak RSS counter (Linux `clear_refs` 5). */
export async function resetPeak(pid: number): Promise<void> {
  await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5").catch(() => {});
}

/** Result of one h2load run. */
export interface H2loadResult {
  requestsPerSecond: number;
  failed: number;
}

/**
 * Runs h2load (Debian's nghttp2-client) pinned to the load core: POSTs `body` as JSON to `url`
 * over HTTP/2 (TLS, ALPN) or, with `h1`, HTTP/1.1; `streams` concurrent streams per connection
 * (default 1).
 */
export async function h2load(
  url: string,
  body: string,
  options: { connections: number; seconds: number; h1?: boolean; streams?: number },
): Promise<H2loadResult> {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, body);
  try {
    const args = ["-c", LOAD_CORE, "h2load", `-c${options.connections}`, "-t1"];
    args.push(`-m${options.streams ?? 1}`);
    args.push(`-D${options.seconds}`, "-d", file, "-H", "content-type: application/json");
    if (options.h1) args.push("--h1");
    const out = await sh("taskset", [...args, url]);
    const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
    const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    const failed = status ? Number(status[3]) + Number(status[4]) : NaN;
    return { requestsPerSecond: rps, failed };
  } finally {
    await Deno.remove(file);
  }
}
