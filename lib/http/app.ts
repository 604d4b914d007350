/**
 * The HTTP pipeline: request IDs, authentication, the route table and the one error renderer.
 * Route handlers read like the pipeline: parse, authorize, plan/execute, encode.
 * @module
 */

import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../config.ts";
import { ApiError, renderProblem } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import type { Engine } from "../db/engine.ts";
import { createGuard } from "../db/run.ts";
import { type FormatName, parseFormatName } from "../encode/mod.ts";
import {
  createAnswerCache,
  executeRaw,
  parseRawQuery,
  type RawOptions,
  type RawOutcome,
} from "../query/mod.ts";
import { registerApiRoutes } from "./api_routes.ts";
import { readJsonBody } from "./body.ts";
import { encodeOptionsOf, type OutputOptions, parseOutputOptions } from "./output.ts";
import { cacheSlotOf, respondAnswer, type ResponseOptions } from "./respond.ts";
import { mountStreams } from "./streams.ts";
import type { StreamsRuntime } from "../streams/mod.ts";
import { VERSION } from "../version.ts";
import { createLifecycle, type Lifecycle } from "../lifecycle.ts";
import { buildOpenApi } from "../openapi/mod.ts";
import { createDocs, DOC_ASSETS } from "./docs.ts";
import { documentRoutes, type Endpoint, fallback, isPublicPath } from "./endpoints.ts";
import { answerLivez, answerReadyz, notReady } from "./probes.ts";
import { allowed, findReadableTable, loadCatalog, readableTables } from "./schema.ts";

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
}

/** Per-request values shared by middleware and handlers. */
export type AppEnv = {
  Bindings: { remoteAddr?: { hostname?: string } };
  Variables: { requestId: string; principal: Principal };
};

const REQUEST_ID = /^[A-Za-z0-9._:=+\/-]{1,128}$/;

/** Takes a well-formed `X-Request-ID` from the client, else makes a UUID v4. */
export function requestIdOf(header: string | null | undefined): string {
  return header && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

/** Builds the Hono application for `ctx`. */
export function createApp(ctx: AppContext): Hono<AppEnv> {
  const { config, engine, auth, log } = ctx;
  const lifecycle = ctx.lifecycle ?? createLifecycle("ready");
  const prefix = config.route_prefix;
  const cache = createAnswerCache({
    maxBytes: config.read_cache_size,
    maxEntryBytes: config.read_cache_max_entry,
  });
  const app = new Hono<AppEnv>();
  const docs = createDocs({ prefix, authEnabled: config.auth_enabled });
  let documented: Endpoint[] | null = null; // the registered routes, joined once with their rows

  app.use("*", requestLifecycle(log));
  app.use("*", refuseWhileDraining(lifecycle, prefix));
  app.use("*", headWithoutBody());
  app.onError((err, c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    const apiError = err instanceof ApiError ? err : new ApiError("internal_error", undefined, {
      cause: err,
    });
    if (apiError.status >= 500) {
      log.error("request_failed", {
        request_id: requestId,
        code: apiError.code,
        error: err instanceof Error ? (err.cause instanceof Error ? err.cause : err) : String(err),
      });
    }
    return renderProblem(apiError, requestId, prefix);
  });
  app.notFound((c) => {
    throw new ApiError("route_not_found", `Unknown endpoint: ${c.req.method} ${c.req.path}`);
  });

  // Public endpoints.
  app.all(`${prefix}/health`, async (c) => {
    await engine.ping(AbortSignal.timeout(Math.max(config.query_timeout, 1000))).catch((err) => {
      throw new ApiError("unavailable", "The database does not answer.", { cause: err });
    });
    return c.json({ status: "ok", version: VERSION, duckdb_version: engine.duckdbVersion });
  });
  app.get(`${prefix}/livez`, (c) => answerLivez(c, lifecycle));
  app.get(`${prefix}/readyz`, (c) => answerReadyz(c, lifecycle, engine));
  app.get(`${prefix}/openapi.json`, async (c) => {
    const principal = optionalPrincipal(c, auth, config.auth_enabled);
    const catalog = await loadCatalog(
      engine.pool,
      createGuard(config.query_timeout, c.req.raw.signal),
    );
    documented ??= documentRoutes(app.routes, prefix, ctx.streams?.prefix ?? null).endpoints;
    return c.json(buildOpenApi(catalog, config, documented, {
      // Public: anonymous callers get the whole catalog; a key narrows it to what it may use.
      can: principal === null ? () => true : (op, table) => allowed(auth, principal, op, table),
      docAssets: Object.keys(DOC_ASSETS),
    }));
  });
  app.get(`${prefix}/docs`, () => docs.page());
  app.get(`${prefix}/docs/:asset`, (c) => docs.asset(c.req.param("asset"), c.req.raw));
  for (const path of ["/livez", "/readyz", "/openapi.json", "/docs", "/docs/:asset"]) {
    app.all(`${prefix}${path}`, methodNotAllowed("GET, HEAD"));
  }

  // Durable Streams (own auth per streams_auth; registered before the prefix's key check).
  mountStreams(app, ctx);

  // Everything else under the prefix needs a key.
  app.use(`${prefix}/*`, authenticate(auth, prefix));

  app.get(`${prefix}/tables`, async (c) => {
    const catalog = await loadCatalog(
      engine.pool,
      createGuard(config.query_timeout, c.req.raw.signal),
    );
    return c.json({ tables: readableTables(catalog, auth, c.get("principal")) });
  });
  app.get(`${prefix}/tables/:table`, async (c) => {
    const catalog = await loadCatalog(
      engine.pool,
      createGuard(config.query_timeout, c.req.raw.signal),
    );
    return c.json(findReadableTable(catalog, c.req.param("table"), auth, c.get("principal")));
  });
  app.all(`${prefix}/tables`, methodNotAllowed("GET, HEAD"));
  app.all(`${prefix}/tables/:table`, methodNotAllowed("GET, HEAD"));

  /** Raw SQL runs as the caller, authorized per statement, answered in the requested format. */
  const rawOptions = (c: Context<AppEnv>, readOnly: boolean, output: OutputOptions): RawOptions => {
    const principal = c.get("principal");
    return {
      readOnly,
      owner: principal,
      authorizeSql: (info) => auth.authorizeSql(principal, info),
      authorize: (info) => auth.authorizeStatement(principal, info),
      answer: {
        ...encodeOptionsOf(output, engine.scratchDirectory),
        cache: cacheSlotOf(cache, engine.pool, c.req.raw, output),
      },
    };
  };

  app.post(`${prefix}/query`, async (c) => {
    const query = parseRawQuery(await readJsonBody(c.req.raw, config.max_body_size));
    const output = parseOutputOptions(c.req.raw, config, { fileName: "result" });
    const guard = createGuard(config.query_timeout, c.req.raw.signal);
    const outcome = await executeRaw(engine.pool, guard, query, rawOptions(c, false, output));
    if (outcome.mayWrite) {
      await ctx.streams?.changes?.recordSql({
        sql: query.sql,
        rowsAffected: outcome.kind === "changes" ? outcome.rowsAffected : null,
        requestId: c.get("requestId"),
      });
    }
    return answerRaw(ctx, c, outcome, output);
  });

  app.get(`${prefix}/query/*`, async (c) => {
    const { sql, format } = parseQueryPath(new URL(c.req.url).pathname, prefix);
    const output = parseOutputOptions(c.req.raw, config, {
      suffix: format,
      fileName: "result",
      alwaysDisposition: true,
    });
    const guard = createGuard(config.query_timeout, c.req.raw.signal);
    const outcome = await executeRaw(engine.pool, guard, { sql }, rawOptions(c, true, output));
    return answerRaw(ctx, c, outcome, output);
  });

  registerApiRoutes(app, ctx, cache);

  app.all(
    `${prefix}/query`,
    fallback(() => {
      throw new ApiError(
        "method_not_allowed",
        "Use POST to execute queries (or GET on /query/{sql}/result.{format}).",
        {
          headers: { allow: "POST" },
        },
      );
    }),
  );
  app.all(
    `${prefix}/query/*`,
    fallback(() => {
      throw new ApiError("method_not_allowed", "GET query URLs only accept GET.", {
        headers: { allow: "GET, HEAD" },
      });
    }),
  );

  return app;
}

/** Splits `{prefix}/query/{urlEncodedSQL}/result.{format}`; the SQL is percent-decoded once. */
function parseQueryPath(
  pathname: string,
  prefix: string,
): { sql: string; format: FormatName } {
  const rest = pathname.slice(`${prefix}/query/`.length);
  const cut = rest.lastIndexOf("/result.");
  if (cut < 0) {
    throw new ApiError(
      "invalid_request",
      `Invalid GET query path: expected ${prefix}/query/{urlEncodedSQL}/result.{format}.`,
    );
  }
  const format = parseFormatName(rest.slice(cut + "/result.".length));
  let sql: string;
  try {
    sql = decodeURIComponent(rest.slice(0, cut));
  } catch {
    throw new ApiError(
      "invalid_request",
      "Invalid GET query path: the SQL is not valid percent-encoding.",
    );
  }
  if (sql.trim() === "") {
    throw new ApiError("sql_required", "Invalid GET query path: the SQL is empty.");
  }
  return { sql, format };
}

function answerRaw(
  ctx: AppContext,
  c: Context<AppEnv>,
  outcome: RawOutcome,
  output: OutputOptions,
): Response | Promise<Response> {
  if (outcome.kind === "changes") {
    return c.json({
      success: true,
      rows_affected: outcome.rowsAffected,
      execution_time_ms: outcome.elapsedMs,
    });
  }
  return respondAnswer(outcome.answer, rowsOptions(ctx, c, output));
}

/** The response options every row answer shares: the output options, the request's id and log. */
export function rowsOptions(
  ctx: AppContext,
  c: Context<AppEnv>,
  output: OutputOptions,
): ResponseOptions {
  return { ...output, requestId: c.get("requestId"), log: ctx.log };
}

function requestLifecycle(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdOf(c.req.header("x-request-id"));
    c.set("requestId", requestId);
    await next();
    c.res.headers.set("x-request-id", requestId);
    log.info("request_done", {
      request_id: requestId,
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      key_id: c.get("principal")?.keyId,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}

/**
 * Hono answers HEAD with the GET handler's response minus its body, without cancelling that body:
 * a streamed result would keep its pooled connection forever. Cancel it here.
 */
function headWithoutBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.req.method === "HEAD" && c.res.body) {
      await c.res.body.cancel().catch(() => {});
      c.res = new Response(null, c.res);
    }
  };
}

/** A 405 for a path whose endpoint only takes the `allow` methods (kept out of the docs). */
function methodNotAllowed(allow: string): () => never {
  return fallback(() => {
    throw new ApiError("method_not_allowed", `This endpoint only accepts ${allow}.`, {
      headers: { allow },
    });
  });
}

/** 503 `unavailable` for everything but the probes once the server drains. */
function refuseWhileDraining(lifecycle: Lifecycle, prefix: string): MiddlewareHandler<AppEnv> {
  const probes = new Set([`${prefix}/health`, `${prefix}/livez`, `${prefix}/readyz`]);
  return async (c, next) => {
    if (lifecycle.phase !== "ready" && !probes.has(c.req.path)) throw notReady(lifecycle);
    await next();
  };
}

/**
 * The caller of a public endpoint that serves more to a key (openapi.json): authenticated when
 * it sent credentials (a bad key is still 401) or when auth is off; `null` when anonymous.
 */
function optionalPrincipal(
  c: Context<AppEnv>,
  auth: Auth,
  authEnabled: boolean,
): Principal | null {
  const request = c.req.raw;
  const credentials = request.headers.has("x-api-key") ||
    /^bearer\s/i.test(request.headers.get("authorization") ?? "");
  if (authEnabled && !credentials) return null;
  const principal = auth.authenticate(
    request,
    c.env?.remoteAddr?.hostname ?? "unknown",
    c.get("requestId"),
  );
  c.set("principal", principal);
  return principal;
}

function authenticate(auth: Auth, prefix: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (isPublicPath(c.req.path, prefix)) return await next();
    const address = c.env?.remoteAddr?.hostname ?? "unknown";
    c.set("principal", auth.authenticate(c.req.raw, address, c.get("requestId")));
    await next();
  };
}
