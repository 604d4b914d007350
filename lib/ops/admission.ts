/**
 * Load shedding: at most `running` requests use the database at once; up to `queued` more wait
 * in arrival order for a slot; beyond both a request is refused at once (the HTTP layer answers
 * 503 `overloaded` with `Retry-After`) instead of piling up until it times out. The limits are
 * read per request, so a configuration reload changes them for the next request while the
 * counts carry on.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createGate } from "./admission.ts";
 * const gate = createGate();
 * const limits = { running: 1, queued: 1 };
 * const first = await gate.enter(limits);
 * const waiting = gate.enter(limits); // queued
 * equal(await gate.enter(limits), null); // shed
 * equal(gate.queued, 1);
 * first!();
 * const second = await waiting;
 * equal(gate.running, 1);
 * second!();
 * equal(gate.running, 0);
 * ```
 * @module
 */

/** How many may run and wait. */
export interface GateLimits {
  running: number;
  queued: number;
}

/** Releases a slot (once; later calls do nothing). */
export type Release = () => void;

/** The concurrency gate. */
export interface Gate {
  /**
   * A slot: at once when one is free, after waiting in the queue when there is room, else
   * `null` (shed). A waiter whose `signal` aborts leaves the queue and gets `null`.
   */
  enter(limits: GateLimits, signal?: AbortSignal): Promise<Release | null>;
  readonly running: number;
  readonly queued: number;
}

/** Creates a gate. */
export function createGate(): Gate {
  let running = 0;
  let max = 1;
  const waiters: ((release: Release | null) => void)[] = [];
  const slot = (): Release => {
    running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      running--;
      while (running < max && waiters.length > 0) waiters.shift()!(slot());
    };
  };
  return {
    enter(limits, signal) {
      max = limits.running;
      if (running < limits.running && waiters.length === 0) return Promise.resolve(slot());
      if (waiters.length >= limits.queued || signal?.aborted) return Promise.resolve(null);
      return new Promise((resolve) => {
        const waiter = (release: Release | null) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        };
        const onAbort = () => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          resolve(null);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    get running() {
      return running;
    },
    get queued() {
      return waiters.length;
    },
  };
}
