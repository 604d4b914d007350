/**
 * Test helpers: a real duckserve server on an ephemeral loopback port with an in-memory database,
 * and small fetch wrappers that always consume the body.
 * @module
 */

import { type Config, loadConfig } from "../lib/config.ts";
import { type RunningServer, type StartOptions, startServer } from "../lib/server.ts";
import { createLogger, type Logger } from "../lib/log.ts";

/** A configuration for tests: loopback, port 0, silent logs, no environment. */
export async function testConfig(flags: Record<string, string> = {}): Promise<Config> {
  return await loadConfig({
    env: {},
    flags: {
      host: "127.0.0.1",
      port: "0",
      log_level: "silent",
      auth_enabled: "false",
      ...flags,
    },
  });
}

/** A running test server plus helpers bound to its base URL. */
export interface TestServer extends AsyncDisposable {
  server: RunningServer;
  config: Config;
  url: string;
  /** Captured log lines (JSON text). */
  logs: string[];
  /** POSTs `{sql, params}` to /query and returns status, headers and parsed body. */
  query(sql: string, params?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Fetches a path under the prefix, consuming the body as text (and JSON when possible). */
  request(path: string, init?: RequestInit): Promise<Reply>;
}

/** A consumed response. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Reads a response completely. */
export async function consume(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/**
 * Starts a server with `flags` (config keys) on top of {@link testConfig}; `options` go to
 * `startServer` (e.g. an `auth` stage).
 */
export async function startTestServer(
  flags: Record<string, string> = {},
  options: Omit<StartOptions, "log"> = {},
): Promise<TestServer> {
  const config = await testConfig(flags);
  const logs: string[] = [];
  const log: Logger = createLogger("debug", (line) => logs.push(line));
  const server = await startServer(config, { ...options, log });
  const request = async (path: string, init?: RequestInit) =>
    consume(await fetch(`${server.url}${path}`, init));
  return {
    server,
    config,
    url: server.url,
    logs,
    request,
    query: (sql, params, headers = {}) =>
      request("/query", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(params === undefined ? { sql } : { sql, params }),
      }),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** `encodeURIComponent` for the GET query path. */
export function sqlPath(sql: string, format = "json"): string {
  return `/query/${encodeURIComponent(sql)}/result.${format}`;
}
