// Connection hygiene of the listener (issue 17, defects 1 and 5): idle and slow-header
// connections are closed, open connections are capped, oversized URLs get problem+json.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import net from "node:net";
import { consume, sqlPath, startTestServer } from "../_helpers.ts";

/** A raw TCP client: what it received and when the server closed it (ms after connecting). */
function rawClient(port: number, send: string | null) {
  const opened = performance.now();
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  const closed = new Promise<number>((resolve) => {
    socket.on("data", (d) => (received += d));
    socket.on("error", () => {});
    socket.on("close", () => resolve(performance.now() - opened));
  });
  socket.on("connect", () => send !== null && socket.write(send));
  return {
    socket,
    closed,
    get received() {
      return received;
    },
  };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("idle, slow-header and idle keep-alive connections are closed by the timeouts", async () => {
  await using t = await startTestServer({ idle_timeout: "400ms", header_timeout: "300ms" });
  const port = portOf(t.url);
  const silent = rawClient(port, null);
  const partial = rawClient(port, "GET /duckdb/livez HTTP/1.1\r\nHost: x\r\n");
  const kept = rawClient(port, "GET /duckdb/livez HTTP/1.1\r\nHost: x\r\n\r\n");
  const [a, b, c] = await Promise.all(
    [silent, partial, kept].map((client) => within(client.closed, 5_000)),
  );
  ok(a !== "timeout" && a >= 250 && a < 2_000, `the silent connection closed after ${a} ms`);
  ok(b !== "timeout" && b >= 250 && b < 2_000, `the slow-header connection closed after ${b} ms`);
  ok(c !== "timeout" && c >= 350 && c < 2_500, `the idle keep-alive closed after ${c} ms`);
  ok(kept.received.startsWith("HTTP/1.1 200"), "the keep-alive request was answered first");
  equal(silent.received, "");
  equal(t.server.listeners.main.connections, 0);
});

Deno.test("a request in flight outlives idle_timeout; the connection closes once idle", async () => {
  await using t = await startTestServer({ idle_timeout: "100ms", query_timeout: "30s" });
  const started = performance.now();
  const r = await t.query("SELECT count(*) AS n FROM range(3000000000) a");
  equal(r.status, 200, r.text);
  ok(performance.now() - started > 100, "the query ran longer than idle_timeout");
  const events = await consume(await fetch(`${t.url}${sqlPath("SELECT 1 AS one")}`));
  deepEqual(events.body.data, [{ one: 1 }]);
});

Deno.test("max_connections: connections beyond the cap are closed at once, the others serve", async () => {
  await using t = await startTestServer({ max_connections: "3", header_timeout: "5s" });
  const port = portOf(t.url);
  const held = [0, 1, 2].map(() => rawClient(port, null));
  await new Promise((r) => setTimeout(r, 200));
  const extra = rawClient(port, "GET /duckdb/livez HTTP/1.1\r\nHost: x\r\n\r\n");
  const closedAfter = await within(extra.closed, 2_000);
  ok(closedAfter !== "timeout", "the fourth connection was closed");
  equal(extra.received, "", "and got no answer");
  equal(t.server.listeners.main.connections, 3);
  held[0].socket.write("GET /duckdb/livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  await held[0].closed;
  ok(held[0].received.startsWith("HTTP/1.1 200"), "a connection within the cap is served");
  for (const h of held) h.socket.destroy();
});

Deno.test("a URL over 64 KiB gets 414 uri_too_long as problem+json", async () => {
  await using t = await startTestServer();
  // fetch() refuses such URLs itself, so a raw client sends it.
  const path = `/duckdb${sqlPath(`SELECT '${"x".repeat(70_000)}' AS s`)}`;
  const client = rawClient(
    portOf(t.url),
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  );
  await client.closed;
  const [head, body] = client.received.split("\r\n\r\n");
  ok(head.startsWith("HTTP/1.1 414 "), head.slice(0, 40));
  match(head, /content-type: application\/problem\+json/i);
  match(head, /x-content-type-options: nosniff/i);
  const problem = JSON.parse(body);
  deepEqual([problem.status, problem.code], [414, "uri_too_long"]);
  ok(problem.request_id);
  const fine = await consume(
    await fetch(`${t.url}${sqlPath(`SELECT '${"x".repeat(30_000)}' AS s`)}`),
  );
  equal(fine.status, 200, "URLs below the limit still work");
});

Deno.test("oversized headers get 431 headers_too_large; malformed requests 400 invalid_request", async () => {
  await using t = await startTestServer();
  const port = portOf(t.url);
  const cookies = Array.from({ length: 100 }, (_, i) => `X-Big-${i}: ${"y".repeat(1000)}\r\n`);
  const big = rawClient(port, `GET /duckdb/livez HTTP/1.1\r\nHost: x\r\n${cookies.join("")}\r\n`);
  await big.closed;
  ok(big.received.startsWith("HTTP/1.1 431"), big.received.slice(0, 40));
  equal(JSON.parse(big.received.split("\r\n\r\n")[1]).code, "headers_too_large");
  const bad = rawClient(port, "GET /duckdb/livez HTTP/1.1\r\nHost x\r\n\r\n");
  await bad.closed;
  ok(bad.received.startsWith("HTTP/1.1 400"), bad.received.slice(0, 40));
  ok(/application\/problem\+json/.test(bad.received));
  equal(JSON.parse(bad.received.split("\r\n\r\n")[1]).code, "invalid_request");
});

Deno.test("every answer carries X-Content-Type-Options: nosniff, errors and probes included", async () => {
  await using t = await startTestServer();
  for (const path of ["/livez", "/health", "/nowhere", "/docs", "/openapi.json"]) {
    const r = await t.request(path);
    equal(r.headers.get("x-content-type-options"), "nosniff", path);
  }
  const q = await t.query("SELECT 1 AS one");
  equal(q.headers.get("x-content-type-options"), "nosniff");
  equal(q.headers.get("strict-transport-security"), null, "no HSTS over plain HTTP");
});

Deno.test("at the open-file limit the server keeps serving (a connection flood cannot stop it)", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const port = freePort();
  const serve = [Deno.execPath(), "run", "-A", main, "serve", "--host", "127.0.0.1"];
  serve.push("--port", String(port), "--auth-enabled", "false", "--streams-storage", "memory");
  serve.push("--header-timeout", "2s", "--log-level", "error");
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -n 200; exec "$@"`, "sh", ...serve],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const health = () =>
      fetch(`http://127.0.0.1:${port}/duckdb/health`, { signal: AbortSignal.timeout(3000) })
        .then(async (r) => (await r.text(), r.status), () => 0);
    for (let i = 0; i < 100 && await health() !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const flood = Array.from({ length: 400 }, () => rawClient(port, null));
    await new Promise((r) => setTimeout(r, 1500));
    for (const client of flood) client.socket.destroy();
    await new Promise((r) => setTimeout(r, 500));
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = await health();
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    equal(status, 200, "the server still accepts and answers after the flood");
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
