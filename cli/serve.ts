/**
 * `duckserve serve` (the default command): load the configuration, start the server, and stop
 * gracefully on SIGINT/SIGTERM: stop accepting, let in-flight requests finish for up to
 * `shutdown_grace`, interrupt what is left, checkpoint and close (a second signal forces the exit;
 * a repeat within a second is the same request). SIGHUP reloads the configuration (the
 * `--config` file, the environment, the flags) without a restart.
 * @module
 */

import {
  type Config,
  ConfigError,
  type ConfigSources,
  describeConfig,
  loadConfig,
} from "../lib/config.ts";
import { startServer } from "../lib/server.ts";
import { VERSION } from "../lib/version.ts";
import { printProblems } from "./config.ts";
import {
  addConfigOptions,
  configFlagsOf,
  createCommand,
  parseCommand,
  printError,
} from "./_program.ts";

/** Help text header of `serve`. */
export const SERVE_HELP =
  "Start the HTTP server. Options override environment variables (DUCKDB_*), which override " +
  "the --config file, which overrides defaults.";

/** How long after the first stop signal a repeated one is the same request (ms). */
export const SAME_SIGNAL_MS = 1_000;

/**
 * The SIGINT/SIGTERM policy: the first signal stops gracefully; a repeat within
 * {@link SAME_SIGNAL_MS} is the same request (Ctrl+C under `deno task` reaches the server twice:
 * from the terminal and forwarded by the task runner); a later one forces the exit.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { createSignalHandler } from "./serve.ts";
 * const calls: string[] = [];
 * let now = 0;
 * const on = createSignalHandler({
 *   stop: () => calls.push("stop"),
 *   force: () => calls.push("force"),
 *   now: () => now,
 * });
 * on();
 * now = 20;
 * on();
 * now = 1500;
 * on();
 * deepEqual(calls, ["stop", "force"]);
 * ```
 */
export function createSignalHandler(actions: {
  stop: () => unknown;
  force: () => unknown;
  now?: () => number;
}): () => void {
  const now = actions.now ?? (() => performance.now());
  let first: number | null = null;
  return () => {
    const at = now();
    if (first === null) {
      first = at;
      actions.stop();
    } else if (at - first >= SAME_SIGNAL_MS) {
      actions.force();
    }
  };
}

/** Runs `serve` with `args`; resolves with the process exit code after shutdown. */
export async function run(args: string[]): Promise<number> {
  const command = addConfigOptions(
    createCommand("serve")
      .description(SERVE_HELP)
      .option("--print-config", "print the effective configuration as JSON and exit")
      .version(VERSION, "-V, --version", "print the version and exit"),
  );
  command.action(() => {});
  const early = await parseCommand(command, args);
  if (early !== null) return early;
  const options = command.opts();

  let config;
  const sources = { file: options.config, flags: configFlagsOf(options) };
  try {
    config = await loadConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) {
      printProblems(err);
      return 2;
    }
    throw err;
  }
  if (options.printConfig) {
    console.log(JSON.stringify(describeConfig(config), null, 2));
    return 0;
  }

  return await serveUntilStopped(config, sources);
}

/**
 * Starts the server and serves until SIGINT/SIGTERM (see {@link createSignalHandler}), reloading
 * the configuration on SIGHUP; resolves with the exit code.
 */
async function serveUntilStopped(config: Config, sources: ConfigSources): Promise<number> {
  // Signals are heard from before the server starts: a stop asked for while it starts (its
  // `server_started` line is already out) waits for the start, then drains.
  const started = Promise.withResolvers<Awaited<ReturnType<typeof startServer>>>();
  const forced = Promise.withResolvers<number>();
  const stopped = Promise.withResolvers<number>();
  const onSignal = createSignalHandler({
    stop: () =>
      started.promise.then((server) => server.shutdown()).then(
        () => stopped.resolve(0),
        stopped.reject,
      ),
    force: () => {
      printError("second signal: exiting without waiting for the shutdown to finish");
      forced.resolve(130);
    },
  });
  // SIGHUP reloads from the same sources; the server logs the outcome (config_reloaded, or
  // config_reload_refused with every problem) and keeps serving either way.
  const onHangUp = () => {
    started.promise.then((server) => server.reloadFrom(undefined, "sighup")).catch(() => {});
  };
  const listen = (on: boolean) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      if (on) Deno.addSignalListener(signal, onSignal);
      else Deno.removeSignalListener(signal, onSignal);
    }
    if (on) Deno.addSignalListener("SIGHUP", onHangUp);
    else Deno.removeSignalListener("SIGHUP", onHangUp);
  };
  listen(true);
  let server;
  try {
    server = await startServer(config, { sources });
  } catch (err) {
    listen(false);
    printError(`cannot start: ${(err as Error).message}`);
    return 1;
  }
  started.resolve(server);
  const code = await Promise.race([
    stopped.promise,
    server.finished.then(() => server.shutdown()).then(() => 0),
    forced.promise,
  ]);
  listen(false);
  return code;
}
