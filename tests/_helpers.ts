/**
 * Test helpers: the one way tests start duckserve. {@link startTestServer} runs a real server in
 * the test's process on an ephemeral loopback port with an in-memory database and in-memory
 * streams (every suite uses it, the streams protocol suites too); {@link spawnServer} runs
 * `main.ts serve` as a child process (crash and packaging tests). Fetch wrappers always consume
 * the body. Servers run with `auth_enabled: false` unless asked; an auth-enabled server always
 * gets an auth store in a temporary directory (see {@link startAuthServer} for one with keys of
 * every role ready).
 * @module
 */

import { ok } from "node:assert/strict";
import { type Config, type ConfigSources, loadConfig } from "../lib/config.ts";
import { type RunningServer, type StartOptions, startServer } from "../lib/server.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import type { StreamsService } from "../lib/streams/mod.ts";
import {
  addKey,
  type AddKeyOptions,
  addRole,
  initAuthFile,
  setPermission,
} from "../lib/auth/store.ts";
import { parseOperations } from "../lib/permissions.ts";

/** A configuration for tests: loopback, port 0, silent logs, no access log, no environment. */
export async function testConfig(flags: Record<string, string> = {}): Promise<Config> {
  return await loadConfig(testSources(flags));
}

/**
 * The configuration sources of {@link testConfig}: the test defaults and `flags` as flags, no
 * environment (a reload document can change every other key).
 */
export function testSources(flags: Record<string, string> = {}): ConfigSources {
  return {
    env: {},
    flags: {
      host: "127.0.0.1",
      port: "0",
      log_level: "silent",
      auth_enabled: "false",
      streams_storage: "memory",
      database_path: ":memory:",
      access_log: "off",
      ...flags,
    },
  };
}

/** A running test server plus helpers bound to its base URL. */
export interface TestServer extends AsyncDisposable {
  server: RunningServer;
  config: Config;
  /** Base URL including the route prefix. */
  url: string;
  /** Captured log lines (JSON text). */
  logs: string[];
  /** The captured log events named `event` (all of them without a name), parsed. */
  // deno-lint-ignore no-explicit-any
  events(event?: string): Record<string, any>[];
  /** The streams service (system appends, reads, direct `handle` calls); null when off. */
  streams: StreamsService | null;
  /** Absolute URL of a stream path (`{origin}{streams_prefix}/{path}`). */
  at(path: string): string;
  /** Captured one-time announcements (the admin key printed when an auth store is created). */
  announcements: string[];
  /** POSTs `{sql, params}` to /query and returns status, headers and parsed body. */
  query(sql: string, params?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Fetches a path under the prefix, consuming the body as text (and JSON when possible). */
  request(path: string, init?: RequestInit): Promise<Reply>;
  /** Fetches a stream path (relative to `streams_prefix`, at the server root), consumed. */
  stream(path: string, init?: RequestInit): Promise<Reply>;
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

/** `fetch()` of an absolute URL, consumed. */
export async function call(url: string, init?: RequestInit): Promise<Reply> {
  return consume(await fetch(url, init));
}

/**
 * Starts a server with `flags` (config keys) on top of {@link testConfig}; `options` go to
 * `startServer` (e.g. an `auth` stage, or `streams` settings that have no config key). With
 * `auth_enabled: "true"` and no `auth_database_path`, the auth store is created in a temporary
 * directory (removed on dispose), never under the working directory.
 */
export async function startTestServer(
  flags: Record<string, string> = {},
  options: Omit<StartOptions, "log"> = {},
): Promise<TestServer> {
  let scratch: string | null = null;
  if (flags.auth_enabled === "true" && !flags.auth_database_path && !options.auth) {
    scratch = await Deno.makeTempDir({ prefix: "duckserve-auth-test-" });
    flags = { ...flags, auth_database_path: `${scratch}/auth.duckdb` };
  }
  const config = await testConfig(flags);
  const logs: string[] = [];
  const announcements: string[] = [];
  const log: Logger = createLogger("debug", (line) => logs.push(line));
  const server = await startServer(config, {
    announce: (text) => announcements.push(text),
    sources: testSources(flags),
    ...options,
    log,
  });
  const at = (path: string) => `${new URL(server.url).origin}${config.streams_prefix}/${path}`;
  const request = (path: string, init?: RequestInit) => call(`${server.url}${path}`, init);
  return {
    server,
    config,
    url: server.url,
    logs,
    events: (event) =>
      logs.map((line) => JSON.parse(line)).filter((e) => event === undefined || e.event === event),
    announcements,
    streams: server.streams,
    at,
    request,
    stream: (path, init) => call(at(path), init),
    query: (sql, params, headers = {}) =>
      request("/query", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(params === undefined ? { sql } : { sql, params }),
      }),
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
      if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
    },
  };
}

/** Grants of a custom role: `[table, operations]` pairs such as `["reports", "rq"]`. */
export type TestGrants = [table: string, operations: string][];

/** Options of {@link startAuthServer}. */
export interface AuthServerOptions {
  /** Custom roles to create with their grants; each also gets a key. */
  roles?: Record<string, TestGrants>;
  /** More config keys. */
  flags?: Record<string, string>;
}

/** An auth-enabled test server with a key for every role. */
export interface AuthTestServer extends TestServer {
  /** The auth store file (in a temporary directory). */
  authPath: string;
  /** A working key per role: admin, editor, reader and the custom roles. */
  keys: Record<string, string>;
  /** Adds a key to the store while the server runs (the server notices within a second). */
  mintKey(options: AddKeyOptions): Promise<string>;
  /** Headers that present `key`. */
  as(key: string): Record<string, string>;
  /** Waits (up to `ms`) until `check` resolves true; false when it never did. */
  eventually(check: () => Promise<boolean>, ms?: number): Promise<boolean>;
}

/**
 * Starts a server with `auth_enabled: true` on a fresh auth store (default roles, plus the
 * custom `roles`) in a temporary directory, with one key minted per role.
 */
export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthTestServer> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-auth-test-" });
  const authPath = `${dir}/auth.duckdb`;
  try {
    await initAuthFile(authPath);
    for (const [role, grants] of Object.entries(options.roles ?? {})) {
      await addRole(authPath, role, `test role ${role}`);
      for (const [table, ops] of grants) {
        await setPermission(authPath, role, table, parseOperations(ops));
      }
    }
    const keys: Record<string, string> = {};
    for (const role of ["admin", "editor", "reader", ...Object.keys(options.roles ?? {})]) {
      keys[role] = (await addKey(authPath, { role })).key;
    }
    const t = await startTestServer({
      auth_enabled: "true",
      auth_database_path: authPath,
      ...options.flags,
    });
    return {
      ...t,
      authPath,
      keys,
      mintKey: async (o) => (await addKey(authPath, o)).key,
      as: (key) => ({ "x-api-key": key }),
      eventually,
      [Symbol.asyncDispose]: async () => {
        await t.server.shutdown();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Polls `check` every 50 ms for up to `ms`; true as soon as it returns true. */
export async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const until = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Milliseconds until `check` holds (fails the test beyond 4 s). */
export async function timed(check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  ok(await eventually(check, 4000), "the change never took effect");
  return performance.now() - started;
}

/** `encodeURIComponent` for the GET query path. */
export function sqlPath(sql: string, format = "json"): string {
  return `/query/${encodeURIComponent(sql)}/result.${format}`;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The `serve` flags of a spawned test server: loopback, a free port. */
export const LOOPBACK_FLAGS: readonly string[] = ["--host", "127.0.0.1", "--port", "0"];

/** A duckserve child process started by {@link spawnMain}. */
export interface Spawned {
  /** Base URL, once `server_started` was logged (null when the process exited first). */
  url: string | null;
  /** The parsed JSON log lines so far. */
  // deno-lint-ignore no-explicit-any
  events: Record<string, any>[];
  /** Everything printed on stderr so far. */
  stderr(): string;
  child: Deno.ChildProcess;
  /** Waits for the exit; returns the exit code. */
  exit(): Promise<number>;
}

/**
 * Runs `deno run <runFlags> main.ts <args>` as a child process (with `env` on top of the
 * inherited environment, in `cwd`), reads its log from stderr and resolves once it logged
 * `server_started` or exited.
 */
export async function spawnMain(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
  runFlags: string[] = ["-A"],
): Promise<Spawned> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...runFlags, MAIN, ...args],
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  // deno-lint-ignore no-explicit-any
  const events: Record<string, any>[] = [];
  let text = "";
  const started = Promise.withResolvers<string | null>();
  const reading = (async () => {
    let buffered = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const event = JSON.parse(line);
          events.push(event);
          if (event.event === "server_started") started.resolve(String(event.url));
        } catch {
          // not a log line (e.g. a one-line start-up error)
        }
      }
    }
    started.resolve(null);
  })();
  const url = await started.promise;
  return {
    url,
    events,
    stderr: () => text,
    child,
    async exit() {
      const { code } = await child.status;
      await reading;
      return code;
    },
  };
}

/** What a `deno` child process printed and how it exited. */
export interface DenoRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno <args>` from the repository root, like a user would. Deno's own note that parallel
 * runs wait for each other's node_modules lock is left out of `stderr`.
 */
export async function runDeno(args: string[], env: Record<string, string> = {}): Promise<DenoRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: new URL("..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr).replace(/^Blocking waiting for file lock.*\n/gm, ""),
  };
}
