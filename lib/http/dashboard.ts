/**
 * The dashboard feature: `GET {prefix}/dashboard`, one page of live traffic and queries, served
 * entirely from the program (its script, style sheet and uPlot are text imports, embedded by
 * `deno compile`; its Content-Security-Policy allows nothing but this origin), and
 * `GET {prefix}/dashboard/feed`, the live feed it reads: Server-Sent Events (`Accept:
 * text/event-stream`; any other Accept gets one JSON snapshot), an admin key needed.
 * The feed sends `hello` (the last 5 minutes of frames) and then a `tick` every second (the
 * frame of that second, percentiles per route over 5 minutes, the running queries, the slowest
 * recent queries; see `lib/ops/live.ts`). The page asks for the key once, keeps it in
 * `sessionStorage` and sends it as `X-API-Key` (never in a URL): it reads the feed with `fetch`,
 * since `EventSource` cannot send headers. Nobody watching costs nothing per request.
 * @module
 */

import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import pageJs from "./dashboard/page.js" with { type: "text" };
import pageCss from "./dashboard/page.css" with { type: "text" };
import pageHtml from "./dashboard/page.html" with { type: "text" };
import type { Lifecycle } from "../lifecycle.ts";
import type { Endpoint } from "../openapi/mod.ts";
import type { LiveTick, Ops } from "../ops/mod.ts";
import { VERSION } from "../version.ts";
import { requireAdmin } from "./admin.ts";
import type { AppContext } from "./context.ts";
import { createAssetServer, type EmbeddedAsset, pageResponse } from "./embedded.ts";
import { createFeature, type Feature } from "./feature.ts";

const PAGE: Endpoint = {
  method: "GET",
  route: "/dashboard",
  path: "/dashboard",
  public: true,
  operationId: "dashboard",
  tag: "Operations",
  summary: "Live dashboard: traffic, latency, queries (served from the binary)",
  description: "The page is public; it asks for an admin key and reads `/dashboard/feed` with it.",
  responses: [{ status: 200, description: "The page.", body: { kind: "html" } }],
  errors: [],
};

/** The row of one asset of the page (each has its own fixed, public path). */
function assetRow(name: string): Endpoint {
  const id = name.replace(/\.min/, "").replace(/[^A-Za-z0-9]+(.)/g, (_, c) => c.toUpperCase());
  return {
    method: "GET",
    route: `/dashboard/assets/${name}`,
    path: `/dashboard/assets/${name}`,
    public: true,
    operationId: `dashboardAsset${id[0].toUpperCase()}${id.slice(1)}`,
    tag: "Operations",
    summary: `The dashboard's ${name}`,
    responses: [{ status: 200, description: "The asset.", body: { kind: "asset" } }],
    errors: [],
  };
}

const FEED: Endpoint = {
  method: "GET",
  route: "/dashboard/feed",
  path: "/dashboard/feed",
  operationId: "dashboardFeed",
  tag: "Operations",
  summary: "The dashboard's live feed (Server-Sent Events)",
  description: "With `Accept: text/event-stream`: `event: hello` with the last 5 minutes of " +
    "per-second frames, then `event: tick` every second: the second's frame (requests, " +
    "errors, cache, limits, gauges, latency percentiles per route over 10 s), percentiles " +
    "over 5 minutes, the running queries and the slowest recent ones. Any other `Accept`: one " +
    "JSON snapshot (`history`, `queries`) and the answer ends. Needs an admin key.",
  responses: [{ status: 200, description: "The feed.", body: { kind: "sse" } }],
  errors: [],
};

/** Every asset of the page by file name (served under `{prefix}/dashboard/assets/`). */
export const DASHBOARD_ASSETS: Readonly<Record<string, EmbeddedAsset>> = {
  "uPlot.min.js": { contentType: "text/javascript; charset=utf-8", text: uplotJs },
  "uPlot.min.css": { contentType: "text/css; charset=utf-8", text: uplotCss },
  "dashboard.js": { contentType: "text/javascript; charset=utf-8", text: pageJs },
  "dashboard.css": { contentType: "text/css; charset=utf-8", text: pageCss },
};

/** Ticks a slow viewer may fall behind before ticks are skipped for it. */
const MAX_BEHIND = 8;

/** The dashboard page and its assets (relative to the route prefix, public). */
export function dashboardPageRoutes(): Feature {
  const feature = createFeature();
  feature.route(PAGE, () => pageResponse(pageHtml));
  const serveAsset = createAssetServer(DASHBOARD_ASSETS);
  for (const name of Object.keys(DASHBOARD_ASSETS)) {
    feature.route(assetRow(name), async (c) => (await serveAsset(name, c.req.raw))!);
  }
  return feature;
}

/** The dashboard's feed (relative to the route prefix, behind the key check). */
export function dashboardFeedRoutes(ctx: AppContext, ops: Ops, lifecycle: Lifecycle): Feature {
  const feature = createFeature();
  feature.route(FEED, (c) => {
    requireAdmin(ctx.auth, c.get("principal"));
    if (!/text\/event-stream/i.test(c.req.header("accept") ?? "")) {
      const snapshot = ops.live.snapshot();
      return c.json({ version: VERSION, auth_enabled: ctx.config.auth_enabled, ...snapshot }, 200, {
        "cache-control": "no-store",
      });
    }
    return feedResponse(ops, lifecycle, c.req.raw.signal, ctx.config.auth_enabled);
  });
  return feature;
}

/** The SSE answer of one viewer: `hello`, then a `tick` a second until it leaves or drains. */
function feedResponse(
  ops: Ops,
  lifecycle: Lifecycle,
  signal: AbortSignal,
  authEnabled: boolean,
): Response {
  const encoder = new TextEncoder();
  const event = (name: string, data: unknown) =>
    encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const viewer = ops.live.watch((tick: LiveTick) => {
        if (lifecycle.phase !== "ready" && lifecycle.phase !== "starting") return stop();
        if ((controller.desiredSize ?? 0) < -MAX_BEHIND) return; // a slow reader skips ticks
        controller.enqueue(event("tick", tick));
      });
      stop = () => {
        viewer.stop();
        signal.removeEventListener("abort", stop);
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      signal.addEventListener("abort", stop, { once: true });
      controller.enqueue(event("hello", {
        version: VERSION,
        auth_enabled: authEnabled,
        history: viewer.history(),
      }));
    },
    cancel() {
      stop();
    },
  }, { highWaterMark: 1 });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
