/**
 * The listeners of a configuration: `port` (plain HTTP, or HTTPS with HTTP/2 when a certificate
 * comes from `tls_cert`/`tls_key` or from ACME), the `http_port` redirect listener, and the
 * certificate source that keeps the HTTPS listener's certificate current. `lib/server.ts` opens
 * them before the database and swaps the handler from the starting app to the ready app.
 * @module
 */

import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { AnswerObserver, FetchHandler } from "./adapter.ts";
import { openAcme } from "./acme.ts";
import { type Listener, type ListenerOptions, openListener, type TlsPair } from "./listener.ts";
import { type ChallengeTable, createRedirectHandler } from "./redirect.ts";
import { type CertificateSource, readTlsPair, watchTlsPair } from "./tls_files.ts";

/** The listeners of a running server. */
export interface Listeners {
  /** The `port` listener (a new one after {@link Listeners.rebind}). */
  readonly main: Listener;
  /** The `http_port` redirect listener, or null. */
  readonly redirect: Listener | null;
  /** `http://host:port` or `https://host:port` of the main listener (loopback for `0.0.0.0`). */
  readonly origin: string;
  /**
   * Moves to the listener keys of `next` (host, port, timeouts, connection cap, TLS files or
   * ACME, http_port, HSTS) without dropping a request: the certificate is loaded first (a bad
   * one throws and nothing changes), the new listeners open with the current handler, then the old
   * ones stop accepting and drain (their in-flight requests finish). A listener that needs its
   * predecessor's address gets it after the predecessor stops accepting. Resolves once the new
   * listeners serve, with `drained` for the old ones.
   */
  rebind(next: Config): Promise<{ drained: Promise<void> }>;
  /** The handler of the main listener from now on. */
  setHandler(handler: FetchHandler): void;
  /** Stops accepting on every listener; resolves once their in-flight requests finished. */
  shutdown(): Promise<void>;
  /** Closes every connection at once. */
  closeAll(): void;
}

/** Options of {@link openListeners}. */
export interface OpenListenersOptions {
  log: Logger;
  /** The first handler of the main listener (the starting app). */
  handler: FetchHandler;
  /** Told about every request the listeners answered (access log, metrics). */
  onAnswered?: AnswerObserver;
}

/** The security headers every answer of a listener carries. */
export function responseHeadersOf(config: Config, secure: boolean): Record<string, string> {
  const headers: Record<string, string> = { "x-content-type-options": "nosniff" };
  if (secure && config.hsts_max_age > 0) {
    headers["strict-transport-security"] = `max-age=${Math.floor(config.hsts_max_age / 1000)}`;
  }
  return headers;
}

/** The listener options of `config` for `hostname:port` (TLS with `tls`). */
export function listenerOptionsOf(
  config: Config,
  log: Logger,
  handler: FetchHandler,
  tls: TlsPair | null,
): ListenerOptions {
  return {
    hostname: config.host,
    port: config.port,
    handler,
    tls,
    idleTimeout: config.idle_timeout,
    headerTimeout: config.header_timeout,
    maxConnections: config.max_connections,
    responseHeaders: responseHeadersOf(config, tls !== null),
    log,
  };
}

/**
 * Opens the listeners of `config`: the redirect listener first (ACME challenges need it), then
 * the certificate, then `port`. Throws (a `TlsError` naming the key) when TLS cannot start.
 */
export async function openListeners(
  config: Config,
  options: OpenListenersOptions,
): Promise<Listeners> {
  const { log, onAnswered } = options;
  let current = await openSet(config, { log, onAnswered }, options.handler, null);
  return {
    get main() {
      return current.main;
    },
    get redirect() {
      return current.redirect;
    },
    get origin() {
      return originOf(current.main);
    },
    setHandler(handler) {
      current.main.handler = handler;
    },
    async rebind(next) {
      const old = current;
      current = await openSet(next, { log, onAnswered }, old.main.handler, old);
      old.source?.stop();
      const drained = Promise.all([old.main.shutdown(), old.redirect?.shutdown()]).then(() => {});
      log.info("listeners_rebound", { url: originOf(current.main) });
      return { drained };
    },
    async shutdown() {
      current.source?.stop();
      await Promise.all([current.main.shutdown(), current.redirect?.shutdown()]);
    },
    closeAll() {
      current.main.closeAll();
      current.redirect?.closeAll();
    },
  };
}

/** One generation of listeners and the certificate source that feeds the main one. */
interface ListenerSet {
  main: Listener;
  redirect: Listener | null;
  source: CertificateSource | null;
}

/**
 * Opens the listeners of `config`: the redirect listener first (ACME challenges need it), then
 * the certificate, then `port`. With `previous`, a listener whose address is taken by its
 * predecessor opens once the predecessor has stopped accepting. Throws (a `TlsError` naming the
 * key) when TLS cannot start, after closing what it opened.
 */
async function openSet(
  config: Config,
  { log, onAnswered }: { log: Logger; onAnswered?: AnswerObserver },
  handler: FetchHandler,
  previous: ListenerSet | null,
): Promise<ListenerSet> {
  const challenges: ChallengeTable = new Map();
  let httpsPort = config.port;
  let redirect: Listener | null = null;
  let source: CertificateSource | null = null;
  try {
    // Certificate files are checked before anything binds; ACME needs the redirect port first.
    if (!config.tls_auto) source = await openCertificateSource(config, log, challenges);
    if (config.http_port) {
      const redirectHandler = createRedirectHandler(challenges, () => httpsPort);
      redirect = await replacing(previous?.redirect ?? null, () =>
        openListener({
          ...listenerOptionsOf(config, log, redirectHandler, null),
          port: config.http_port,
          onAnswered,
        }));
    }
    if (config.tls_auto) source = await openCertificateSource(config, log, challenges);
    const pair = source?.pair ?? null;
    const main = await replacing(
      previous?.main ?? null,
      () => openListener({ ...listenerOptionsOf(config, log, handler, pair), onAnswered }),
    );
    httpsPort = main.port;
    source?.watch((next) => main.setCertificate(next));
    return { main, redirect, source };
  } catch (err) {
    source?.stop();
    await redirect?.shutdown();
    throw err;
  }
}

/** Opens a listener; when `old` holds its address, `old` stops accepting first. */
async function replacing(old: Listener | null, open: () => Promise<Listener>): Promise<Listener> {
  try {
    return await open();
  } catch (err) {
    if (!old || (err as { code?: string }).code !== "EADDRINUSE") throw err;
    await old.stopAccepting();
    return await open();
  }
}

/** The certificate source of `config`: the files, ACME, or none (plain HTTP). */
async function openCertificateSource(
  config: Config,
  log: Logger,
  challenges: ChallengeTable,
): Promise<CertificateSource | null> {
  if (config.tls_auto) return await openAcme(config, log, challenges);
  if (!config.tls_cert || !config.tls_key) return null;
  const files = { cert: config.tls_cert, key: config.tls_key };
  const { pair, info } = await readTlsPair(files);
  if (info.expired) {
    log.warn("tls_certificate_expired", {
      subject: info.subject,
      not_after: info.notAfter.toISOString(),
    });
  }
  let watch: { stop(): void } | null = null;
  return {
    pair,
    watch(apply) {
      watch = watchTlsPair(files, log, (next) => apply(next));
    },
    stop() {
      watch?.stop();
    },
  };
}

/** The origin clients on this machine reach a listener at. */
export function originOf(listener: Listener): string {
  const host = listener.hostname === "0.0.0.0" || listener.hostname === "::"
    ? "127.0.0.1"
    : listener.hostname;
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return `${listener.secure ? "https" : "http"}://${bracketed}:${listener.port}`;
}
