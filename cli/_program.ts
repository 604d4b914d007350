/**
 * Shared commander setup for the subcommands: output captured into strings so each `run()`
 * returns an exit code instead of letting commander exit the process.
 * @module
 */

import { Command, CommanderError } from "commander";

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
