// Automatic HTTPS end to end against Let's Encrypt's test server, Debian's `pebble` (issue 13):
// a real HTTP-01 challenge answered on http_port, serving the issued chain, reuse of the stored
// certificate after a restart, and renewal of short-lived certificates without a restart.
import { equal, ok } from "node:assert/strict";
import tls from "node:tls";
import { testConfig } from "../_helpers.ts";
import { startServer } from "../../lib/server.ts";
import { createLogger } from "../../lib/log.ts";
import { createTestCa, hasOpenssl, type TestCa } from "./_certs.ts";

const PEBBLE = "/usr/bin/pebble";
const hasPebble = await Deno.stat(PEBBLE).then(() => true, () => false);
// Outside CI a machine without pebble skips these tests; CI installs it (.ci/run) and runs them.
const PEBBLE_TEST = {
  ignore: Deno.env.get("CI") !== "true" && (!hasPebble || !(await hasOpenssl())),
  sanitizeResources: false,
  sanitizeOps: false,
};

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A pebble process whose HTTP-01 validations go to `httpPort` on this machine. */
async function startPebble(
  ca: TestCa,
  options: { httpPort: number; validitySeconds?: number; alwaysValid?: boolean },
) {
  const leaf = await ca.leaf("pebble");
  const port = freePort();
  const management = freePort();
  const config = `${ca.dir}/pebble.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: leaf.cert,
        privateKey: leaf.key,
        httpPort: options.httpPort,
        tlsPort: freePort(),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        certificateValidityPeriod: options.validitySeconds ?? 3600,
      },
    }),
  );
  const child = new Deno.Command(PEBBLE, {
    args: ["-config", config],
    env: {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: "0",
      PEBBLE_AUTHZREUSE: "0",
      ...(options.alwaysValid ? { PEBBLE_VA_ALWAYS_VALID: "1" } : {}),
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const output: string[] = [];
  (async () => {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) output.push(text);
  })();
  const client = Deno.createHttpClient({ caCerts: [ca.caPem] });
  try {
    for (let i = 0; i < 50; i++) {
      const up = await fetch(`https://127.0.0.1:${port}/dir`, { client } as RequestInit)
        .then(async (r) => (await r.body?.cancel(), r.ok), () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
  return {
    directory: `https://127.0.0.1:${port}/dir`,
    output,
    /** The root that signs issued certificates (fresh for every pebble run). */
    async issuingRoot(): Promise<string> {
      const c = Deno.createHttpClient({ caCerts: [ca.caPem] });
      try {
        const r = await fetch(
          `https://127.0.0.1:${management}/roots/0`,
          { client: c } as RequestInit,
        );
        return await r.text();
      } finally {
        c.close();
      }
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already stopped
      }
      await child.status;
    },
    async [Symbol.asyncDispose]() {
      await this.stop();
    },
  };
}

/** The certificate a new TLS connection to `port` for `localhost` is shown, checked by `ca`. */
function servedCertificate(
  port: number,
  ca: string,
  verify = true,
): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const options = { host: "127.0.0.1", port, ca, servername: "localhost" };
    const socket = tls.connect({ ...options, rejectUnauthorized: verify }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on("error", reject);
  });
}

async function startAuto(
  pebble: { directory: string },
  ca: TestCa,
  httpPort: number,
  certsDir: string,
  flags: Record<string, string> = {},
) {
  const logs: string[] = [];
  const config = await testConfig({
    ...flags,
    tls_auto: "true",
    tls_domains: "localhost",
    acme_email: "ops@example.com",
    acme_directory: pebble.directory,
    acme_ca_root: ca.caPath,
    certs_dir: certsDir,
    http_port: String(httpPort),
  });
  const server = await startServer(config, { log: createLogger("debug", (l) => logs.push(l)) });
  const events = () => logs.map((l) => JSON.parse(l));
  return { server, events };
}

Deno.test({
  name:
    "tls_auto: a real HTTP-01 challenge on http_port, the issued chain serves HTTPS, a restart reuses it",
  ...PEBBLE_TEST,
  fn: async () => {
    await using ca = await createTestCa();
    const httpPort = freePort();
    await using pebble = await startPebble(ca, { httpPort });
    const certsDir = `${ca.dir}/certs`;
    const first = await startAuto(pebble, ca, httpPort, certsDir);
    let serial: string;
    try {
      const root = await pebble.issuingRoot();
      const served = await servedCertificate(first.server.port, root);
      ok(served.subjectaltname?.includes("DNS:localhost"), served.subjectaltname);
      serial = served.serialNumber;
      ok(
        pebble.output.join("").includes(`http://localhost:${httpPort}/.well-known/acme-challenge/`),
        "pebble validated the challenge over HTTP on http_port",
      );
      const client = Deno.createHttpClient({ caCerts: [root] });
      const r = await fetch(`https://localhost:${first.server.port}/duckdb/livez`, {
        client,
      } as RequestInit);
      equal((await r.json()).status, "ok");
      client.close();
      for (const file of ["account.key", "localhost.crt", "localhost.key"]) {
        const info = await Deno.stat(`${certsDir}/${file}`);
        equal(info.mode! & 0o777, 0o600, `${file} is private`);
      }
    } finally {
      await first.server.shutdown();
    }
    const second = await startAuto(pebble, ca, httpPort, certsDir);
    try {
      ok(second.events().some((e) => e.event === "acme_certificate_loaded"));
      ok(!second.events().some((e) => e.event === "acme_order"), "no new order");
      const served = await servedCertificate(second.server.port, await pebble.issuingRoot());
      equal(served.serialNumber, serial);
    } finally {
      await second.server.shutdown();
    }
  },
});

Deno.test({
  name: "tls_auto: a short-lived certificate is renewed and swapped in without a restart",
  ...PEBBLE_TEST,
  fn: async () => {
    await using ca = await createTestCa();
    const httpPort = freePort();
    await using pebble = await startPebble(ca, { httpPort, validitySeconds: 6, alwaysValid: true });
    const t = await startAuto(pebble, ca, httpPort, `${ca.dir}/certs`);
    try {
      const root = await pebble.issuingRoot();
      const before = (await servedCertificate(t.server.port, root)).serialNumber;
      // Two thirds of 6 s: the renewal is due after about 4 s.
      let after = before;
      const started = performance.now();
      while (after === before && performance.now() - started < 12_000) {
        await new Promise((r) => setTimeout(r, 250));
        after = (await servedCertificate(t.server.port, root)).serialNumber;
      }
      ok(after !== before, "a renewed certificate serves new connections");
      ok(t.events().some((e) => e.event === "acme_certificate_renewed"));
      equal(t.server.phase, "ready");

      // The CA goes away: the next renewal fails, is logged and retried; the certificate stays.
      await pebble.stop();
      const failedBy = performance.now() + 15_000;
      while (
        !t.events().some((e) => e.event === "acme_renewal_failed") && performance.now() < failedBy
      ) {
        await new Promise((r) => setTimeout(r, 250));
      }
      const failed = t.events().find((e) => e.event === "acme_renewal_failed");
      equal(failed?.level, "warn");
      // (By now the 6 s certificate may have expired: compare serials without verifying.)
      equal((await servedCertificate(t.server.port, root, false)).serialNumber, after);
    } finally {
      await t.server.shutdown();
    }
  },
});

Deno.test({
  name: "tls_auto: the certificate also covers every tenant host of databases (issue 18)",
  ...PEBBLE_TEST,
  fn: async () => {
    await using ca = await createTestCa();
    const httpPort = freePort();
    await using pebble = await startPebble(ca, { httpPort, alwaysValid: true });
    const databases = JSON.stringify({
      shop: { path: ":memory:", hosts: ["shop.localhost", "Shop2.localhost"] },
    });
    const t = await startAuto(pebble, ca, httpPort, `${ca.dir}/certs`, { databases });
    try {
      const served = await servedCertificate(t.server.port, await pebble.issuingRoot());
      const names = served.subjectaltname ?? "";
      for (const name of ["localhost", "shop.localhost", "shop2.localhost"]) {
        ok(names.includes(`DNS:${name}`), names);
      }
      const order = t.events().find((e) => e.event === "acme_order");
      equal(order?.domains.join(","), "localhost,shop.localhost,shop2.localhost");
    } finally {
      await t.server.shutdown();
    }
  },
});
