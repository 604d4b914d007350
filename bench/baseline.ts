/**
 * In-process baselines: the same work as a bench case, done directly with @duckdb/node-api in
 * one Deno process (pinned to the server's core by the caller). Prints one JSON line.
 *
 *   deno run -A bench/baseline.ts <mode> --db FILE [--connections N] [--seconds S]
 *
 * Modes: select1, point, hot, page, analytics, insert (ops/s); bulk, copy (seconds).
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

const random = (n: number) => 1 + Math.floor(Math.random() * n);
let result: Record<string, number>;
switch (mode) {
  case "select1":
    result = { ops: await throughput("SELECT 1", () => []) };
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
    await connections[0].run(
      `INSERT INTO users (id, name, email, age) SELECT id, name, email, age ` +
        `FROM read_json('${values.file}', format = 'array')`,
    );
    result = { seconds: (performance.now() - started) / 1000 };
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
