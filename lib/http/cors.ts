/**
 * CORS for the endpoints under `route_prefix` (`cors_origins`, `cors_headers`, `cors_max_age`),
 * as a wrapper around the app's `fetch` (so it costs nothing when off): a preflight `OPTIONS` from
 * an allowed origin is answered 204 before the app and its authentication; other
 * answers to an allowed origin carry `Access-Control-Allow-Origin` and the headers clients need
 * exposed. Other origins get no CORS headers, so browsers block them. Durable Streams routes keep
 * their own protocol headers (any origin).
 * @module
 */

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

/** A fetch handler with the request info its listener passes. */
type Fetch<I> = (request: Request, info: I) => Response | Promise<Response>;

/**
 * Wraps the app's `fetch` with CORS for `config` (returns it unchanged when no origin is
 * allowed): a preflight from an allowed origin is answered before the app (so before
 * authentication); the app's answers to an allowed origin get the CORS headers.
 */
export function withCors<I>(config: Config, fetch: Fetch<I>): Fetch<I> {
  if (config.cors_origins.length === 0) return fetch;
  const any = config.cors_origins.includes("*");
  const origins = new Set(config.cors_origins);
  const allowHeaders = [
    ...new Set([...BASE_HEADERS, ...config.cors_headers.map((h) => h.toLowerCase())]),
  ].join(", ");
  const maxAge = String(Math.floor(config.cors_max_age / 1000));
  const prefix = config.route_prefix;
  const streams = config.streams ? config.streams_prefix : null;
  const covers = (path: string) =>
    (prefix === "" || path === prefix || path.startsWith(`${prefix}/`)) &&
    !(streams && (path === streams || path.startsWith(`${streams}/`)));
  return async (request, info) => {
    const origin = request.headers.get("origin");
    if (!origin || !(any || origins.has(origin)) || !covers(new URL(request.url).pathname)) {
      return await fetch(request, info);
    }
    const allowOrigin = any ? "*" : origin;
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
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
    const response = await fetch(request, info);
    const headers = new Headers(response.headers);
    headers.set("access-control-allow-origin", allowOrigin);
    headers.set("access-control-expose-headers", EXPOSE_HEADERS);
    if (!any) headers.append("vary", "Origin");
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}
