/**
 * Turns among writers: work queued under one key runs one at a time, in the order it asked, each
 * waiting under its request's guard (query timeout, client disconnect). The change feed uses one
 * turn per table, so a table's events are appended in commit order.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { createTurns } from "./table_turns.ts";
 * const turns = createTurns();
 * const guard = { deadline: Infinity, timeoutMs: 0 };
 * const order: number[] = [];
 * const slow = turns.inTurn("t", guard, async () => {
 *   await new Promise((r) => setTimeout(r, 10));
 *   order.push(1);
 * });
 * const fast = turns.inTurn("t", guard, async () => void order.push(2));
 * await Promise.all([slow, fast]);
 * deepEqual(order, [1, 2]);
 * ```
 * @module
 */

import { awaitUnderGuard, type Guard } from "../db/run.ts";

/** Work that takes turns per key. */
export interface Turns {
  /**
   * Runs `work` once the work that took turn `key` before it is done (waiting under the guard);
   * the next work with that key waits until `work` settles.
   */
  inTurn<T>(key: string, guard: Guard, work: () => Promise<T>): Promise<T>;
}

/** The key of a table's turn among writers: its identity as DuckDB matches names. */
export function turnKey(
  table: { database?: string | null; schema?: string; name: string },
): string {
  return `${table.database ?? ""}\0${table.schema ?? "main"}\0${table.name}`.toLowerCase();
}

/** Creates an empty set of turns. */
export function createTurns(): Turns {
  /** Per key, the end of the last work's turn. */
  const turns = new Map<string, Promise<void>>();
  return {
    async inTurn(key, guard, work) {
      const previous = turns.get(key);
      const mine = Promise.withResolvers<void>();
      const tail = previous ? previous.then(() => mine.promise) : mine.promise;
      turns.set(key, tail);
      try {
        if (previous) await awaitUnderGuard(previous, guard);
        return await work();
      } finally {
        mine.resolve();
        tail.then(() => turns.get(key) === tail && turns.delete(key));
      }
    },
  };
}
