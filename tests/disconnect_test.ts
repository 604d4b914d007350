import { deepEqual, ok } from "node:assert/strict";
import { eventually, startTestServer } from "./_helpers.ts";

Deno.test({
  name: "a client that leaves before an export's first byte is logged 499 in every format",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using t = await startTestServer({ query_timeout: "60s" });
    const setup = await t.query(
      "CREATE TABLE big AS SELECT range AS id, repeat('x', 100) AS pad FROM range(2000000); " +
        "CREATE VIEW slow AS SELECT * FROM big ORDER BY md5(pad || id)",
    );
    deepEqual(setup.status, 200, setup.text);
    const requests: [string, string, RequestInit][] = [];
    for (const format of ["csv", "ndjson", "parquet", "json&download=1", "arrow"]) {
      requests.push([
        `POST /query ${format}`,
        `${t.url}/query?format=${format}`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sql: "FROM slow" }),
        },
      ]);
      requests.push([`GET /api/slow ${format}`, `${t.url}/api/slow?format=${format}`, {}]);
    }
    for (const [label, url, init] of requests) {
      const before = t.events("request_done").length;
      const abort = new AbortController();
      const reply = fetch(url, { ...init, signal: abort.signal }).then(
        (r) => r.body?.cancel().then(() => `status ${r.status}`),
        (err) => err.name,
      );
      await new Promise((r) => setTimeout(r, 250));
      abort.abort();
      deepEqual(await reply, "AbortError", `${label}: the answer came before the abort`);
      ok(await eventually(() => Promise.resolve(t.events("request_done").length > before)), label);
      const done = t.events("request_done").slice(before);
      deepEqual(done.map((e) => e.status), [499], label);
      const failed = t.events("request_failed").filter((e) => e.request_id === done[0].request_id);
      deepEqual(failed, [], `${label}: logged as a failure`);
    }
    // the pool is whole again: a query still answers
    deepEqual((await t.query("SELECT 1 AS one")).body.data, [{ one: 1 }]);
  },
});
