/**
 * Structured events. Modules report what happened (`request_done`, `query_done`, `auth_failed`);
 * this module alone decides how it is printed: one JSON object per line on stderr, filtered by
 * level. Events never carry secrets or bound values: callers pass only what may be logged.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger("info", (line) => lines.push(line));
 * log.info("request_done", { request_id: "abc", status: 200 });
 * log.debug("hidden", {});
 * equal(lines.length, 1);
 * equal(JSON.parse(lines[0]).event, "request_done");
 * ```
 * @module
 */

import type { LogLevel } from "./config.ts";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Fields of one event; values must be safe to log. */
export type EventFields = Record<string, unknown>;

/** Emits structured events at a level. */
export interface Logger {
  debug(event: string, fields?: EventFields): void;
  info(event: string, fields?: EventFields): void;
  warn(event: string, fields?: EventFields): void;
  error(event: string, fields?: EventFields): void;
  /** Changes the level from now on (a configuration reload); absent on fixed loggers. */
  setLevel?(level: LogLevel): void;
  /** Whether events at `level` are printed now (absent: assume they are). */
  enabled?(level: LogLevel): boolean;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing sensible left to do
  }
}

/** Creates a logger printing events at or above `level` as JSON lines. */
export function createLogger(level: LogLevel, write: (line: string) => void = writeStderr): Logger {
  let threshold = LEVELS[level];
  const emit = (at: LogLevel) => (event: string, fields: EventFields = {}) => {
    if (LEVELS[at] < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: at, event, ...fields }, safe));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    setLevel(next) {
      threshold = LEVELS[next];
    },
    enabled: (at) => LEVELS[at] >= threshold,
  };
}

function safe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** A logger that drops everything. */
export const SILENT: Logger = createLogger("silent");
