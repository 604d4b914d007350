// HTTPS from certificate files (issue 13): HTTP/2 by ALPN and HTTP/1.1, HSTS, the redirect
// port, certificate hot swap, refused replacements and start-up errors naming the key.
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import tls from "node:tls";
import { runDeno, testConfig } from "../_helpers.ts";
import { startServer } from "../../lib/server.ts";
import { createLogger } from "../../lib/log.ts";
import { loadConfig } from "../../lib/config.ts";
import { createTestCa, hasOpenssl, type TestCa } from "./_certs.ts";

const ignore = !(await hasOpenssl());

async function startTls(ca: TestCa, flags: Record<string, string> = {}, name = "server") {
  const files = await ca.leaf(name);
  const config = await testConfig({ tls_cert: files.cert, tls_key: files.key, ...flags });
  const logs: string[] = [];
  const server = await startServer(config, { log: createLogger("debug", (l) => logs.push(l)) });
  const client = Deno.createHttpClient({ caCerts: [ca.caPem] });
  return {
    server,
    files,
    logs,
    client,
    fetch: (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, client } as RequestInit),
    async [Symbol.asyncDispose]() {
      client.close();
      await server.shutdown();
    },
  };
}

async function curl(args: string[]): Promise<string> {
  const out = await new Deno.Command("curl", { args: ["-s", ...args], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** The serial number of the certificate a new TLS connection to `port` is shown. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on("error", reject);
  });
}

Deno.test({
  name: "tls_cert/tls_key: HTTPS only, HTTP/2 by ALPN and HTTP/1.1, HSTS and nosniff",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    await using t = await startTls(ca, { hsts_max_age: "1h" });
    ok(t.server.url.startsWith("https://127.0.0.1:"));
    const url = `${t.server.url}/query/${encodeURIComponent("SELECT 42 AS n")}/result.json`;
    for (const [flag, version] of [["--http2", "2"], ["--http1.1", "1.1"]]) {
      const out = await curl([
        flag,
        "--cacert",
        ca.caPath,
        "-D",
        "-",
        "-w",
        "\n%{http_version}",
        url,
      ]);
      ok(out.endsWith(`\n${version}`), `${flag}: ${out.slice(-20)}`);
      match(out, /strict-transport-security: max-age=3600/i);
      match(out, /x-content-type-options: nosniff/i);
      match(out, /"n":42/);
    }
    const r = await t.fetch("/livez");
    equal(r.status, 200);
    equal(r.headers.get("strict-transport-security"), "max-age=3600");
    await r.body?.cancel();
    const plain = await curl([
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      url.replace("https", "http"),
    ]);
    equal(plain, "000", "the port does not speak plain HTTP");
  },
});

Deno.test({
  name: "hsts_max_age 0 sends no Strict-Transport-Security",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    await using t = await startTls(ca, { hsts_max_age: "0" });
    const r = await t.fetch("/livez");
    await r.body?.cancel();
    equal(r.headers.get("strict-transport-security"), null);
  },
});

Deno.test({
  name: "http_port answers 308 to the same path on HTTPS and unknown ACME challenges with 404",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const httpPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await using t = await startTls(ca, { http_port: String(httpPort) });
    const httpsPort = t.server.port;
    const moved = await fetch(`http://127.0.0.1:${httpPort}/duckdb/tables?x=1`, {
      redirect: "manual",
    });
    await moved.body?.cancel();
    equal(moved.status, 308);
    equal(moved.headers.get("location"), `https://127.0.0.1:${httpsPort}/duckdb/tables?x=1`);
    equal(moved.headers.get("x-content-type-options"), "nosniff");
    const post = await fetch(`http://127.0.0.1:${httpPort}/duckdb/query`, {
      method: "POST",
      body: "{}",
      redirect: "manual",
    });
    await post.body?.cancel();
    equal(post.status, 308, "308 keeps the method and body");
    const challenge = await fetch(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/nope`);
    equal(challenge.status, 404);
    equal((await challenge.json()).code, "route_not_found");
    // Following the redirect with the CA trusted lands on the HTTPS answer.
    const followed = await fetch(`http://localhost:${httpPort}/duckdb/livez`, {
      client: t.client,
    } as RequestInit);
    equal(followed.status, 200);
    equal((await followed.json()).status, "ok");
  },
});

Deno.test({
  name: "replaced certificate files serve new connections within 5 s; bad ones are refused",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    await using t = await startTls(ca);
    const port = t.server.port;
    const before = await servedSerial(port, ca.caPem);
    // A response in flight across the swap completes.
    const slow = t.fetch(
      `/query/${encodeURIComponent("SELECT range AS i FROM range(300000)")}/result.csv`,
    );
    const next = await ca.leaf("next");
    await Deno.writeTextFile(t.files.key, await Deno.readTextFile(next.key));
    await Deno.writeTextFile(t.files.cert, await Deno.readTextFile(next.cert));
    const started = performance.now();
    let after = before;
    while (after === before && performance.now() - started < 5_000) {
      await new Promise((r) => setTimeout(r, 200));
      after = await servedSerial(port, ca.caPem);
    }
    ok(after !== before, "the new certificate serves within 5 s");
    const csv = await (await slow).text();
    equal(csv.trim().split("\n").length, 300_001, "the request in flight finished");
    ok(t.logs.some((l) => JSON.parse(l).event === "tls_certificate_reloaded"));

    // A key that does not match: refused with one log line, the current certificate stays.
    const other = await ca.leaf("other");
    await Deno.writeTextFile(t.files.key, await Deno.readTextFile(other.key));
    await new Promise((r) => setTimeout(r, 2_500));
    equal(await servedSerial(port, ca.caPem), after);
    const refused = t.logs.map((l) => JSON.parse(l)).filter((e) =>
      e.event === "tls_certificate_refused"
    );
    equal(refused.length, 1, "one log line");
    match(refused[0].reason, /tls_key .*does not match/);
    const r = await t.fetch("/livez");
    equal(r.status, 200);
    await r.body?.cancel();
  },
});

Deno.test({
  name: "bad TLS configuration stops start-up naming the key; an expired certificate warns",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    const good = await ca.leaf("good");
    const other = await ca.leaf("other");
    const start = async (flags: Record<string, string>) => {
      const server = await startServer(await testConfig(flags), { log: createLogger("silent") });
      await server.shutdown();
    };
    await rejects(
      start({ tls_cert: `${ca.dir}/missing.crt`, tls_key: good.key }),
      /invalid tls_cert = ".*missing\.crt": the file does not exist/,
    );
    await rejects(
      start({ tls_cert: good.cert, tls_key: other.key }),
      /invalid tls_key .*does not match/,
    );
    await rejects(
      start({ tls_cert: good.key, tls_key: good.key }),
      /invalid tls_cert .*not a PEM certificate/,
    );
    if (Deno.uid() !== 0) {
      await Deno.chmod(good.key, 0o000);
      await rejects(
        start({ tls_cert: good.cert, tls_key: good.key }),
        /tls_key .*permission denied/,
      );
      await Deno.chmod(good.key, 0o600);
    }
    await rejects(
      loadConfig({ env: {}, flags: { tls_cert: good.cert } }),
      /tls_cert and tls_key must be set together/,
    );
    await rejects(
      loadConfig({ env: {}, flags: { http_port: "8081" } }),
      /http_port = 8081: it redirects to HTTPS/,
    );

    const expired = await ca.leaf("expired", { expired: true });
    const logs: string[] = [];
    const server = await startServer(
      await testConfig({ tls_cert: expired.cert, tls_key: expired.key }),
      { log: createLogger("debug", (l) => logs.push(l)) },
    );
    try {
      const warned = logs.map((l) => JSON.parse(l)).find((e) =>
        e.event === "tls_certificate_expired"
      );
      deepEqual([warned?.level, warned?.not_after], ["warn", "2020-02-01T00:00:00.000Z"]);
      equal(server.phase, "ready", "an expired certificate still serves");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "duckserve healthcheck probes an HTTPS server without checking its certificate",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    await using t = await startTls(ca);
    const out = await runDeno(["run", "-A", "main.ts", "healthcheck"], {
      DUCKDB_PORT: String(t.server.port),
      DUCKDB_HOST: "127.0.0.1",
      DUCKDB_TLS_CERT: t.files.cert,
      DUCKDB_TLS_KEY: t.files.key,
    });
    equal(out.code, 0, out.stderr);
    const down = await runDeno(["run", "-A", "main.ts", "healthcheck", "--timeout", "2000"], {
      DUCKDB_PORT: String(t.server.port + 1 === 65536 ? 1 : t.server.port + 1),
      DUCKDB_HOST: "127.0.0.1",
      DUCKDB_TLS_CERT: t.files.cert,
      DUCKDB_TLS_KEY: t.files.key,
    });
    equal(down.code, 1);
  },
});

Deno.test({
  name: "header_timeout closes TLS connections that never finish the handshake or send headers",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    await using t = await startTls(ca, { header_timeout: "300ms", idle_timeout: "400ms" });
    const closedAfter = (connect: () => Deno.Conn | Promise<Deno.Conn>) =>
      (async () => {
        const started = performance.now();
        const conn = await connect();
        const buffer = new Uint8Array(1024);
        try {
          while ((await conn.read(buffer)) !== null) { /* drain until the server closes */ }
        } catch {
          // reset by the server
        }
        conn.close();
        return performance.now() - started;
      })();
    const silent = closedAfter(() => Deno.connect({ hostname: "127.0.0.1", port: t.server.port }));
    const handshaken = closedAfter(async () => {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: t.server.port,
        caCerts: [ca.caPem],
      });
      await conn.handshake();
      return conn;
    });
    const [a, b] = await Promise.all([silent, handshaken]);
    ok(a >= 250 && a < 3_000, `no ClientHello: closed after ${a} ms`);
    ok(b >= 250 && b < 3_000, `TLS but no request: closed after ${b} ms`);
  },
});
