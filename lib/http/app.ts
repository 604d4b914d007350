/**
 * The HTTP pipeline: the middleware every request passes (request id, request log, the drain
 * guard, then the key check under the route prefix), the one error renderer, and the features
 * mounted in order. A feature is one module exporting its routes as a sub-app
 * (`lib/http/feature.ts`) and one `mount` line here; public features come before the key check,
 * keyed ones after it.
 * @module
 */

import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import type { Auth } from "../auth/mod.ts";
import type { Logger } from "../log.ts";
import { createLifecycle } from "../lifecycle.ts";
import type { DocumentPart } from "../openapi/mod.ts";
import { createAnswerCache } from "../query/mod.ts";
import { streamsDocumentPart } from "../streams/openapi_part.ts";
import { type AppContext, type AppEnv, assignRequestId, remoteAddressOf } from "./context.ts";
import { docsRoutes } from "./docs.ts";
import { mount, publicPaths, type RegisteredRoute } from "./feature.ts";
import { probeRoutes, refuseWhileDraining } from "./probes.ts";
import { renderErrors, unknownRoute } from "./problems.ts";
import { rawSqlRoutes } from "./raw_sql.ts";
import { privateAnswers } from "./revalidate.ts";
import { schemaRoutes } from "./schema.ts";
import { streamRoutes } from "./streams.ts";
import { tableRoutes } from "./tables.ts";

/** Builds the Hono application for `ctx`. */
export function createApp(ctx: AppContext): Hono<AppEnv> {
  const { config, log } = ctx;
  const lifecycle = ctx.lifecycle ?? createLifecycle("ready");
  const prefix = config.route_prefix;
  const cache = createAnswerCache({
    maxBytes: config.read_cache_size,
    maxEntryBytes: config.read_cache_max_entry,
  });
  const app = new Hono<AppEnv>();
  const routes = () => app.routes;

  app.use(assignRequestId());
  app.use(logRequests(log));
  app.use(refuseWhileDraining(lifecycle, prefix));
  app.onError(renderErrors(log, prefix));
  app.notFound(unknownRoute);

  // Public features (their rows say so).
  mount(app, prefix, probeRoutes(ctx, lifecycle));
  mount(app, prefix, docsRoutes(ctx, routes, documentParts()));
  // Durable Streams check keys themselves (streams_auth), at the server root.
  if (ctx.streams) mount(app, ctx.streams.prefix, streamRoutes(ctx, ctx.streams));

  // Everything else under the prefix needs a key.
  app.use(`${prefix}/*`, authenticate(ctx.auth, routes, ctx.config.auth_enabled));
  mount(app, prefix, schemaRoutes(ctx));
  mount(app, prefix, rawSqlRoutes(ctx, cache));
  mount(app, prefix, tableRoutes(ctx, cache));
  return app;
}

/**
 * What the features add to the OpenAPI document besides their rows, in document order (passed
 * whether the feature is mounted or not: the document has always described these components).
 */
export function documentParts(): DocumentPart[] {
  return [streamsDocumentPart()];
}

/**
 * Sets `X-Request-ID` on every answer and logs `request_done`. A HEAD answer's body is cancelled:
 * Hono answers HEAD with the GET handler's response minus its body without cancelling that body,
 * and a streamed result would keep its pooled connection forever.
 */
function logRequests(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    if (c.req.method === "HEAD" && c.res.body) {
      await c.res.body.cancel().catch(() => {});
      c.res = new Response(null, c.res);
    }
    const requestId = c.get("requestId");
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
 * Authenticates every request under the prefix but those the public rows name; with auth on,
 * their answers are private (`Cache-Control: private, no-cache`, see `revalidate.ts`).
 */
function authenticate(
  auth: Auth,
  routes: () => readonly RegisteredRoute[],
  authEnabled: boolean,
): MiddlewareHandler<AppEnv> {
  let isPublic: ((path: string) => boolean) | null = null;
  const markPrivate = privateAnswers(authEnabled);
  return async (c, next) => {
    isPublic ??= publicPaths(routes());
    if (isPublic(c.req.path)) return await next();
    c.set("principal", auth.authenticate(c.req.raw, remoteAddressOf(c), c.get("requestId")));
    await markPrivate(c, next);
  };
}
