/**
 * The metrics feature: `GET {prefix}/metrics` answers the Prometheus text exposition format of
 * the server's registry (`lib/ops/metrics.ts`) to an admin key. The same text is served without
 * a key on `metrics_listen` (a listener of its own, opened by the server wiring), for a
 * Prometheus that scrapes a private address.
 * @module
 */

import type { Endpoint } from "../openapi/mod.ts";
import type { Ops } from "../ops/mod.ts";
import { requireAdmin } from "./admin.ts";
import type { AppContext } from "./context.ts";
import { createFeature, type Feature } from "./feature.ts";

/** The metrics endpoint's row. */
export const METRICS: Endpoint = {
  method: "GET",
  route: "/metrics",
  path: "/metrics",
  operationId: "metrics",
  tag: "Operations",
  summary: "Prometheus metrics",
  description: "Requests, latencies, queries, the read cache, rate limits, the connection " +
    "pool, DuckDB's memory and spill, streams and the process, in the Prometheus text " +
    "format. Needs an admin key (or scrape `metrics_listen` without one).",
  responses: [{ status: 200, description: "The metrics.", body: { kind: "text" } }],
  errors: [],
};

/** The metrics of `ops` as an answer. */
export async function metricsResponse(ops: Ops): Promise<Response> {
  const metrics = ops.metrics;
  if (!metrics) return new Response("metrics are off\n", { status: 404 });
  return new Response(await metrics.text(), {
    headers: { "content-type": metrics.contentType, "cache-control": "no-store" },
  });
}

/** The metrics route (relative to the route prefix, behind the key check). */
export function metricsRoutes(ctx: AppContext, ops: Ops): Feature {
  const feature = createFeature();
  feature.route(METRICS, (c) => {
    requireAdmin(ctx.auth, c.get("principal"));
    return metricsResponse(ops);
  });
  return feature;
}
