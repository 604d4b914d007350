/**
 * The HTTP pipeline: the middleware every request passes (request id, the request's record for
 * the access log and metrics, the drain guard, the anonymous rate limit, then under the route
 * prefix the key check, the key's rate limit and the query gate), the one error renderer, and
 * the features mounted in order. A feature is one module exporting its routes as a sub-app
 * (`lib/http/feature.ts`) and one `mount` line here; public features come before the key check,
 * keyed ones after it.
 * @module
 */

import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import type { Auth } from "../auth/mod.ts";
import { createLifecycle } from "../lifecycle.ts";
import { createOps, type Ops, requestRulesOf } from "../ops/mod.ts";
import { VERSION } from "../version.ts";
import type { DocumentPart } from "../openapi/mod.ts";
import { createAnswerCache } from "../query/mod.ts";
import { streamsDocumentPart } from "../streams/openapi_part.ts";
import { adminRoutes } from "./admin.ts";
import { adminDatabaseRoutes } from "./admin_databases.ts";
import { type AppContext, type AppEnv, assignRequestId, remoteAddressOf } from "./context.ts";
import { dashboardFeedRoutes, dashboardPageRoutes } from "./dashboard.ts";
import { docsRoutes } from "./docs.ts";
import { metricsRoutes } from "./metrics.ts";
import { admitQueries, limitAnonymous, limitKeyed, trackRequests } from "./ops.ts";
import { mount, publicPaths, type RegisteredRoute } from "./feature.ts";
import { queriesDocumentPart, queryRoutes } from "./queries.ts";
import { probeRoutes, refuseWhileDraining } from "./probes.ts";
import { renderErrors, unknownRoute } from "./problems.ts";
import { rawSqlRoutes } from "./raw_sql.ts";
import { privateAnswers } from "./revalidate.ts";
import { schemaRoutes } from "./schema.ts";
import { streamRoutes } from "./streams.ts";
import { tableRoutes } from "./tables.ts";
import { selectTenant } from "./tenants.ts";

/** Builds the Hono application for `ctx`. */
export function createApp(appContext: AppContext): Hono<AppEnv> {
  const { config, log } = appContext;
  const lifecycle = appContext.lifecycle ?? createLifecycle("ready");
  const ops: Ops = appContext.ops ?? createOps(config, { version: VERSION, log });
  const ctx: AppContext = { ...appContext, ops };
  const rules = requestRulesOf(config);
  const prefix = config.route_prefix;
  const cache = createAnswerCache({
    maxBytes: config.read_cache_size,
    maxEntryBytes: config.read_cache_max_entry,
  });
  const app = new Hono<AppEnv>();
  const routes = () => app.routes;
  // Never limited or shed: the probes, the metrics, the admin endpoints, query management and
  // the dashboard.
  const exempt = new Set(
    [
      "/health",
      "/livez",
      "/readyz",
      "/metrics",
      "/admin/config",
      "/admin/databases",
      "/queries",
      "/dashboard",
    ].map((p) => `${prefix}${p}`),
  );
  const isExempt = (path: string) =>
    exempt.has(path) || path.startsWith(`${prefix}/queries/`) ||
    path.startsWith(`${prefix}/dashboard/`);

  app.use(assignRequestId());
  app.use(trackRequests(ops, rules, config.auth_enabled));
  app.use(refuseWhileDraining(lifecycle, prefix));
  app.use(selectTenant(ctx.engine.databases, ops, isExempt));
  if (rules.anonymous) {
    app.use(limitAnonymous(ops, rules.anonymous, config.auth_enabled, isExempt));
  }
  app.onError(renderErrors(log, prefix));
  app.notFound(unknownRoute);

  // Public features (their rows say so).
  mount(app, prefix, probeRoutes(ctx, lifecycle));
  mount(app, prefix, docsRoutes(ctx, routes, documentParts()));
  mount(app, prefix, dashboardPageRoutes());
  // Durable Streams check keys themselves (streams_auth), at the server root.
  if (ctx.streams) mount(app, ctx.streams.prefix, streamRoutes(ctx, ctx.streams, ops));

  // Everything else under the prefix needs a key.
  app.use(`${prefix}/*`, authenticate(ctx.auth, routes, config.auth_enabled));
  app.use(`${prefix}/*`, limitKeyed(ops, isExempt));
  if (ops.metrics) mount(app, prefix, metricsRoutes(ctx, ops));
  mount(app, prefix, adminRoutes(ctx));
  mount(app, prefix, queryRoutes(ctx, ops));
  mount(app, prefix, dashboardFeedRoutes(ctx, ops, lifecycle));
  mount(app, prefix, adminDatabaseRoutes(ctx));
  app.use(`${prefix}/*`, admitQueries(ops, rules, isExempt));
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
  return [streamsDocumentPart(), queriesDocumentPart()];
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
