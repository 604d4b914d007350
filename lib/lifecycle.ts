/**
 * The server's lifecycle: `starting` (listening, database not open yet), `ready`, `draining`
 * (a shutdown signal arrived: no new connections, in-flight requests finishing) and `stopped`.
 * Probes read it; `drain()` runs the shutdown sequence.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createLifecycle } from "./lifecycle.ts";
 * const lifecycle = createLifecycle();
 * equal(lifecycle.phase, "starting");
 * lifecycle.enter("ready");
 * equal(lifecycle.phase, "ready");
 * ```
 * @module
 */

import type { Logger } from "./log.ts";

/** Where the server is in its life. */
export type Phase = "starting" | "ready" | "draining" | "stopped";

/** The current phase, shared by the server and the probes. */
export interface Lifecycle {
  readonly phase: Phase;
  /** Moves to `phase`. */
  enter(phase: Phase): void;
}

/** A lifecycle in the `starting` phase (or `initial`). */
export function createLifecycle(initial: Phase = "starting"): Lifecycle {
  let phase: Phase = initial;
  return {
    get phase() {
      return phase;
    },
    enter(next) {
      phase = next;
    },
  };
}

/** What {@link drain} stops. */
export interface DrainTarget {
  lifecycle: Lifecycle;
  log: Logger;
  /** Stops accepting connections; resolves once every in-flight response has finished. */
  stopAccepting(): Promise<void>;
  /** Interrupts every running statement (after the grace period); returns how many. */
  interruptAll(): number;
  /** Checkpoints and closes the databases. */
  close(): Promise<void>;
  /** How long in-flight requests may run on (`shutdown_grace`, ms). */
  graceMs: number;
}

/** How long to wait for interrupted requests to answer before closing anyway (ms). */
const HARD_STOP_MS = 5_000;

/** How a drain ended. */
export interface DrainOutcome {
  /** Every in-flight request finished within the grace period. */
  graceful: boolean;
  /** Connections whose statements were interrupted. */
  interrupted: number;
}

/**
 * Shuts down: `draining` at once (readyz answers 503), stop accepting, let in-flight requests
 * finish for up to `graceMs`, then interrupt the statements still running (their clients get
 * 503 `unavailable`), wait briefly for those answers, and close the databases cleanly.
 */
export async function drain(target: DrainTarget): Promise<DrainOutcome> {
  const { lifecycle, log } = target;
  lifecycle.enter("draining");
  log.info("server_draining", { grace_ms: target.graceMs });
  const finished = target.stopAccepting().then(() => true, () => true);
  const graceful = await within(finished, target.graceMs);
  let interrupted = 0;
  if (!graceful) {
    interrupted = target.interruptAll();
    log.warn("shutdown_grace_expired", { interrupted_connections: interrupted });
    await within(finished, HARD_STOP_MS);
  }
  await target.close();
  lifecycle.enter("stopped");
  log.info("server_stopped", { graceful, interrupted_connections: interrupted });
  return { graceful, interrupted };
}

/** True when `promise` settles within `ms` milliseconds. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
