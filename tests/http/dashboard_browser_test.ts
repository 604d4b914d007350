import { equal, ok } from "node:assert/strict";
import { BROWSER_TEST, openBrowser } from "../_browser.ts";
import { startAuthServer } from "../_helpers.ts";

/** Where the screenshots go: `tests/output/` (ignored by git). */
const OUTPUT = new URL("../output/", import.meta.url);

/** A statement that runs for minutes unless interrupted. */
const LONG_SQL = "SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b";

Deno.test({
  name: "GET /dashboard in Chromium: logs in, charts fill under load, cancels a running query",
  ...BROWSER_TEST,
  async fn() {
    await using t = await startAuthServer();
    const admin = t.as(t.keys.admin);
    const origin = new URL(t.url).origin;
    await Deno.mkdir(OUTPUT, { recursive: true });
    await using browser = await openBrowser({ viewport: { width: 1400, height: 1000 } });
    const { context, page, problems } = browser;
    let load = true;
    const loader = (async () => {
      // A load script: cached and uncached queries, a few errors.
      for (let i = 0; load; i++) {
        const sql = i % 10 === 9 ? "SELECT nope" : i % 2 ? "SELECT 1 AS one" : `SELECT ${i} AS n`;
        await t.query(sql, undefined, admin);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const requests: string[] = [];
      context.on("request", (r) => requests.push(r.url()));

      await page.goto(`${t.url}/dashboard`);
      await page.locator("#key-form").waitFor();
      await page.fill("#api-key", t.keys.admin);
      await page.click("#key-form button[type=submit]");
      await page.getByText("Live", { exact: true }).waitFor();
      // The key is in sessionStorage, never in a URL.
      const stored = await page.evaluate('sessionStorage.getItem("duckserve.dashboard.key")');
      equal(stored, t.keys.admin);

      // The charts fill while the load runs: several ticks, requests counted, latency drawn.
      const ticks = async () => Number(await page.locator("body").getAttribute("data-ticks") ?? 0);
      for (let i = 0; (await ticks()) < 4; i++) {
        ok(i < 200, "no ticks arrived");
        await new Promise((r) => setTimeout(r, 100));
      }
      const requestsPerSecond = await page.locator(".stat", { hasText: "Requests/s" })
        .locator(".value").innerText();
      ok(Number(requestsPerSecond.replaceAll(",", "")) > 0, `requests/s ${requestsPerSecond}`);
      await page.locator("#routes tbody tr", { hasText: "/duckdb/query" }).waitFor();
      const paths = await page.locator("#chart-rps svg, #chart-rps canvas").count();
      ok(paths > 0, "the requests chart is drawn");

      // A long query appears in the running table, with its progress bar and cancel button.
      const running = fetch(`${t.url}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "browser-long", ...admin },
        body: JSON.stringify({ sql: LONG_SQL }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
      const row = page.locator('#running tbody tr[data-request-id="browser-long"]');
      await row.waitFor();
      ok(await row.locator('[role="progressbar"]').count() === 1, "a progress bar");
      ok((await row.innerText()).includes("SELECT sum("));

      // Screenshots: light, dark, narrow.
      await page.screenshot({ path: new URL("dashboard-light.png", OUTPUT).pathname });
      await page.emulateMedia({ colorScheme: "dark" });
      const dark = await page.evaluate("getComputedStyle(document.body).backgroundColor");
      equal(dark, "rgb(15, 17, 21)");
      await page.screenshot({ path: new URL("dashboard-dark.png", OUTPUT).pathname });
      await page.emulateMedia({ colorScheme: "light" });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: new URL("dashboard-narrow.png", OUTPUT).pathname });
      const overflow = await page.evaluate<number>(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      ok(overflow <= 1, `the narrow page scrolls sideways by ${overflow} px`);
      await page.setViewportSize({ width: 1400, height: 1000 });

      await row.locator("button.cancel").click();
      const answer = await running;
      equal(answer.status, 409);
      equal(answer.body.code, "query_canceled");
      equal(answer.body.request_id, "browser-long");
      await row.waitFor({ state: "detached" });

      for (const url of requests) {
        ok(url.startsWith(origin) || url.startsWith("data:"), `request outside the server: ${url}`);
        ok(!url.includes(t.keys.admin), "the key never appears in a URL");
      }
      equal(problems.length, 0, `browser errors: ${problems.join("\n")}`);
      for (const name of ["dashboard-light.png", "dashboard-dark.png", "dashboard-narrow.png"]) {
        ok((await Deno.stat(new URL(name, OUTPUT))).size > 1000, name);
      }
    } finally {
      load = false;
      await loader;
    }
  },
});
