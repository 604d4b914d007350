/**
 * HTTP revalidation of read answers: `ETag` on answers that carry a validator (deterministic
 * reads, see `lib/query/validators.ts`), `304 Not Modified` without a body when `If-None-Match`
 * names the current tag, and `Cache-Control: private, no-cache` on authenticated answers, so
 * browsers revalidate and shared caches never store them.
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { contentTag, matchesTag, type Revalidation } from "../query/validators.ts";
import { type OutputOptions, representationKey } from "./output.ts";

/** The `Vary` every row answer sends (the representation depends on these request headers). */
export const ROWS_VARY = "Accept, Accept-Encoding";

/** The revalidation part of a read request: its `If-None-Match` and representation. */
export function revalidationOf(request: Request, output: OutputOptions): Revalidation {
  return { ifNoneMatch: request.headers.get("if-none-match"), variant: representationKey(output) };
}

/** A 304 for `etag`: no body, the validator and the `Vary` a 200 would have had (if any). */
export function notModifiedResponse(etag: string, vary: string | null = ROWS_VARY): Response {
  return new Response(null, { status: 304, headers: vary ? { etag, vary } : { etag } });
}

/** `response` with its `ETag` (unless it failed). */
export function withEtag(response: Response, etag: string | undefined): Response {
  if (etag && response.status === 200) response.headers.set("etag", etag);
  return response;
}

/**
 * A JSON answer computed without a query (`/tables`): tagged by its bytes, and a 304 when the
 * client's copy is current.
 */
export function jsonWithEtag(c: Context, value: unknown): Response {
  const text = JSON.stringify(value);
  const etag = contentTag(text, "json");
  if (matchesTag(c.req.header("if-none-match") ?? null, etag)) {
    return notModifiedResponse(etag, null);
  }
  return new Response(text, {
    status: 200,
    headers: { "content-type": "application/json", etag },
  });
}

/**
 * Marks the answers of authenticated requests `Cache-Control: private, no-cache` (unless the
 * handler chose otherwise): browsers keep them but revalidate, shared caches do not store them.
 */
export function privateAnswers(enabled: boolean): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (enabled && !c.res.headers.has("cache-control")) {
      c.res.headers.set("cache-control", "private, no-cache");
    }
  };
}
