/**
 * `duckserve healthcheck`: asks a running server's `{prefix}/health` and exits 0 when it answers
 * 200, 1 otherwise. Made for container `HEALTHCHECK`s on images without curl. The URL comes from
 * `--url`, else from the same configuration as `serve` (port and route prefix; the host is
 * loopback when the server listens on every address).
 * @module
 */

import { ConfigError, loadConfig } from "../lib/config.ts";
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
      url = `http://${host}:${config.port}${config.route_prefix}/health`;
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
    const response = await fetch(url, {
      signal: AbortSignal.timeout(Number.isFinite(timeout) && timeout > 0 ? timeout : 5000),
    });
    const body = await response.text();
    if (response.status === 200) return 0;
    printError(`unhealthy: ${url} answered ${response.status} ${body.slice(0, 200)}`);
    return 1;
  } catch (err) {
    printError(`unhealthy: ${url}: ${(err as Error).message}`);
    return 1;
  }
}
