/**
 * Starts and stops duckserve: opens the sandboxed engine and the auth stage, builds the app and
 * serves it with `Deno.serve`. Used by `cli/serve.ts` and by tests (which listen on port 0).
 * @module
 */

import type { Config } from "./config.ts";
import { type Auth, createAuth } from "./auth/mod.ts";
import { openEngine } from "./db/engine.ts";
import { createApp } from "./http/app.ts";
import { createLogger, type Logger } from "./log.ts";
import { openStreamsRuntime } from "./streams/runtime.ts";

/** A running server. */
export interface RunningServer extends AsyncDisposable {
  /** Base URL including the route prefix, e.g. `http://127.0.0.1:8080/duckdb`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  log?: Logger;
  /** The auth stage to use instead of `createAuth(config)` (embedding, tests). */
  auth?: Auth;
}

/** Opens everything and starts listening. */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log_level);
  const streams = await openStreamsRuntime(config, log);
  const engine = await openEngine(config).catch(async (err) => {
    await streams?.close();
    throw err;
  });
  const auth = await (options.auth ? Promise.resolve(options.auth) : createAuth(config)).catch(
    async (err) => {
      await engine.close();
      await streams?.close();
      throw err;
    },
  );
  await streams?.attach(engine, auth);
  const app = createApp({ config, engine, auth, log, streams });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, (request, info) => app.fetch(request, info));
  const addr = await listening.promise;
  const host = addr.hostname === "0.0.0.0" ? "127.0.0.1" : addr.hostname;
  const url = `http://${
    host.includes(":") ? `[${host}]` : host
  }:${addr.port}${config.route_prefix}`;
  log.info("server_started", { url, duckdb_version: engine.duckdbVersion });

  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    stopping ??= (async () => {
      // Closing streams ends live readers (long-poll, SSE), which would hold the shutdown.
      await Promise.all([server.shutdown(), streams?.close()]);
      await auth.close();
      await engine.close();
      log.info("server_stopped", {});
    })();
  return {
    url,
    port: addr.port,
    shutdown,
    finished: server.finished,
    [Symbol.asyncDispose]: shutdown,
  };
}
