/**
 * The memory journal: nothing is persisted; unit payloads stay in memory.
 * @module
 */

import type { Journal, StreamInstance, Unit } from "./model.ts";

/** Creates a journal that keeps everything in memory. */
export function createMemoryJournal(): Journal {
  const done = Promise.resolve();
  return {
    create: () => done,
    append: () => done,
    tombstone: () => done,
    drop: (inst: StreamInstance) => {
      for (const u of inst.units) u.bytes = null;
    },
    read: (_inst: StreamInstance, unit: Unit, begin: number, end: number) => {
      if (!unit.bytes) return Promise.reject(new Error("unit payload was dropped"));
      return Promise.resolve(unit.bytes.subarray(begin, end));
    },
    close: () => done,
  };
}
