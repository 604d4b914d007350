/**
 * CORS for the endpoints under `route_prefix` (`cors_origins`, `cors_headers`, `cors_max_age`):
 * a preflight `OPTIONS` from an allowed origin is answered 204 before authentication; other
 * answers to an allowed origin carry `Access-Control-Allow-Origin` and the headers clients need
 * exposed. Other origins get no CORS headers, so browsers block them. Durable Streams routes keep
 * their own protocol headers (any origin).
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { Config } from "../config.ts";

/** Request headers every allowed origin may send. */
const BASE_HEADERS = [
  "content-type",
  "accept",
  "authorization",
  "x-api-key",
  "x-request-id",
  "cache-control",
];

/** Response headers scripts may read. */
const EXPOSE_HEADERS = [
  "x-request-id",
  "x-truncated",
  "link",
  "etag",
  "content-disposition",
  "retry-after",
  "ratelimit",
  "ratelimit-policy",
].join(", ");

const METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";

/** The CORS middleware of `config` (passes everything through when no origin is allowed). */
export function createCors(config: Config): MiddlewareHandler {
  if (config.cors_origins.length === 0) return async (_c, next) => await next();
  const any = config.cors_origins.includes("*");
  const origins = new Set(config.cors_origins);
  const allowHeaders = [
    ...new Set([...BASE_HEADERS, ...config.cors_headers.map((h) => h.toLowerCase())]),
  ]
    .join(", ");
  const maxAge = String(Math.floor(config.cors_max_age / 1000));
  const streams = config.streams ? config.streams_prefix : null;
  return async (c, next) => {
    const origin = c.req.header("origin");
    const path = c.req.path;
    if (!origin || (streams && (path === streams || path.startsWith(`${streams}/`)))) {
      return await next();
    }
    const allowed = any || origins.has(origin);
    if (!allowed) return await next();
    const allowOrigin = any ? "*" : origin;
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": allowOrigin,
          "access-control-allow-methods": METHODS,
          "access-control-allow-headers": allowHeaders,
          "access-control-max-age": maxAge,
          vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
      });
    }
    await next();
    c.res.headers.set("access-control-allow-origin", allowOrigin);
    c.res.headers.set("access-control-expose-headers", EXPOSE_HEADERS);
    if (!any) c.res.headers.append("vary", "Origin");
  };
}
