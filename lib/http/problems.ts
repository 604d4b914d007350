/**
 * The one place that turns errors into answers: every `ApiError` (and every other error, as a
 * 500 `internal_error`) becomes an RFC 9457 problem+json answer carrying the request id, with
 * the headers a feature asked for (`problemHeaders`: the streams protocol's CORS headers), and
 * every 5xx is logged the same way. An unknown route is a 404 `route_not_found` rendered here too.
 * @module
 */

import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { ApiError, renderProblem } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type AppEnv, requestIdOf } from "./context.ts";

/** Hono's `onError`: renders `err` as problem+json and logs it when it is a 5xx (and `log` is given). */
export function renderErrors(log?: Logger, routePrefix?: string): ErrorHandler<AppEnv> {
  return (err: unknown, c: Context<AppEnv>) => {
    const requestId = c.get("requestId") ?? requestIdOf(c.req.header("x-request-id"));
    const apiError = err instanceof ApiError ? err : new ApiError("internal_error", undefined, {
      cause: err,
    });
    if (apiError.status >= 500) {
      log?.error("request_failed", {
        request_id: requestId,
        code: apiError.code,
        error: err instanceof Error ? (err.cause instanceof Error ? err.cause : err) : String(err),
      });
    }
    const record = c.get("record");
    if (record) record.errorCode = apiError.code;
    const response = renderProblem(apiError, requestId, routePrefix);
    const extra = c.get("problemHeaders");
    if (extra) { for (const [name, value] of extra()) response.headers.set(name, value); }
    return response;
  };
}

/** Hono's `notFound`: 404 `route_not_found` naming the method and path. */
export const unknownRoute: NotFoundHandler<AppEnv> = (c) => {
  throw new ApiError("route_not_found", `Unknown endpoint: ${c.req.method} ${c.req.path}`);
};
