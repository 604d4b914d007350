import { deepEqual, equal, throws } from "node:assert/strict";
import { Hono } from "hono";
import type { Endpoint } from "../../lib/openapi/mod.ts";
import {
  type AppEnv,
  createFeature,
  documentRoutes,
  type Feature,
  mount,
} from "../../lib/http/mod.ts";
import { publicPaths } from "../../lib/http/feature.ts";
import { renderErrors, unknownRoute } from "../../lib/http/problems.ts";
import { consume } from "../_helpers.ts";

function row(method: Endpoint["method"], route: string, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    method,
    route,
    path: route,
    operationId: `${method} ${route}`,
    tag: "Probes",
    summary: route,
    responses: [],
    errors: [],
    ...extra,
  };
}

function appWith(base: string, ...features: Feature[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("requestId", "r-1");
    await next();
  });
  app.onError(renderErrors());
  app.notFound(unknownRoute);
  for (const feature of features) mount(app, base, feature);
  return app;
}

Deno.test("mount() answers 405 with Allow for the other methods of each path", async () => {
  const feature = createFeature();
  feature.route(row("GET", "/items/:id"), (c) => c.text("got"));
  feature.route(row("DELETE", "/items/:id"), (c) => c.text("deleted"));
  feature.route(row("POST", "/run"), (c) => c.text("ran"));
  feature.route(row("ALL", "/any"), (c) => c.text(c.req.method));
  feature.notAllowed("/run", (method) => `${method}: use POST.`);
  const app = appWith("/v1", feature);

  equal(await (await app.request("/v1/items/7", { method: "DELETE" })).text(), "deleted");
  const put = await consume(await app.request("/v1/items/7", { method: "PUT" }));
  deepEqual([put.status, put.headers.get("allow"), put.body.code, put.body.detail], [
    405,
    "GET, HEAD, DELETE",
    "method_not_allowed",
    "This endpoint only accepts GET, HEAD, DELETE.",
  ]);
  equal(put.headers.get("content-type"), "application/problem+json");
  equal(put.body.request_id, "r-1");
  const get = await consume(await app.request("/v1/run"));
  deepEqual([get.status, get.headers.get("allow"), get.body.detail], [
    405,
    "POST",
    "GET: use POST.",
  ]);
  // An ALL route takes every method; unknown paths stay 404.
  equal(await (await app.request("/v1/any", { method: "PATCH" })).text(), "PATCH");
  const missing = await consume(await app.request("/v1/nowhere"));
  deepEqual([missing.status, missing.body.code], [404, "route_not_found"]);
});

Deno.test("documentRoutes() returns the rows in registration order, without middleware and fallbacks", () => {
  const feature = createFeature();
  const a = row("GET", "/a");
  const streams = [
    row("ALL", "/*", { documentAs: ["GET"] }),
    row("ALL", "/*", { documentAs: ["PUT"] }),
  ];
  feature.route(a, (c) => c.text("a"));
  feature.fallback("/a/", () => new Response("no"));
  const other = createFeature();
  other.route(streams, (c) => c.text("s"));
  const app = appWith("/p", feature);
  mount(app, "/s", other);
  const { endpoints, undocumented } = documentRoutes(app.routes);
  deepEqual(endpoints, [a, ...streams]);
  deepEqual(undocumented, []);
});

Deno.test("createFeature().route() refuses rows of different routes on one handler", () => {
  const feature = createFeature();
  throws(
    () => feature.route([row("GET", "/a"), row("GET", "/b")], (c) => c.text("x")),
    /share method and route/,
  );
});

Deno.test("publicPaths() follows the rows: exact paths, and subtrees below a parameter", () => {
  const feature = createFeature();
  feature.route(row("GET", "/livez", { public: true }), (c) => c.text("ok"));
  feature.route(row("GET", "/docs/:asset", { public: true }), (c) => c.text("asset"));
  feature.route(row("GET", "/tables"), (c) => c.text("keyed"));
  const isPublic = publicPaths(appWith("/duckdb", feature).routes);
  equal(isPublic("/duckdb/livez"), true);
  equal(isPublic("/duckdb/livez/x"), false);
  equal(isPublic("/duckdb/docs/a.js"), true);
  equal(isPublic("/duckdb/docs/a/b"), true);
  equal(isPublic("/duckdb/docs"), false);
  equal(isPublic("/duckdb/tables"), false);
  equal(isPublic("/livez"), false);
});
