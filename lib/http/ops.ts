/**
 * The operations middleware of the pipeline: {@link trackRequests} opens every request's record
 * (the client address, then route, key, status) for the tracker that reports `request_done`;
 * {@link limitAnonymous} and {@link limitKeyed} apply the token buckets (`anonymous_rate_limit`
 * per client address for requests without a key, the role's `rate_limit` per key) with the IETF
 * `RateLimit-Policy`/`RateLimit` headers and 429 `rate_limited`; {@link admitQueries} holds the
 * query gate (`max_concurrent_queries`, `max_queued_queries`) and sheds with 503 `overloaded`.
 * Probes, metrics and the admin endpoints are never limited or shed.
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";
import {
  type Ops,
  presentedSecret,
  type RateDecision,
  type RateLimit,
  rateLimitHeaders,
  type RequestRules,
} from "../ops/mod.ts";
import type { Principal } from "../permissions.ts";
import { type AppEnv, peerAddressOf } from "./context.ts";

/** Seconds a shed request should wait before retrying. */
const OVERLOADED_RETRY_SECONDS = 1;

/**
 * Opens the request's record, sets `X-Request-ID` on the answer and fills in the route, key and
 * status. A HEAD answer's body is cancelled: Hono answers HEAD with the GET handler's response
 * minus its body without cancelling that body, and a streamed result would keep its pooled
 * connection forever. A request answered in-process (no listener) is reported here.
 */
export function trackRequests(
  ops: Ops,
  rules: RequestRules,
  authEnabled: boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const request = c.req.raw;
    const requestId = c.get("requestId");
    const record = ops.tracker.begin(
      request,
      requestId,
      rules.clientIp(peerAddressOf(c), request.headers),
    );
    c.set("record", record);
    await next();
    if (c.req.method === "HEAD" && c.res.body) {
      await c.res.body.cancel().catch(() => {});
      c.res = new Response(null, c.res);
    }
    c.res.headers.set("x-request-id", requestId);
    record.route = routeOf(c);
    const principal = c.get("principal");
    if (principal && authEnabled) {
      record.keyId = principal.keyId;
      record.role = principal.role;
    }
    if (!c.env?.remoteAddr) ops.tracker.finish(request, c.res.status);
  };
}

/** The route pattern that answered (`/duckdb/api/:table`), or null when none did. */
function routeOf(c: Context<AppEnv>): string | null {
  if (c.get("record")?.errorCode === "route_not_found") return null;
  const path = c.req.routePath;
  return path === "/*" || path === "*" ? null : path;
}

/**
 * `anonymous_rate_limit` per client address, for requests that present no key (every request
 * when auth is off); `exempt` paths (probes, metrics) pass.
 */
export function limitAnonymous(
  ops: Ops,
  limit: RateLimit,
  authEnabled: boolean,
  exempt: (path: string) => boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (exempt(c.req.path) || (authEnabled && presentedSecret(c.req.raw.headers) !== null)) {
      return await next();
    }
    const record = c.get("record");
    const address = record?.clientIp ?? peerAddressOf(c);
    const decision = ops.limiter.take(`address:${address}`, limit);
    await applyDecision(c, ops, "address", decision, next);
  };
}

/** The role's `rate_limit` per key, after authentication; `exempt` paths pass. */
export function limitKeyed(
  ops: Ops,
  exempt: (path: string) => boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal?.rateLimit || exempt(c.req.path)) return await next();
    await applyDecision(c, ops, "key", takeKeyToken(ops, principal)!, next);
  };
}

/** A token of `principal`'s bucket, or null when its role has no limit. */
export function takeKeyToken(ops: Ops, principal: Principal): RateDecision | null {
  if (!principal.rateLimit) return null;
  return ops.limiter.take(`key:${principal.keyId}`, principal.rateLimit);
}

/** Refuses with 429 `rate_limited`, or runs `next` and sets the headers on its answer. */
export async function applyDecision(
  c: Context<AppEnv>,
  ops: Ops,
  scope: "key" | "address" | "tenant",
  decision: RateDecision,
  next: () => Promise<void>,
): Promise<void> {
  const headers = rateLimitHeaders(scope, decision);
  if (!decision.allowed) throw refuse(c, ops, scope, decision, headers);
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
}

/** The 429 of a refused decision (and its `rate_limited` event). */
export function refuse(
  c: Context<AppEnv>,
  ops: Ops,
  scope: "key" | "address" | "tenant",
  decision: RateDecision,
  headers: Record<string, string>,
): ApiError {
  const principal = c.get("principal");
  const record = c.get("record");
  ops.events.emit("rate_limited", {
    request_id: c.get("requestId"),
    scope,
    key_id: scope === "key" ? principal?.keyId ?? null : null,
    role: scope === "key" ? principal?.role ?? null : null,
    client_ip: record?.clientIp ?? peerAddressOf(c),
  });
  const who = scope === "key"
    ? "this API key"
    : scope === "tenant"
    ? "this tenant"
    : "this address";
  return new ApiError(
    "rate_limited",
    `Rate limit exceeded for ${who} (${decision.limit.burst} requests at once, ` +
      `${decision.limit.rate} per second); retry in ${decision.retryAfter} s.`,
    { headers: { ...headers, "retry-after": String(decision.retryAfter) } },
  );
}

/**
 * The query gate for the database routes: a slot at once, after waiting in the queue, or 503
 * `overloaded` with `Retry-After` when both are full. The slot is held until the answer's last
 * byte (streamed exports included); `exempt` paths pass.
 */
export function admitQueries(
  ops: Ops,
  rules: RequestRules,
  exempt: (path: string) => boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (exempt(c.req.path)) return await next();
    const signal = c.req.raw.signal;
    const release = await ops.gate.enter(rules.gate, signal);
    if (!release) {
      if (signal.aborted) {
        throw new ApiError("client_closed_request", "The client closed the connection.");
      }
      ops.events.emit("request_shed", {
        request_id: c.get("requestId"),
        route: c.req.routePath,
        running: ops.gate.running,
        queued: ops.gate.queued,
      });
      throw new ApiError(
        "overloaded",
        `The server is at max_concurrent_queries (${rules.gate.running}) with ` +
          `max_queued_queries (${rules.gate.queued}) waiting; retry in ` +
          `${OVERLOADED_RETRY_SECONDS} s.`,
        { headers: { "retry-after": String(OVERLOADED_RETRY_SECONDS) } },
      );
    }
    const record = c.get("record");
    if (record && c.env?.remoteAddr) {
      // Released by the tracker once the last byte is sent.
      record.onDone = release;
      await next();
    } else {
      try {
        await next();
      } finally {
        release();
      }
    }
  };
}
