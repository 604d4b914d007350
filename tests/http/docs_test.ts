import { equal, match, ok } from "node:assert/strict";
import { BROWSER_TEST, openBrowser } from "../_browser.ts";
import { startAuthServer } from "../_helpers.ts";
import type { Locator } from "playwright-core";

/** Runs Swagger UI's "Try it out" on an operation: the response's status and body text. */
async function tryItOut(operation: Locator): Promise<{ status: string; body: string }> {
  await operation.locator(".opblock-summary").click();
  await operation.locator(".try-out__btn").click();
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table tr.response .response-col_status");
  await status.waitFor();
  const body = await operation.locator(".live-responses-table .microlight").first().innerText();
  return { status: (await status.innerText()).trim(), body };
}

Deno.test({
  name: "GET /docs works offline in Chromium: lists the tables and runs a request with a key",
  ...BROWSER_TEST,
  async fn() {
    await using t = await startAuthServer({ roles: { users_reader: [["users", "r"]] } });
    const admin = t.as(t.keys.admin);
    for (
      const sql of ["CREATE TABLE users (id INTEGER PRIMARY KEY)", "CREATE TABLE hidden (x INT)"]
    ) {
      equal((await t.query(sql, undefined, admin)).status, 200);
    }
    const origin = new URL(t.url).origin;
    await using browser = await openBrowser();
    const { context, page, problems } = browser;
    const requests: string[] = [];
    context.on("request", (r) => requests.push(r.url()));

    await page.goto(`${t.url}/docs`);
    await page.getByText("No key: enter one").waitFor();
    await page.locator(".swagger-ui .info").waitFor();

    await page.fill("#api-key", t.keys.users_reader);
    await page.click("#key-form button[type=submit]");
    await page.getByText("Using your key").waitFor();
    // The document fetched with the key lists the tables that key may read, and no others.
    const info = page.locator(".swagger-ui .info");
    await info.getByText("Tables and views you may read").waitFor();
    const infoText = await info.innerText();
    match(infoText, /users/);
    ok(!infoText.includes("hidden"), "a table the key may not read stays hidden");

    // "Try it out" on GET /tables with the key.
    const { status, body } = await tryItOut(page.locator("#operations-Schema-listTables"));
    equal(status, "200");
    match(body, /"name": "users"/);
    ok(!body.includes("hidden"));

    ok(requests.length > 0);
    for (const url of requests) {
      ok(url.startsWith(origin) || url.startsWith("data:"), `request outside the server: ${url}`);
    }
    equal(problems.length, 0, `browser errors: ${problems.join("\n")}`);
  },
});

Deno.test({
  name: 'GET /docs: "Try it out" on a table\'s read sends its own examples, encoded once',
  ...BROWSER_TEST,
  async fn() {
    await using t = await startAuthServer();
    const admin = t.as(t.keys.admin);
    const sql = `CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR);
      INSERT INTO users VALUES (1, '100%'), (2, NULL);
      CREATE TABLE "a%b" ("v,1" VARCHAR, n INTEGER); INSERT INTO "a%b" VALUES ('x%41', 1)`;
    equal((await t.query(sql, undefined, admin)).status, 200);
    await using browser = await openBrowser();
    const { context, page } = browser;
    const sent: string[] = [];
    context.on("request", (r) => r.url().includes("/api/") && sent.push(r.url()));
    await page.goto(`${t.url}/docs`);
    await page.fill("#api-key", t.keys.admin);
    await page.click("#key-form button[type=submit]");
    await page.getByText("Using your key").waitFor();
    // Swagger UI escapes the operation ids in element ids (CSS.escape).
    const cases = [
      ["operations-users-readRows\\.users", '"name": "100%"', "/api/users?"],
      ["operations-a\\%b-readRows\\.a\\%b", '"v,1": "x%41"', "/api/a%25b?"],
    ];
    for (const [id, row, path] of cases) {
      const { status, body } = await tryItOut(page.locator(`xpath=//*[@id="${id}"]`));
      equal(status, "200", body);
      ok(body.includes(row), body);
      const url = sent.find((u) => u.includes(path))!;
      ok(url, `${path} in ${sent.join(" ")}`);
      match(url, /filter=[^&]*%3Alike%3A%25(&|$)/, "the % of the example encoded once");
      ok(!url.includes("%2525"), url);
    }
  },
});
