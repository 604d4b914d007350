/**
 * duckserve entry point: dispatches argv to the `serve` (default), `auth`, `healthcheck`,
 * `validate` and `config` subcommands.
 * This is the only module that calls `Deno.exit`.
 * @module
 */

import { VERSION } from "./lib/version.ts";

const USAGE = `duckserve ${VERSION}: DuckDB behind a REST API, raw SQL and API keys.

Usage:
  duckserve [serve] [options]   start the server (default command; see serve --help)
  duckserve auth <verb> ...     manage API keys, roles and permissions (see auth --help)
  duckserve healthcheck         exit 0 when a running server's /health answers 200
  duckserve validate --config FILE   check a configuration document (every problem listed)
  duckserve config [options]    print the effective configuration as JSON
  duckserve --version           print the version
  duckserve --help              print this help
`;

/** Runs the command line and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  switch (first) {
    case "serve":
      return (await import("./cli/serve.ts")).run(rest);
    case "auth":
      return (await import("./cli/auth.ts")).run(rest);
    case "healthcheck":
      return (await import("./cli/healthcheck.ts")).run(rest);
    case "validate":
      return (await import("./cli/config.ts")).runValidate(rest);
    case "config":
      return (await import("./cli/config.ts")).runConfig(rest);
    case "--version":
    case "-V":
    case "version":
      console.log(VERSION);
      return 0;
    case "--help":
    case "-h":
    case "help":
      console.log(USAGE);
      return 0;
    default:
      if (first === undefined || first.startsWith("-")) {
        return (await import("./cli/serve.ts")).run(args);
      }
      console.error(`duckserve: unknown command "${first}"\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
