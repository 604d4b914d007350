/**
 * Storage-engine benchmark for durable streams: the framed per-stream log (what the module uses)
 * versus DuckDB tables, both made durable before acknowledging, with and without group commit.
 * Also measures start-up recovery. Bounded: a few tens of seconds on 2 cores.
 *
 * Usage: deno run -A bench/streams/engine_bench.ts [--quick]
 * @module
 */

import { DuckDBInstance } from "@duckdb/node-api";
import { createStreams } from "../../lib/streams/mod.ts";

const QUICK = Deno.args.includes("--quick");
const SEQ = QUICK ? 300 : 2000;
const CONC_TOTAL = QUICK ? 2000 : 10_000;
const WORKERS = 64;
const message = { kind: "order", id: 0, note: "x".repeat(180) }; // ~200 bytes as JSON

interface Row {
  engine: string;
  scenario: string;
  ops: number;
  seconds: number;
  p50ms?: number;
}
const rows: Row[] = [];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function timed(run: () => Promise<number[] | void>): Promise<[number, number[]]> {
  const t0 = performance.now();
  const lat = (await run()) ?? [];
  return [(performance.now() - t0) / 1000, lat];
}

async function workers(total: number, n: number, op: (w: number, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async (_, w) => {
    while (next < total) {
      const i = next++;
      await op(w, i);
    }
  }));
}

// ------------------------------------------------------------------ framed log (this module)
async function benchLog(dir: string): Promise<void> {
  const streams = await createStreams({
    storage: { kind: "dir", dir },
    longPollTimeoutMs: 1000,
    sseReconnectIntervalMs: 60_000,
  });
  let [s, lat] = await timed(async () => {
    const l: number[] = [];
    for (let i = 0; i < SEQ; i++) {
      const t = performance.now();
      await streams.appendJson("seq", { ...message, id: i });
      l.push(performance.now() - t);
    }
    return l;
  });
  rows.push({
    engine: "log",
    scenario: "sequential, 1 stream",
    ops: SEQ,
    seconds: s,
    p50ms: pct(lat, 0.5),
  });
  [s] = await timed(() =>
    workers(
      CONC_TOTAL,
      WORKERS,
      (_, i) => streams.appendJson("hot", { ...message, id: i }).then(() => {}),
    )
  );
  rows.push({
    engine: "log",
    scenario: `${WORKERS} writers, 1 stream`,
    ops: CONC_TOTAL,
    seconds: s,
  });
  [s] = await timed(() =>
    workers(
      CONC_TOTAL,
      WORKERS,
      (w, i) => streams.appendJson(`many/${w}`, { ...message, id: i }).then(() => {}),
    )
  );
  rows.push({
    engine: "log",
    scenario: `${WORKERS} writers, ${WORKERS} streams`,
    ops: CONC_TOTAL,
    seconds: s,
  });
  await streams.close();
  const records = SEQ + 2 * CONC_TOTAL;
  [s] = await timed(async () => {
    const again = await createStreams({
      storage: { kind: "dir", dir },
      longPollTimeoutMs: 1000,
      sseReconnectIntervalMs: 60_000,
    });
    await again.close();
  });
  rows.push({ engine: "log", scenario: "recovery (open + replay)", ops: records, seconds: s });
}

// ------------------------------------------------------------------ DuckDB tables
async function benchDuck(dir: string): Promise<void> {
  const file = `${dir}/streams.duckdb`;
  let db = await DuckDBInstance.create(file);
  let con = await db.connect();
  await con.run(
    "CREATE TABLE msgs(stream VARCHAR, pos BIGINT, payload BLOB, producer VARCHAR, PRIMARY KEY (stream, pos))",
  );
  const insert = await con.prepare("INSERT INTO msgs VALUES ($1, $2, $3::BLOB, $4)");
  const tails = new Map<string, number>();
  const enc = new TextEncoder();
  const rowFor = (stream: string, i: number) => {
    const payload = JSON.stringify({ ...message, id: i });
    const pos = (tails.get(stream) ?? 0) + enc.encode(payload).length;
    tails.set(stream, pos);
    return [stream, pos, payload, null] as const;
  };
  let [s, lat] = await timed(async () => {
    const l: number[] = [];
    for (let i = 0; i < SEQ; i++) {
      const t = performance.now();
      const [st, pos, payload] = rowFor("seq", i);
      insert.bindVarchar(1, st);
      insert.bindBigInt(2, BigInt(pos));
      insert.bindVarchar(3, payload);
      insert.bindNull(4);
      await insert.run(); // autocommit: one durable WAL commit per append
      l.push(performance.now() - t);
    }
    return l;
  });
  rows.push({
    engine: "duckdb",
    scenario: "sequential, 1 stream",
    ops: SEQ,
    seconds: s,
    p50ms: pct(lat, 0.5),
  });

  // group commit: appends wait while a transaction commits, then go in the next one
  let queue: { row: readonly unknown[]; done: () => void }[] = [];
  let flushing: Promise<void> | null = null;
  const flush = async () => {
    while (queue.length) {
      const batch = queue;
      queue = [];
      const values = batch.map((_, k) =>
        `($${4 * k + 1}, $${4 * k + 2}, $${4 * k + 3}::BLOB, $${4 * k + 4})`
      )
        .join(",");
      await con.run("BEGIN");
      await con.run(`INSERT INTO msgs VALUES ${values}`, batch.flatMap((b) => [...b.row]) as never);
      await con.run("COMMIT");
      for (const b of batch) b.done();
    }
    flushing = null;
  };
  const append = (stream: string, i: number) =>
    new Promise<void>((done) => {
      queue.push({ row: rowFor(stream, i), done });
      flushing ??= flush();
    });
  [s] = await timed(() => workers(CONC_TOTAL, WORKERS, (_, i) => append("hot", i)));
  rows.push({
    engine: "duckdb",
    scenario: `${WORKERS} writers, 1 stream`,
    ops: CONC_TOTAL,
    seconds: s,
  });
  [s] = await timed(() => workers(CONC_TOTAL, WORKERS, (w, i) => append(`many/${w}`, i)));
  rows.push({
    engine: "duckdb",
    scenario: `${WORKERS} writers, ${WORKERS} streams`,
    ops: CONC_TOTAL,
    seconds: s,
  });
  con.closeSync();
  db.closeSync();
  [s] = await timed(async () => {
    db = await DuckDBInstance.create(file);
    con = await db.connect();
    // rebuild the in-memory index a server needs (positions and sizes per message)
    await con.runAndReadAll(
      "SELECT stream, pos, octet_length(payload) FROM msgs ORDER BY stream, pos",
    );
    con.closeSync();
    db.closeSync();
  });
  rows.push({
    engine: "duckdb",
    scenario: "recovery (open + index scan)",
    ops: SEQ + 2 * CONC_TOTAL,
    seconds: s,
  });
}

const base = await Deno.makeTempDir({ prefix: "streams-bench-" });
try {
  await Deno.mkdir(`${base}/log`);
  await Deno.mkdir(`${base}/duck`);
  await benchLog(`${base}/log`);
  await benchDuck(`${base}/duck`);
} finally {
  await Deno.remove(base, { recursive: true });
}
console.log("| engine | scenario | ops | seconds | ops/s | p50 ms |");
console.log("|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.engine} | ${r.scenario} | ${r.ops} | ${r.seconds.toFixed(2)} | ${
      Math.round(r.ops / r.seconds)
    } | ${r.p50ms?.toFixed(2) ?? ""} |`,
  );
}
