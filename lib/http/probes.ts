/**
 * The probes feature, for orchestrators and load balancers: `health` (the reference module's
 * check, any method), `livez` (the process is up and serving HTTP) and `readyz` (the database is
 * open and answering, and the server is not starting or draining); no key needed. Also the 503
 * every other request gets while the server starts or drains.
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";
import type { Engine } from "../db/engine.ts";
import type { Lifecycle } from "../lifecycle.ts";
import type { Endpoint } from "../openapi/mod.ts";
import { VERSION } from "../version.ts";
import type { AppContext, AppEnv } from "./context.ts";
import { createFeature, type Feature } from "./feature.ts";

const HEALTH: Endpoint = {
  method: "ALL",
  route: "/health",
  path: "/health",
  public: true,
  documentAs: ["GET"],
  operationId: "health",
  tag: "Probes",
  summary: "Health check (reference-compatible)",
  description: "Pings the database. Answers any HTTP method, as the reference module did.",
  responses: [{ status: 200, description: "Healthy.", body: { kind: "json", schema: "Health" } }],
  errors: [],
};

const LIVEZ: Endpoint = {
  method: "GET",
  route: "/livez",
  path: "/livez",
  public: true,
  operationId: "livez",
  tag: "Probes",
  summary: "Liveness: the process serves HTTP",
  description: "200 in every phase (starting, ready, draining) while the process is up.",
  responses: [{ status: 200, description: "Alive.", body: { kind: "json", schema: "Probe" } }],
  errors: [],
};

const READYZ: Endpoint = {
  method: "GET",
  route: "/readyz",
  path: "/readyz",
  public: true,
  operationId: "readyz",
  tag: "Probes",
  summary: "Readiness: the database is open and answering",
  description: "503 `unavailable` with `Retry-After` while starting or draining, or when the " +
    "database does not answer a ping within 2 s.",
  responses: [{ status: 200, description: "Ready.", body: { kind: "json", schema: "Probe" } }],
  errors: [],
};

/** The probe routes (relative to the route prefix). */
export function probeRoutes(ctx: AppContext, lifecycle: Lifecycle): Feature {
  const { config, engine } = ctx;
  const feature = createFeature();
  feature.route(HEALTH, async (c) => {
    await engine.ping(AbortSignal.timeout(Math.max(config.query_timeout, 1000))).catch((err) => {
      throw new ApiError("unavailable", "The database does not answer.", { cause: err });
    });
    return c.json({ status: "ok", version: VERSION, duckdb_version: engine.duckdbVersion });
  });
  feature.route(LIVEZ, (c) => answerLivez(c, lifecycle));
  feature.route(READYZ, (c) => answerReadyz(c, lifecycle, engine));
  return feature;
}

/** 503 `unavailable` for everything but the probes once the server drains. */
export function refuseWhileDraining(
  lifecycle: Lifecycle,
  prefix: string,
): MiddlewareHandler<AppEnv> {
  const probes = new Set([HEALTH, LIVEZ, READYZ].map((e) => `${prefix}${e.route}`));
  return async (c, next) => {
    if (lifecycle.phase !== "ready" && !probes.has(c.req.path)) throw notReady(lifecycle);
    await next();
  };
}

/** Seconds a client should wait before retrying while the server starts or drains. */
const RETRY_AFTER_SECONDS = 1;

/** Longest a readiness ping may wait for the database. */
const READY_PING_MS = 2_000;

/** The 503 of a server that is not ready (starting, draining or stopped), or whose database is down. */
export function notReady(lifecycle: Lifecycle, detail?: string, cause?: unknown): ApiError {
  const phase = lifecycle.phase;
  const text = detail ??
    (phase === "starting"
      ? "The server is starting; the database is not open yet."
      : "The server is shutting down.");
  return new ApiError("unavailable", text, {
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
    extra: { phase },
    cause,
  });
}

/** `GET {prefix}/livez`: 200 while the process serves HTTP, in every phase. */
export function answerLivez(c: Context, lifecycle: Lifecycle): Response {
  return c.json({ status: "ok", phase: lifecycle.phase });
}

/**
 * `GET {prefix}/readyz`: 200 when ready and the database answers a ping within 2 s; otherwise
 * 503 `unavailable` with `Retry-After` and the phase.
 */
export async function answerReadyz(
  c: Context,
  lifecycle: Lifecycle,
  engine: Engine,
): Promise<Response> {
  if (lifecycle.phase !== "ready") throw notReady(lifecycle);
  try {
    await engine.ping(AbortSignal.timeout(READY_PING_MS));
  } catch (err) {
    throw notReady(lifecycle, "The database does not answer.", err);
  }
  return c.json({ status: "ok", phase: lifecycle.phase });
}
