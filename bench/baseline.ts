/**
 * In-process baselines: the same work as a bench case, done directly with @duckdb/node-api in
 * one Deno process (pinned to the server's core by the caller). Prints one JSON line.
 *
 *   deno run -A bench/baseline.ts <mode> --db FILE [--connections N] [--seconds S]
 *
 * Modes: select1 (prepared), select1_unprepared (the same text run unprepared each time), point,
 * hot, page, page_count (the page and its count), analytics, insert (prepared insert + commit)
 * (ops/s); bulk (`--reader json|csv|parquet`: DuckDB's reader of `--file` into the table), copy
 * (seconds); make (writes a bulk body, see below).
 * @module
 */

import { DuckDBInstance, type DuckDBPreparedStatement } from "@duckdb/node-api";
import { parseArgs } from "node:util";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: "string", default: ":memory:" },
    connections: { type: "string", default: "4" },
    seconds: { type: "string", default: "5" },
    format: { type: "string", default: "csv" },
    query: { type: "string", default: "SELECT * FROM users" },
    file: { type: "string", default: "" },
    threads: { type: "string", default: "4" },
    reader: { type: "string", default: "json" },
    start: { type: "string", default: "0" },
  },
});
const mode = positionals[0];
const instance = await DuckDBInstance.create(values.db, { threads: values.threads });
const connections = await Promise.all(
  Array.from({ length: Number(values.connections) }, () => instance.connect()),
);

/** Runs `sql` in one loop per connection for `seconds`, reading every row; ops/s. */
async function throughput(sql: string, params: (i: number) => unknown[]): Promise<number> {
  const prepared: DuckDBPreparedStatement[] = await Promise.all(
    connections.map((c) => c.prepare(sql)),
  );
  let done = 0;
  let counter = 0;
  const seconds = Number(values.seconds);
  const end = performance.now() + seconds * 1000;
  await Promise.all(prepared.map(async (p) => {
    while (performance.now() < end) {
      p.clearBindings();
      params(counter++).forEach((v, i) => p.bindValue(i + 1, v as never));
      const reader = await p.runAndReadAll();
      reader.getRowObjectsJson();
      done++;
    }
  }));
  return done / seconds;
}

/** Runs `sql` unprepared (parsed and planned every time) in one loop per connection; ops/s. */
async function unpreparedThroughput(sql: string): Promise<number> {
  let done = 0;
  const seconds = Number(values.seconds);
  const end = performance.now() + seconds * 1000;
  await Promise.all(connections.map(async (c) => {
    while (performance.now() < end) {
      const reader = await c.runAndReadAll(sql);
      reader.getRowObjectsJson();
      done++;
    }
  }));
  return done / seconds;
}

/** Runs a page and its count (two prepared statements) per operation; ops/s. */
async function pageAndCount(): Promise<number> {
  const pages = await Promise.all(
    connections.map((c) =>
      c.prepare("SELECT * FROM users WHERE age > 30 ORDER BY name ASC LIMIT 50 OFFSET ?")
    ),
  );
  const counts = await Promise.all(
    connections.map((c) => c.prepare("SELECT count(*) FROM users WHERE age > 30")),
  );
  let done = 0;
  const seconds = Number(values.seconds);
  const end = performance.now() + seconds * 1000;
  await Promise.all(pages.map(async (page, i) => {
    while (performance.now() < end) {
      page.clearBindings();
      page.bindValue(1, (random(100) - 1) * 50 as never);
      (await page.runAndReadAll()).getRowObjectsJson();
      (await counts[i].runAndReadAll()).getRowObjectsJson();
      done++;
    }
  }));
  return done / seconds;
}

const READERS: Record<string, string> = {
  json: "read_json('FILE', format = 'array')",
  ndjson: "read_json('FILE', format = 'newline_delimited')",
  csv: "read_csv('FILE', header = true)",
  parquet: "read_parquet('FILE')",
};

function random(n: number): number {
  return 1 + Math.floor(Math.random() * n);
}
let result: Record<string, number>;
switch (mode) {
  case "select1":
    result = { ops: await throughput("SELECT 1", () => []) };
    break;
  case "select1_unprepared":
    result = { ops: await unpreparedThroughput("SELECT 1") };
    break;
  case "page_count":
    result = { ops: await pageAndCount() };
    break;
  case "point":
    result = {
      ops: await throughput("SELECT * FROM users WHERE id = ?", () => [random(1_000_000)]),
    };
    break;
  case "hot":
    result = { ops: await throughput("SELECT * FROM users WHERE id = ?", () => [random(1000)]) };
    break;
  case "page":
    result = {
      ops: await throughput(
        "SELECT * FROM users WHERE age > 30 ORDER BY name ASC LIMIT 50 OFFSET ?",
        () => [(random(100) - 1) * 50],
      ),
    };
    break;
  case "analytics":
    result = {
      ops: await throughput(
        "SELECT age, count(*), avg(length(name)) FROM users GROUP BY age",
        () => [],
      ),
    };
    break;
  case "insert": {
    const top = await connections[0].runAndReadAll("SELECT coalesce(max(id), 0) FROM users");
    let next = Number(top.getRows()[0][0]) + 1;
    result = {
      ops: await throughput(
        "INSERT INTO users (id, name, email, age) VALUES (?, ?, ?, ?)",
        () => [next++, "bench", "bench@example.com", 42],
      ),
    };
    break;
  }
  case "bulk": {
    const started = performance.now();
    const reader = READERS[values.reader].replace("FILE", values.file);
    await connections[0].run(
      `INSERT INTO users (id, name, email, age) SELECT id, name, email, age FROM ${reader}`,
    );
    result = { seconds: (performance.now() - started) / 1000 };
    break;
  }
  case "make": {
    // A bulk body of 100k rows from --start, written by DuckDB in --format (json, ndjson, csv,
    // parquet) to --file.
    const start = Number(values.start);
    const options: Record<string, string> = {
      json: "FORMAT json, ARRAY true",
      ndjson: "FORMAT json",
      csv: "FORMAT csv, HEADER true",
      parquet: "FORMAT parquet",
    };
    await connections[0].run(
      `COPY (SELECT i AS id, 'bulk' || i AS name, 'bulk' || i || '@example.com' AS email, ` +
        `(i % 90) + 10 AS age FROM range(${start}, ${start + 100_000}) t(i)) ` +
        `TO '${values.file}' (${options[values.format]})`,
    );
    result = { rows: 100_000 };
    break;
  }
  case "copy": {
    const target = await Deno.makeTempFile();
    const options = values.format === "json_array"
      ? "FORMAT json, ARRAY true"
      : `FORMAT ${values.format}`;
    const started = performance.now();
    await connections[0].run(`COPY (${values.query}) TO '${target}' (${options})`);
    const seconds = (performance.now() - started) / 1000;
    const bytes = (await Deno.stat(target)).size;
    await Deno.remove(target);
    result = { seconds, bytes };
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
for (const c of connections) c.closeSync();
instance.closeSync();
console.log(JSON.stringify(result));
