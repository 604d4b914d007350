/**
 * Shared commander setup for the subcommands: output captured into strings so each `run()`
 * returns an exit code instead of letting commander exit the process.
 * @module
 */

import { Command, CommanderError } from "commander";
import { CONFIG_KEYS } from "../lib/config.ts";

/** A commander command that throws instead of exiting and prints through our streams. */
export function createCommand(name: string): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
      writeErr: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    });
}

/**
 * Parses `args` with `command`; returns an exit code when commander already answered (help,
 * version, usage error), or `null` to carry on.
 */
export async function parseCommand(command: Command, args: string[]): Promise<number | null> {
  try {
    await command.parseAsync(args, { from: "user" });
    return null;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}

/** Prints one error line to stderr. */
export function printError(message: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`duckserve: ${message}\n`));
}

/** Adds `--config FILE` and one option per configuration key (`--port`, ...) to `command`. */
export function addConfigOptions(command: Command): Command {
  command.option("--config <file>", "configuration document (JSON, YAML or TOML, by extension)");
  for (const spec of CONFIG_KEYS) {
    const value = spec.kind === "bool" ? "[true|false]" : "<value>";
    command.option(`--${spec.flag} ${value}`, `${spec.description} (env ${spec.env})`);
  }
  return command;
}

/** The configuration flags among commander's parsed `options`, by key. */
export function configFlagsOf(
  options: Record<string, unknown>,
): Record<string, string | boolean | undefined> {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const spec of CONFIG_KEYS) {
    const name = spec.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    flags[spec.key] = options[name] as string | boolean | undefined;
  }
  return flags;
}
