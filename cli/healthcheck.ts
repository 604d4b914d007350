/**
 * `duckserve healthcheck`: asks a running server's `{prefix}/health` and exits 0 when it answers
 * 200, 1 otherwise. Made for container `HEALTHCHECK`s on images without curl. The URL comes from
 * `--url`, else from the same configuration as `serve` (port and route prefix; the host is
 * loopback when the server listens on every address; HTTPS when TLS is configured, without
 * checking the certificate, which names the public domain rather than the loopback address).
 * @module
 */

import https from "node:https";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { servesTls } from "../lib/config_net.ts";
import { createCommand, parseCommand, printError } from "./_program.ts";

/** Runs `healthcheck` with `args`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const command = createCommand("healthcheck")
    .description("Exit 0 when the server's /health answers 200, else 1.")
    .option("--url <url>", "health URL (default: from DUCKDB_PORT and DUCKDB_ROUTE_PREFIX)")
    .option("--config <file>", "JSON configuration file, as for serve")
    .option("--timeout <ms>", "give up after this many milliseconds", "5000")
    .action(() => {});
  const early = await parseCommand(command, args);
  if (early !== null) return early;
  const options = command.opts();
  let url: string = options.url;
  if (!url) {
    try {
      const config = await loadConfig({ file: options.config });
      const host = ["0.0.0.0", "::", ""].includes(config.host)
        ? "127.0.0.1"
        : config.host.includes(":")
        ? `[${config.host}]`
        : config.host;
      const scheme = servesTls(config) ? "https" : "http";
      url = `${scheme}://${host}:${config.port}${config.route_prefix}/health`;
    } catch (err) {
      if (err instanceof ConfigError) {
        printError(err.message);
        return 2;
      }
      throw err;
    }
  }
  const timeout = Number(options.timeout);
  try {
    const signal = AbortSignal.timeout(Number.isFinite(timeout) && timeout > 0 ? timeout : 5000);
    const { status, body } = url.startsWith("https:")
      ? await getUnverified(url, signal)
      : await fetch(url, { signal }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
    if (status === 200) return 0;
    printError(`unhealthy: ${url} answered ${status} ${body.slice(0, 200)}`);
    return 1;
  } catch (err) {
    printError(`unhealthy: ${url}: ${(err as Error).message}`);
    return 1;
  }
}

/** GET over HTTPS without verifying the certificate (a probe of the local server only). */
function getUnverified(
  url: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { rejectUnauthorized: false, signal }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}
