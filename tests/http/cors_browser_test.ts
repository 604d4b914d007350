// CORS from a real browser (issue 13): a page of another origin calls the API with fetch and a
// key; an allowed origin reads the answer, a disallowed one is blocked by Chromium itself.
import { deepEqual, equal, match } from "node:assert/strict";
import { BROWSER_TEST, openBrowser } from "../_browser.ts";
import { startAuthServer } from "../_helpers.ts";

Deno.test({
  name: "Chromium: an allowed origin calls the API with a key; a disallowed origin is blocked",
  ...BROWSER_TEST,
  async fn() {
    // The page's own server: another port, so another origin than the API.
    await using page = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response("<!doctype html><title>app</title>", {
          headers: { "content-type": "text/html" },
        }),
    );
    const pagePort = page.addr.port;
    await using t = await startAuthServer({
      flags: { cors_origins: `http://127.0.0.1:${pagePort}` },
    });
    await using browser = await openBrowser();
    const tab = browser.page;
    const call = (key: string) =>
      tab.evaluate(async ({ url, key }) => {
        try {
          const r = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", "x-api-key": key },
            body: JSON.stringify({ sql: "SELECT 42 AS answer" }),
          });
          return { status: r.status, body: await r.json(), id: r.headers.get("x-request-id") };
        } catch (err) {
          return { error: String(err) };
        }
      }, { url: `${t.url}/query`, key });

    await tab.goto(`http://127.0.0.1:${pagePort}/`);
    const allowed = await call(t.keys.admin);
    equal(allowed.status, 200, JSON.stringify(allowed));
    deepEqual(allowed.body.data, [{ answer: 42 }]);
    match(String(allowed.id), /^[0-9a-f-]{36}$/, "exposed X-Request-ID is readable");

    await tab.goto(`http://localhost:${pagePort}/`);
    const blocked = await call(t.keys.admin);
    match(String(blocked.error), /TypeError|Failed to fetch/, JSON.stringify(blocked));
  },
});
