/**
 * The vocabulary of the permission model, shared by every feature that asks for a permission
 * (a leaf: it imports nothing). The decisions themselves are the auth stage's (`lib/auth/`);
 * features that check permissions (streams, `read_stream()`) are handed an {@link Authorizer}
 * by the server's wiring instead of importing auth.
 *
 * - Operations: `c` create, `r` read, `u` update, `d` delete, `q` query (raw SQL).
 * - Permissions are asked for on a table name (`orders`, `sales.orders`), on `*` (every table),
 *   or on a Durable Stream's pseudo-table `stream:<path>`.
 *
 * @example
 * ```ts
 * import { deepEqual, equal, ok } from "node:assert/strict";
 * import { formatOperations, isStreamTable, parseOperations, streamTable } from "./permissions.ts";
 * deepEqual(parseOperations("read,query"), ["r", "q"]);
 * equal(formatOperations(["q", "c"]), "cq");
 * ok(isStreamTable(streamTable("orders/eu")));
 * ```
 * @module
 */

/** Operations of the permission model: create, read, update, delete, raw query. */
export type Operation = "c" | "r" | "u" | "d" | "q";

/** Every operation, in display order. */
export const OPERATIONS: readonly Operation[] = ["c", "r", "u", "d", "q"];

/** The word for each operation, as used in 403 messages (`READ operation`). */
export const OPERATION_NAMES: Record<Operation, string> = {
  c: "create",
  r: "read",
  u: "update",
  d: "delete",
  q: "query",
};

/** The table name of a grant that covers every table. */
export const ALL_TABLES = "*";

/** The table-name prefix of stream pseudo-tables (`stream:orders/eu`) and stream grants. */
export const STREAM_GRANT_PREFIX = "stream:";

/** True when a grant's (or an authorization call's) table names a stream: `stream:…`. */
export function isStreamTable(table: string): boolean {
  return table.startsWith(STREAM_GRANT_PREFIX);
}

/** The pseudo-table permissions on the stream at `path` are asked for: `stream:<path>`. */
export function streamTable(path: string): string {
  return STREAM_GRANT_PREFIX + path;
}

/** A user-facing validation failure of auth input (the CLI prints its message as is). */
export class AuthInputError extends Error {
  override name = "AuthInputError";
}

/**
 * Parses an operation list: letters (`crud`, `rq`), comma-separated letters or words
 * (`r,q`, `read,query`), or `all`. Returns the operations in display order; throws
 * {@link AuthInputError} for anything else.
 */
export function parseOperations(text: string): Operation[] {
  const found = new Set<Operation>();
  const parts = text.toLowerCase().split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0) {
    throw new AuthInputError('no operations given: use letters of "crudq", words, or "all"');
  }
  for (const part of parts) {
    if (part === "all") {
      for (const op of OPERATIONS) found.add(op);
      continue;
    }
    const word = OPERATIONS.find((op) => OPERATION_NAMES[op] === part);
    if (word) {
      found.add(word);
      continue;
    }
    if (/^[crudq]+$/.test(part)) {
      for (const letter of part) found.add(letter as Operation);
      continue;
    }
    throw new AuthInputError(
      `unknown operation "${part}": use c, r, u, d, q (create, read, update, delete, query) or all`,
    );
  }
  return OPERATIONS.filter((op) => found.has(op));
}

/** Operations as a compact string in display order (`crudq`, `rq`). */
export function formatOperations(operations: Iterable<Operation>): string {
  const set = new Set(operations);
  return OPERATIONS.filter((op) => set.has(op)).join("");
}

/** An authenticated caller. */
export interface Principal {
  /** Non-secret key id (or `anonymous` when auth is off). */
  readonly keyId: string;
  readonly role: string;
  /** The role's rate limit per key: tokens per second and bucket size (absent: none). */
  readonly rateLimit?: { readonly rate: number; readonly burst: number } | null;
}

/**
 * The one permission check a feature outside `lib/auth` is given (the server passes its auth
 * stage): throws an `ApiError` with status 403 (`forbidden`) when `principal` may not do
 * `operation` on `table` (a table name as the client wrote it, or `stream:<path>`).
 */
export interface Authorizer {
  /** Throws 403 `forbidden` unless `principal` may do `operation` on `table`. */
  authorize(principal: Principal, operation: Operation, table: string): void;
}
