// Headless Chromium for the browser tests (docs, CORS, dashboard): one launch, one page set-up,
// one collection of the page's errors.
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where CI installs Chromium (.ci/run). */
export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * The options every browser test shares: outside CI a machine without Chromium skips the test
 * (CI installs it and runs it); Playwright's pipes outlive the test, so the sanitizers are off.
 */
export const BROWSER_TEST = {
  ignore: Deno.env.get("CI") !== "true" &&
    !(await Deno.stat(CHROMIUM).then(() => true, () => false)),
  sanitizeResources: false,
  sanitizeOps: false,
};

/** What {@link openBrowser} accepts. */
export interface BrowserOptions {
  /** The page's size; Playwright's default when absent. */
  viewport?: { width: number; height: number };
}

/** A headless Chromium with a fresh profile, its first page and the page's errors. */
export interface Browser extends AsyncDisposable {
  /** The persistent context (listen to its `request` events). */
  context: BrowserContext;
  /** The first page, with a 20 s default timeout. */
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  problems: string[];
}

/**
 * Launches Chromium with a temporary profile and returns its first page, collecting console
 * errors and page errors into `problems`; disposing closes the browser and removes the profile.
 */
export async function openBrowser(options: BrowserOptions = {}): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "duckserve-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    timeout: 30_000,
    ...(options.viewport ? { viewport: options.viewport } : {}),
  });
  const close = async () => {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    const problems: string[] = [];
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    return { context, page, problems, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
