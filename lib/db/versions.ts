/**
 * The data version of a database: a counter bumped after every statement that may have changed
 * data (every write through CRUD, every raw SQL statement but a plain SELECT), whether it succeeded
 * or not. Caches tag what they store with the version read before the read began and serve it only
 * while the version is unchanged, so a cached answer is never older than the last write.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { bumpDataVersion, dataVersion } from "./versions.ts";
 * const db = {};
 * const before = dataVersion(db);
 * bumpDataVersion(db);
 * equal(dataVersion(db), before + 1);
 * ```
 * @module
 */

const VERSIONS = new WeakMap<object, { value: number }>();

function counter(owner: object): { value: number } {
  let entry = VERSIONS.get(owner);
  if (!entry) VERSIONS.set(owner, entry = { value: 0 });
  return entry;
}

/** The current data version of the database behind `owner` (its connection pool). */
export function dataVersion(owner: object): number {
  return counter(owner).value;
}

/** Marks that data may have changed; call it after the write has ended (committed or not). */
export function bumpDataVersion(owner: object): void {
  counter(owner).value++;
}
