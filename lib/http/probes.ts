/**
 * Probes for orchestrators and load balancers: `livez` (the process is up and serving HTTP) and
 * `readyz` (the database is open and answering, and the server is not starting or draining).
 * @module
 */

import type { Context } from "hono";
import { ApiError } from "../errors.ts";
import type { Engine } from "../db/engine.ts";
import type { Lifecycle } from "../lifecycle.ts";

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
