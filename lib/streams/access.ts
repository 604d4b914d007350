/**
 * How stream requests map onto the permission model, and how table change feeds are named.
 * Streams are pseudo-tables `stream:<path>`: reading needs `r`, creating and appending `c`,
 * deleting `d`. A table's change feed `_changes/<table>` is read with `r` on the table itself.
 * Pure functions only.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { changeFeedPath, streamAccess } from "./access.ts";
 * ok(streamAccess("append", "orders/eu").table === "stream:orders/eu");
 * ok(streamAccess("read", "_changes/Sales.Orders").table === "sales.orders");
 * ok(changeFeedPath("main.Orders") === "_changes/orders");
 * ```
 * @module
 */

import { type Operation, streamTable } from "../permissions.ts";
import { foldCase } from "../sql/mod.ts";
import type { StreamAction } from "./handler.ts";

/** Path prefix of the server-written table change feeds. */
export const CHANGES_PREFIX = "_changes/";

const OPERATIONS: Record<StreamAction, Operation> = {
  read: "r",
  create: "c",
  append: "c",
  delete: "d",
};

/**
 * The canonical name of a table in change-feed paths: case-folded, schema `main` left out
 * (`orders`, `sales.orders`; in an attached database `archive.events`, `archive.s1.events`).
 * Accepts `name`, `schema.name` or identifier parts. A catalog part is dropped when it is
 * `mainCatalog`, or always when `mainCatalog` is not given; other catalogs are attached
 * databases. Null for temporary or system tables, which have no feed.
 */
export function feedTableName(
  table: string | readonly string[],
  mainCatalog?: string,
): string | null {
  let parts = (typeof table === "string" ? table.split(".") : [...table]).map(foldCase);
  if (parts.length === 3) {
    if (parts[0] === "temp" || parts[0] === "system") return null;
    if (mainCatalog === undefined || parts[0] === foldCase(mainCatalog)) parts = parts.slice(1);
    else if (parts[1] === "main") parts = [parts[0], parts[2]];
    else return parts.every((p) => p !== "") ? parts.join(".") : null;
  }
  if (parts.length === 2) {
    if (parts[0] === "temp" || parts[0] === "pg_temp" || parts[0] === "pg_catalog") return null;
    if (parts[0] === "main") parts = parts.slice(1);
  }
  return parts.length >= 1 && parts.length <= 2 && parts.every((p) => p !== "")
    ? parts.join(".")
    : null;
}

/** The stream path of a table's change feed (`_changes/orders`). */
export function changeFeedPath(table: string | readonly string[], mainCatalog?: string): string {
  const name = feedTableName(table, mainCatalog);
  if (name === null) throw new TypeError(`no change feed for table ${String(table)}`);
  return CHANGES_PREFIX + name;
}

/** The table a change-feed path belongs to (canonical), or null for other streams. */
export function feedTableOf(path: string): string | null {
  if (!path.startsWith(CHANGES_PREFIX)) return null;
  // Names in paths are canonical already: a three-part name is an attached database's table.
  return feedTableName(path.slice(CHANGES_PREFIX.length), "");
}

/**
 * The canonical form of a requested stream path: change-feed paths get their table part
 * case-folded (`_changes/Orders` and `_changes/orders` are one feed); other paths are unchanged.
 */
export function canonicalStreamPath(path: string): string {
  const table = feedTableOf(path);
  return table === null ? path : CHANGES_PREFIX + table;
}

/** The operation and (pseudo-)table an action on a stream path needs. */
export function streamAccess(
  action: StreamAction,
  path: string,
): { operation: Operation; table: string } {
  const table = action === "read" ? feedTableOf(path) : null;
  if (table !== null) return { operation: "r", table };
  return { operation: OPERATIONS[action], table: streamTable(path) };
}
