/**
 * Mounts Durable Streams at `{streams_prefix}/*` (at the server root, before the route prefix's
 * key check): decodes the stream path, authenticates with the server's API keys unless
 * `streams_auth` is `none`, authorizes each action on the `stream:<path>` pseudo-table (a change
 * feed `_changes/<table>` is read with `r` on the table; a refusal is the auth stage's 403
 * naming the operation and stream) and hands the request to the protocol handler. Every error is
 * an `ApiError` rendered by `renderProblem`, with the protocol's CORS and security headers.
 * @module
 */

import type { Hono } from "hono";
import { ApiError, renderProblem } from "../errors.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import {
  baseHeaders,
  canonicalStreamPath,
  feedTableOf,
  streamAccess,
  type StreamAction,
} from "../streams/mod.ts";
import type { AppContext, AppEnv } from "./app.ts";

/** Throws 403 `forbidden` unless `principal` may do `action` on the stream at `path`. */
function authorizeStream(
  auth: Auth,
  principal: Principal,
  action: StreamAction,
  path: string,
): void {
  const { operation, table } = streamAccess(action, path);
  auth.authorize(principal, operation, table);
}

function withStreamHeaders(response: Response): Response {
  for (const [name, value] of baseHeaders()) response.headers.set(name, value);
  return response;
}

/** Registers the streams route on `app` (nothing when streams are off). */
export function mountStreams(app: Hono<AppEnv>, ctx: AppContext): void {
  const runtime = ctx.streams;
  if (!runtime) return;
  const { service, prefix, changes } = runtime;
  const auth = ctx.config.streams_auth === "keys" ? ctx.auth : null;

  app.all(`${prefix}/*`, async (c) => {
    const request = c.req.raw;
    try {
      let path: string;
      try {
        const rest = new URL(request.url).pathname.slice(prefix.length + 1);
        path = canonicalStreamPath(rest.split("/").map(decodeURIComponent).join("/"));
      } catch {
        throw new ApiError("invalid_request", "The stream path is not valid percent-encoding.");
      }
      let principal: Principal | null = null;
      if (auth && request.method !== "OPTIONS") {
        principal = auth.authenticate(request, c.env?.remoteAddr?.hostname ?? "unknown");
        c.set("principal", principal);
      }
      const following = changes !== null && (request.method === "GET" || request.method === "HEAD");
      return await service.handle(request, path, prefix, {
        requestId: c.get("requestId"),
        authorize: async (action, target) => {
          if (auth && principal) authorizeStream(auth, principal, action, target);
          // A table's feed can be followed before its first event.
          if (following && action === "read" && feedTableOf(target) !== null) {
            await service.ensureJsonStream(target);
          }
          return true;
        },
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return withStreamHeaders(renderProblem(err, c.get("requestId")));
    }
  });
}
