/**
 * Data versions of a database: counters bumped after every statement that may have changed data,
 * whether it succeeded or not. Caches and validators tag what they produce with a version read
 * before the read began and trust it only while the version is unchanged, so nothing is ever
 * older than the last write.
 *
 * - {@link dataVersion}: the whole database; moves with every write (the answer cache's tag).
 * - {@link tableVersion}: one table; moves with writes to that table and with every write whose
 *   tables are not known ({@link bumpDataVersion}), so a write to another table leaves it alone.
 *   Tables are keyed by their name folded to lower case, without schema: a write to `s1.t` also
 *   moves `s2.t` (conservative: an unqualified name may resolve to either).
 *
 * @example
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { bumpDataVersion, bumpTableVersions, dataVersion, tableVersion } from "./versions.ts";
 * const db = {};
 * const before = dataVersion(db);
 * const orders = tableVersion(db, "orders");
 * bumpTableVersions(db, ["Users"]);
 * equal(dataVersion(db), before + 1);
 * equal(tableVersion(db, "orders"), orders); // another table
 * notEqual(tableVersion(db, ["main", "users"]), "0.0");
 * bumpDataVersion(db); // tables unknown: every table moves
 * notEqual(tableVersion(db, "orders"), orders);
 * ```
 * @module
 */

interface Versions {
  /** Every bump. */
  total: number;
  /** Bumps of every table at once (tables unknown). */
  epoch: number;
  /** Per table key, its own bumps. */
  tables: Map<string, number>;
}

const VERSIONS = new WeakMap<object, Versions>();

function versionsOf(owner: object): Versions {
  let entry = VERSIONS.get(owner);
  if (!entry) VERSIONS.set(owner, entry = { total: 0, epoch: 0, tables: new Map() });
  return entry;
}

/**
 * The key of a table: its bare name (a string), or the last of its name's parts as written
 * (`["main", "t"]`), in lower case.
 */
export function tableVersionKey(name: string | readonly string[]): string {
  return (typeof name === "string" ? name : name.at(-1)!).toLowerCase();
}

/** The current data version of the database behind `owner` (its connection pool). */
export function dataVersion(owner: object): number {
  return versionsOf(owner).total;
}

/**
 * The data version of one table of the database behind `owner`, as text (`epoch.count`): it
 * changes with every write to the table and every write whose tables are unknown.
 */
export function tableVersion(owner: object, table: string | readonly string[]): string {
  const versions = versionsOf(owner);
  return `${versions.epoch}.${versions.tables.get(tableVersionKey(table)) ?? 0}`;
}

/** Marks that any data may have changed; call it after the write has ended (committed or not). */
export function bumpDataVersion(owner: object): void {
  const versions = versionsOf(owner);
  versions.total++;
  versions.epoch++;
}

/**
 * Marks that the data of `tables` (names as written, or their parts) may have changed; call it
 * after the write has ended, committed or not.
 */
export function bumpTableVersions(
  owner: object,
  tables: readonly (string | readonly string[])[],
): void {
  const versions = versionsOf(owner);
  versions.total++;
  for (const table of tables) {
    const key = tableVersionKey(table);
    versions.tables.set(key, (versions.tables.get(key) ?? 0) + 1);
  }
}
