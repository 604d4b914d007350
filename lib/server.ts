/**
 * Starts and stops duckserve: opens the sandboxed engine and the auth stage, builds the app and
 * serves it with `Deno.serve`. Used by `cli/serve.ts` and by tests (which listen on port 0).
 * @module
 */

import type { Config } from "./config.ts";
import { createAuth } from "./auth/mod.ts";
import { openEngine } from "./db/engine.ts";
import { createApp } from "./http/app.ts";
import { createLogger, type Logger } from "./log.ts";

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
  /** Receives the one-time admin key announcement of a newly created auth store (default: stderr). */
  announce?: (text: string) => void;
}

/** Opens everything and starts listening. */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log_level);
  const engine = await openEngine(config);
  const auth = await createAuth(config, { log, announce: options.announce }).catch(async (err) => {
    await engine.close();
    throw err;
  });
  const app = createApp({ config, engine, auth, log });
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
      await server.shutdown();
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
