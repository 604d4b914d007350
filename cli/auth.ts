/**
 * `duckserve auth`: manage API keys, roles and permissions.
 * @module
 */

import { printError } from "./_program.ts";

/** Runs `auth` with `args`; returns the exit code. */
export function run(_args: string[]): Promise<number> {
  printError("auth: not implemented yet");
  return Promise.resolve(1);
}
