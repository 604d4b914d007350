/**
 * `duckserve validate` and `duckserve config`: the configuration without a server. `validate`
 * loads what `serve` would (the `--config` document, `DUCKDB_*` variables, flags) and lists every
 * problem (exit 1) or says it is valid (exit 0); `config` prints the effective configuration as
 * JSON (exit 1 with the problems when it is invalid).
 * @module
 */

import { ConfigError, describeConfig, loadConfig } from "../lib/config.ts";
import { addConfigOptions, configFlagsOf, createCommand, parseCommand } from "./_program.ts";

/** Help text of `validate`. */
export const VALIDATE_HELP = "Check a configuration document (with the DUCKDB_* environment " +
  "and flags on top, as serve would load it): every problem is listed, exit code 1.";

/** Help text of `config`. */
export const CONFIG_HELP = "Print the effective configuration (defaults, the --config " +
  "document, DUCKDB_* environment variables, flags) as JSON.";

/** Runs `validate` with `args`; resolves with the exit code. */
export async function runValidate(args: string[]): Promise<number> {
  const command = addConfigOptions(createCommand("validate").description(VALIDATE_HELP));
  command.action(() => {});
  const early = await parseCommand(command, args);
  if (early !== null) return early;
  const options = command.opts();
  try {
    await loadConfig({ file: options.config, flags: configFlagsOf(options) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printProblems(err);
    return 1;
  }
  print(`${options.config ?? "the configuration"} is valid`);
  return 0;
}

/** Runs `config` with `args`; resolves with the exit code. */
export async function runConfig(args: string[]): Promise<number> {
  const command = addConfigOptions(createCommand("config").description(CONFIG_HELP));
  command.action(() => {});
  const early = await parseCommand(command, args);
  if (early !== null) return early;
  const options = command.opts();
  try {
    const config = await loadConfig({ file: options.config, flags: configFlagsOf(options) });
    print(JSON.stringify(describeConfig(config), null, 2));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printProblems(err);
    return 1;
  }
}

/** Prints each problem of `err` on its own line of stderr. */
export function printProblems(err: ConfigError): void {
  const text = err.problems.map((line) => `duckserve: ${line}\n`).join("");
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

function print(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${text}\n`));
}
