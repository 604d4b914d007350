/**
 * What every HTTP feature shares: the app's context (built once at start-up), the per-request
 * variables (request id, principal, extra headers of error answers), the request-id rule, and
 * where a request came from.
 *
 * @example
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { requestIdOf } from "./context.ts";
 * equal(requestIdOf("trace.1:a=b+c/d"), "trace.1:a=b+c/d");
 * notEqual(requestIdOf("no spaces"), "no spaces");
 * ```
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { requestId } from "hono/request-id";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import type { Engine } from "../db/engine.ts";
import type { StreamsRuntime } from "../streams/mod.ts";
import type { Lifecycle } from "../lifecycle.ts";
import type { Ops, RequestRecord } from "../ops/mod.ts";
import type { QueryKind } from "../events.ts";
import type { OutputOptions } from "./output.ts";
import type { ResponseOptions } from "./respond.ts";

/** Everything the handlers need, built once at start-up. */
export interface AppContext {
  config: Config;
  engine: Engine;
  auth: Auth;
  log: Logger;
  /** Durable Streams and table change feeds (null when `streams` is off). */
  streams?: StreamsRuntime | null;
  /** The server's lifecycle (probes, draining); default: always ready. */
  lifecycle?: Lifecycle;
  /** Telemetry, rate limits and the query gate, kept across reloads; default: the app's own. */
  ops?: Ops;
  /**
   * Applies a whole configuration document (`POST {prefix}/admin/config`); throws
   * `invalid_config` or `restart_required`. Absent: the endpoint answers 404.
   */
  reload?: (document: Record<string, unknown>) => Promise<ReloadOutcome>;
}

/** What a configuration reload changed. */
export interface ReloadOutcome {
  /** The keys whose values changed, in table order. */
  changed: string[];
  /** The effective configuration now (as `GET {prefix}/admin/config` shows it). */
  config: Record<string, unknown>;
}

/** Per-request values shared by middleware and handlers. */
export type AppEnv = {
  Bindings: { remoteAddr?: { hostname?: string } };
  Variables: {
    requestId: string;
    principal: Principal;
    /** Headers a feature adds to its error answers (the streams protocol's CORS headers). */
    problemHeaders?: () => Iterable<[string, string]>;
    /** The tenant database the `Host` selected: the request's default catalog (`tenants.ts`). */
    database?: string;
    /** What the request tracker learns about the request (`lib/ops/tracker.ts`). */
    record?: RequestRecord;
  };
};

const REQUEST_ID = /^[A-Za-z0-9._:=+\/-]{1,128}$/;

/** Takes a well-formed `X-Request-ID` from the client, else makes a UUID v4. */
export function requestIdOf(header: string | null | undefined): string {
  return header && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

/**
 * Hono's request-id middleware under duckserve's rule ({@link requestIdOf}): it sets
 * `c.var.requestId`; the response header is set once the answer exists (`app.ts`), so error
 * answers and answers built as plain `Response`s carry it too.
 */
export function assignRequestId(): MiddlewareHandler<AppEnv> {
  return requestId({
    headerName: "",
    generator: (c) => requestIdOf(c.req.header("x-request-id")),
  });
}

/**
 * The connection's peer address as the listener reports it (`unknown` when there is none, e.g.
 * a request answered in-process): the one place that knows how the adapter passes it.
 */
export function peerAddressOf(c: Context<AppEnv>): string {
  if (!c.env?.remoteAddr) return "unknown";
  return getConnInfo(c).remote.address ?? "unknown";
}

/**
 * The client's address: the peer, or behind `trusted_proxies` the address `client_ip_header`
 * names (resolved once per request by the tracking middleware).
 */
export function remoteAddressOf(c: Context<AppEnv>): string {
  return c.get("record")?.clientIp ?? peerAddressOf(c);
}

/**
 * Marks the request as running a query of `kind` from now on (`query_done` events, the query
 * histogram); `sql` is the raw SQL text (shown as `log_sql` says), `inPath` when it is the path
 * of a `GET /query/{sql}/result.{format}` URI.
 */
export function noteQuery(
  c: Context<AppEnv>,
  kind: QueryKind,
  sql: string | null = null,
  inPath = false,
): void {
  const record = c.get("record");
  if (record) record.query = { kind, sql, inPath, started: performance.now() };
}

/** The response options every row answer shares: the output options, the request's id and log. */
export function rowsOptions(
  ctx: AppContext,
  c: Context<AppEnv>,
  output: OutputOptions,
): ResponseOptions {
  return { ...output, requestId: c.get("requestId"), log: ctx.log, record: c.get("record") };
}
