/**
 * Features, the way Hono apps are composed: each feature (probes, docs, schema, raw SQL, tables,
 * streams) builds a Hono sub-app with {@link createFeature}, registering every route together
 * with its documentation row(s) (`Endpoint`, `lib/openapi/endpoint.ts`), and `app.ts` mounts it
 * with {@link mount} (`app.route()`: one router, no extra middleware per request). Mounting also
 * answers 405 `method_not_allowed` (with `Allow`) for the other methods on each of the feature's
 * paths. The rows travel with their handlers, so {@link documentRoutes} recovers them from Hono's
 * own route list: the OpenAPI document and the public paths follow the routes, and a route
 * registered without a row is reported as undocumented.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { Hono } from "hono";
 * import { createFeature, documentRoutes, mount } from "./feature.ts";
 * import type { AppEnv } from "./context.ts";
 * const hello = createFeature();
 * hello.route({
 *   method: "GET", route: "/hello", path: "/hello", operationId: "hello", tag: "Probes",
 *   summary: "Says hello", errors: [],
 *   responses: [{ status: 200, description: "Hello.", body: { kind: "html" } }],
 * }, (c) => c.text("hello"));
 * const app = new Hono<AppEnv>();
 * mount(app, "/duckdb", hello);
 * app.get("/duckdb/secret", (c) => c.text("hidden"));
 * const { endpoints, undocumented } = documentRoutes(app.routes);
 * deepEqual(endpoints.map((e) => e.operationId), ["hello"]);
 * deepEqual(undocumented, ["GET /duckdb/secret"]);
 * ```
 * @module
 */

import { Hono } from "hono";
import type { Context, Handler } from "hono";
import { ApiError } from "../errors.ts";
import type { Endpoint, HttpMethod } from "../openapi/mod.ts";
import type { AppEnv } from "./context.ts";

/** A route as Hono lists it in `app.routes`. */
export interface RegisteredRoute {
  method: string;
  path: string;
  handler: (...args: never[]) => unknown;
}

/** The rows of each handler registered through a feature. */
const DOCUMENTED = new WeakMap<object, readonly Endpoint[]>();
const FALLBACKS = new WeakSet<object>();

/** A feature's routes, ready to be mounted. */
export interface Feature {
  /** The sub-app: routes relative to the base the feature is mounted at. */
  readonly app: Hono<AppEnv>;
  /** Registered methods per route pattern (for the 405 answers). */
  readonly methods: ReadonlyMap<string, readonly string[]>;
  /** The 405 detail of a path, when not the generic one. */
  readonly notAllowedDetail: ReadonlyMap<string, (method: string) => string>;
}

/** Builds a feature's sub-app. */
export interface FeatureBuilder extends Feature {
  /**
   * Registers `handler` for the method and route of `endpoints` (one row, or one row per
   * documented method of one `ALL` route) and records the rows with it.
   */
  route(endpoints: Endpoint | readonly Endpoint[], handler: Handler<AppEnv>): void;
  /** Registers an answer that is no endpoint (a 400 for a path without a table), undocumented. */
  fallback(path: string, handler: Handler<AppEnv>): void;
  /** The detail of the 405 answered on `path` for other methods (default: the allowed list). */
  notAllowed(path: string, detail: (method: string) => string): void;
}

/** Starts a feature. */
export function createFeature(): FeatureBuilder {
  const app = new Hono<AppEnv>();
  const methods = new Map<string, string[]>();
  const notAllowedDetail = new Map<string, (method: string) => string>();
  return {
    app,
    methods,
    notAllowedDetail,
    route(endpoints, handler) {
      const rows: readonly Endpoint[] = Array.isArray(endpoints) ? endpoints : [endpoints];
      const { method, route } = rows[0];
      if (rows.some((row) => row.method !== method || row.route !== route)) {
        throw new Error(`rows of one handler must share method and route (${method} ${route})`);
      }
      if (DOCUMENTED.has(handler)) throw new Error(`handler of ${method} ${route} reused`);
      DOCUMENTED.set(handler, rows);
      if (method === "ALL") app.all(route, handler);
      else app.on(method, route, handler);
      methods.set(route, [...methods.get(route) ?? [], method]);
    },
    fallback(path, handler) {
      FALLBACKS.add(handler);
      app.all(path, handler);
    },
    notAllowed(path, detail) {
      notAllowedDetail.set(path, detail);
    },
  };
}

/**
 * Mounts `feature` at `base` (`""` for the root): its routes, then, for each path not registered
 * for every method, a 405 `method_not_allowed` listing the methods it takes (GET implies HEAD).
 */
export function mount(app: Hono<AppEnv>, base: string, feature: Feature): void {
  app.route(base, feature.app);
  for (const [path, registered] of feature.methods) {
    if (registered.includes("ALL")) continue;
    const allow = allowOf(registered as HttpMethod[]);
    const detail = feature.notAllowedDetail.get(path) ??
      (() => `This endpoint only accepts ${allow}.`);
    const handler = (c: Context<AppEnv>) => {
      throw new ApiError("method_not_allowed", detail(c.req.method), { headers: { allow } });
    };
    FALLBACKS.add(handler);
    app.all(`${base}${path}`, handler);
  }
}

/** The `Allow` value of a path registered for `methods`: in order, HEAD right after GET. */
function allowOf(methods: readonly HttpMethod[]): string {
  return methods.flatMap((m) => m === "GET" ? ["GET", "HEAD"] : [m]).join(", ");
}

/** The rows of the registered routes, and what has no row. */
export interface DocumentedRoutes {
  /** The rows of the registered routes, in registration order. */
  endpoints: Endpoint[];
  /** `METHOD path` of registered routes without rows (registered outside a feature). */
  undocumented: string[];
}

/**
 * Reads the rows back from Hono's route list: middleware (handlers taking `next`) and fallbacks
 * (405s, 400s) are skipped; every other route needs rows.
 */
export function documentRoutes(routes: readonly RegisteredRoute[]): DocumentedRoutes {
  const endpoints: Endpoint[] = [];
  const undocumented: string[] = [];
  for (const route of routes) {
    if (route.handler.length > 1 || FALLBACKS.has(route.handler)) continue;
    const rows = DOCUMENTED.get(route.handler);
    if (!rows) undocumented.push(`${route.method} ${route.path}`);
    for (const row of rows ?? []) if (!endpoints.includes(row)) endpoints.push(row);
  }
  return { endpoints, undocumented };
}

/**
 * Whether a request path is served without a key, from the registered routes whose rows say
 * `public`: exactly their path, or, for a pattern with a parameter or wildcard, any path below
 * its fixed part (`/duckdb/docs/:asset`: everything under `/duckdb/docs/`).
 */
export function publicPaths(routes: readonly RegisteredRoute[]): (path: string) => boolean {
  const exact = new Set<string>();
  const below: string[] = [];
  for (const route of routes) {
    if (!DOCUMENTED.get(route.handler)?.some((e) => e.public)) continue;
    const variable = route.path.search(/[:*]/);
    if (variable < 0) exact.add(route.path);
    else below.push(route.path.slice(0, variable));
  }
  return (path) => exact.has(path) || below.some((fixed) => path.startsWith(fixed));
}
