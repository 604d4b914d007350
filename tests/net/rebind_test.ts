// Graceful rebind (the API issue 14's live reload uses): new listeners first, old ones drain,
// requests in flight finish; also the same port switching from HTTP to HTTPS.
import { equal, ok, rejects } from "node:assert/strict";
import { startTestServer, testConfig } from "../_helpers.ts";
import { createTestCa, hasOpenssl } from "./_certs.ts";

const ignore = !(await hasOpenssl());

/** Starts a streamed CSV export and reads its first chunk; `rest()` reads it to the end. */
async function inFlight(url: string) {
  const sql = encodeURIComponent("SELECT range AS i FROM range(400000)");
  const response = await fetch(`${url}/query/${sql}/result.csv`, {
    headers: { "accept-encoding": "identity" },
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value, { stream: true });
  return {
    async rest(): Promise<string> {
      for (let c = await reader.read(); !c.done; c = await reader.read()) {
        text += decoder.decode(c.value, { stream: true });
      }
      return text;
    },
  };
}

Deno.test("rebind to another port: the new port serves, the old one drains its requests", async () => {
  await using t = await startTestServer({ absolute_max_rows: "0" });
  const oldUrl = t.url;
  const running = await inFlight(oldUrl);
  const next = await testConfig({ absolute_max_rows: "0" });
  const { drained } = await t.server.listeners.rebind(next);
  const newUrl = `${t.server.listeners.origin}/duckdb`;
  ok(newUrl !== oldUrl, "port 0 bound a new port");
  const r = await fetch(`${newUrl}/livez`);
  equal((await r.json()).status, "ok");
  const csv = await running.rest();
  equal(csv.trim().split("\n").length, 400_001, "the request in flight finished");
  await drained;
  await rejects(fetch(`${oldUrl}/livez`), "the old port is closed");
});

Deno.test({
  name: "rebind the same port from HTTP to HTTPS: in-flight requests finish, new ones get TLS",
  ignore,
  fn: async () => {
    await using ca = await createTestCa();
    const files = await ca.leaf("server");
    await using t = await startTestServer({ absolute_max_rows: "0" });
    const port = t.server.port;
    const running = await inFlight(t.url);
    const next = await testConfig({
      port: String(port),
      absolute_max_rows: "0",
      tls_cert: files.cert,
      tls_key: files.key,
    });
    const { drained } = await t.server.listeners.rebind(next);
    equal(t.server.listeners.origin, `https://127.0.0.1:${port}`);
    const client = Deno.createHttpClient({ caCerts: [ca.caPem] });
    const r = await fetch(`https://127.0.0.1:${port}/duckdb/livez`, { client } as RequestInit);
    equal((await r.json()).status, "ok");
    client.close();
    const csv = await running.rest();
    equal(csv.trim().split("\n").length, 400_001, "the request in flight finished");
    await drained;

    // A bad certificate is refused before anything changes.
    const broken = await testConfig({
      port: String(port),
      tls_cert: files.cert,
      tls_key: `${ca.dir}/missing.key`,
    });
    await rejects(t.server.listeners.rebind(broken), /invalid tls_key/);
    equal(t.server.listeners.origin, `https://127.0.0.1:${port}`, "still serving HTTPS");
  },
});
