/**
 * duckserve entry point: dispatches argv to the `serve` (default) and `auth` subcommands.
 * This is the only module that calls `Deno.exit`.
 * @module
 */
console.error("duckserve: not implemented yet");
Deno.exit(1);
