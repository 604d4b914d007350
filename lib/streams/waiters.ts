/**
 * Live readers waiting for a stream to change: one entry per waiter in the instance's waiter set
 * plus one timer, no polling. Appends, closes and deletes wake them; ending live reads (a server
 * that starts draining) wakes them all and answers later waits at once.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Waiters } from "./waiters.ts";
 * const waiters = new Waiters();
 * const inst = { waiters: new Set<() => void>() };
 * const waiting = waiters.wait(inst, 10_000);
 * waiters.notify(inst);
 * equal(await waiting, "changed");
 * equal(await waiters.wait(inst, 5), "timeout");
 * ```
 * @module
 */

import type { StreamInstance } from "./model.ts";

/** Why a wait ended. */
export type WaitResult = "changed" | "timeout" | "aborted";

/** The waiter sets of a store's instances. */
export class Waiters {
  #ended = false;

  /** True after {@link end}: live readers should finish. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Wakes everyone waiting on `inst`. */
  notify(inst: Pick<StreamInstance, "waiters">): void {
    const waiters = [...inst.waiters];
    inst.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Waits until `inst` changes, `timeoutMs` passes or `signal` aborts. */
  wait(
    inst: Pick<StreamInstance, "waiters">,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WaitResult> {
    if (this.#ended || signal?.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const done = (result: WaitResult) => {
        clearTimeout(timer);
        inst.waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const wake = () => done(this.#ended ? "aborted" : "changed");
      const onAbort = () => done("aborted");
      const timer = setTimeout(() => done("timeout"), timeoutMs);
      inst.waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Ends live reads: wakes the waiters of `insts`; later waits return at once. */
  end(insts: Iterable<Pick<StreamInstance, "waiters">>): void {
    this.#ended = true;
    for (const inst of insts) this.notify(inst);
  }
}
