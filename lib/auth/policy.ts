/**
 * The permission model as pure functions: table names compared the way DuckDB resolves
 * identifiers, and a role's grants compiled into a {@link RolePolicy} that answers {@link can}
 * with one or two map lookups. The operations themselves are `lib/permissions.ts`.
 *
 * - Operations: `c` create, `r` read, `u` update, `d` delete, `q` query (raw SQL).
 * - A grant names a table (`reports`, `sales.orders`) or `*` (every table). Names are
 *   case-insensitive; an unqualified name means schema `main`, so `reports`, `MAIN.Reports` and
 *   `"reports"` are one table.
 * - Grants add up: a role may do an operation on a table when any of its grants for that table
 *   or for `*` includes it. There are no deny rules.
 * - A grant on `stream:<name or glob>` covers Durable Streams (`r` read, `c` create and append,
 *   `d` delete; see `stream_grants.ts`). It is kept as written: stream paths are case-sensitive
 *   and may hold dots. A grant on `*` covers streams too.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { can, compilePolicy, tableKey } from "./policy.ts";
 * const policy = compilePolicy([
 *   { table: "reports", operations: "rq" },
 *   { table: "*", operations: "r" },
 * ]);
 * ok(can(policy, "q", tableKey("Main.REPORTS")));
 * ok(can(policy, "r", tableKey("sales.orders")) && !can(policy, "q", tableKey("orders")));
 * ```
 * @module
 */

import {
  ALL_TABLES,
  AuthInputError,
  isStreamTable,
  type Operation,
  OPERATIONS,
  parseOperations,
  STREAM_GRANT_PREFIX,
} from "../permissions.ts";
import { foldCase, splitName } from "../sql/mod.ts";
import { matchesStreamGrant, parseStreamGrant, STREAM_OPERATIONS } from "./stream_grants.ts";

function quotePart(part: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(part) ? part : `"${part.replaceAll('"', '""')}"`;
}

/**
 * The canonical key of a table for permission checks: identifiers case-folded, schema `main`
 * made explicit (`main.reports`, `sales.orders`). Three-part names keep their catalog
 * (`archive.s1.events`, `archive.main.events`: {@link can} also finds the grant on
 * `archive.events`, as requests name it); pass `mainCatalog` to fold the main database's own
 * catalog away.
 */
export function tableKeyOf(parts: readonly string[], mainCatalog?: string): string {
  let folded = parts.map(foldCase);
  if (folded.length === 3 && mainCatalog !== undefined && folded[0] === foldCase(mainCatalog)) {
    folded = folded.slice(1);
  }
  if (folded.length === 1) folded = ["main", folded[0]];
  return folded.map(quotePart).join(".");
}

/** A grant's key: like {@link tableKeyOf}, with the schema `main` of `db.main.table` dropped. */
function grantKeyOf(parts: readonly string[]): string {
  return tableKeyOf(
    parts.length === 3 && foldCase(parts[1]) === "main" ? [parts[0], parts[2]] : parts,
  );
}

/**
 * The key of a table named in a request (`orders`, `Sales.Orders`, `"odd.name"`); `*` here is
 * a table literally called `*`. Throws {@link AuthInputError} when it is not a table name.
 */
export function tableKey(name: string, mainCatalog?: string): string {
  const parts = splitName(name);
  if (!parts || parts.length > 3) throw new AuthInputError(`invalid table name "${name}"`);
  return tableKeyOf(parts, mainCatalog);
}

/** The suffix of a grant on every table under a prefix (`sales.*`, `archive.s1.*`). */
const PREFIX_GLOB = ".*";

/**
 * Parses the table of a grant: `*`, `table`, `schema.table`, `db.table`, `db.schema.table`,
 * `prefix.*` (every table of the attached database or main-database schema `prefix`, or of
 * `db.schema.*`) or `stream:<name or glob>`. Returns the canonical key (`*`, `main.reports`,
 * `sales.*`; a stream grant unchanged); throws {@link AuthInputError} otherwise.
 */
export function parseGrantTable(text: string): string {
  if (isStreamTable(text)) {
    try {
      return parseStreamGrant(text);
    } catch (err) {
      throw new AuthInputError(err instanceof Error ? err.message : String(err));
    }
  }
  const trimmed = text.trim();
  if (trimmed === ALL_TABLES) return ALL_TABLES;
  const parts = splitName(trimmed);
  if (!parts || parts.length > 3) {
    throw new AuthInputError(
      `invalid table "${text}": expected *, a table name, schema.table or db.schema.table`,
    );
  }
  if (parts.length >= 2 && parts.length <= 3 && trimmed.endsWith(PREFIX_GLOB)) {
    const prefix = parts.slice(0, -1);
    if (prefix.some((p) => p === "*")) {
      throw new AuthInputError(`invalid table "${text}": only the last part may be *`);
    }
    return prefix.map(foldCase).map(quotePart).join(".") + PREFIX_GLOB;
  }
  if (parts.some((p) => p === "*")) {
    throw new AuthInputError(
      `invalid table "${text}": only a lone * (every table) is a wildcard`,
    );
  }
  return grantKeyOf(parts);
}

/**
 * Throws {@link AuthInputError} when `operations` do not apply to the grant's table: streams take
 * `r`, `c` and `d` only.
 */
export function checkGrantOperations(key: string, operations: Iterable<Operation>): void {
  if (!isStreamTable(key)) return;
  const wrong = [...operations].filter((op) => !STREAM_OPERATIONS.includes(op));
  if (wrong.length > 0) {
    throw new AuthInputError(
      `stream grants take r (read), c (create and append) and d (delete); not ${
        wrong.join(",")
      } on ${key}`,
    );
  }
}

/**
 * How a table key is shown: `*`, `reports` (schema main implied), `sales.orders`, or a stream
 * grant as written.
 */
export function displayTable(key: string): string {
  if (isStreamTable(key)) return key;
  const parts = splitName(key);
  return parts?.length === 2 && parts[0] === "main" ? quotePart(parts[1]) : key;
}

/** One grant of a role. */
export interface Grant {
  /** `*`, a table name (any accepted spelling) or `stream:<name or glob>`. */
  table: string;
  /** Operations, e.g. `rq` or `crud`. */
  operations: string | Iterable<Operation>;
}

/** A role's grants, compiled for lookups. */
export interface RolePolicy {
  /** Operations granted on `*`. */
  readonly everywhere: ReadonlySet<Operation>;
  /** Operations granted per table key (not including those on `*`). */
  readonly tables: ReadonlyMap<string, ReadonlySet<Operation>>;
  /** Operations granted per prefix of table keys (`sales` for the grant `sales.*`). */
  readonly prefixes: ReadonlyMap<string, ReadonlySet<Operation>>;
  /** Operations granted per stream grant (`stream:<glob>`, as written). */
  readonly streams: ReadonlyMap<string, ReadonlySet<Operation>>;
  /** Every operation granted anywhere. */
  readonly anywhere: ReadonlySet<Operation>;
}

/** Compiles a role's grants; grants for the same table (or stream glob) add up. */
export function compilePolicy(grants: Iterable<Grant>): RolePolicy {
  const everywhere = new Set<Operation>();
  const tables = new Map<string, Set<Operation>>();
  const streams = new Map<string, Set<Operation>>();
  const prefixes = new Map<string, Set<Operation>>();
  const anywhere = new Set<Operation>();
  for (const grant of grants) {
    const ops = typeof grant.operations === "string"
      ? parseOperations(grant.operations)
      : [...grant.operations];
    const key = parseGrantTable(grant.table);
    checkGrantOperations(key, ops);
    const glob = !isStreamTable(key) && key.endsWith(PREFIX_GLOB);
    const map = isStreamTable(key) ? streams : glob ? prefixes : tables;
    const entry = glob ? key.slice(0, -PREFIX_GLOB.length) : key;
    const target = key === ALL_TABLES
      ? everywhere
      : map.get(entry) ?? map.set(entry, new Set()).get(entry)!;
    for (const op of ops) {
      target.add(op);
      anywhere.add(op);
    }
  }
  return { everywhere, tables, prefixes, streams, anywhere };
}

/** True when the policy allows `operation` on the table with canonical key `key`. */
export function can(policy: RolePolicy, operation: Operation, key: string): boolean {
  if (policy.everywhere.has(operation) || policy.tables.get(key)?.has(operation)) return true;
  const parts = splitName(key);
  if (parts?.length === 3 && parts[1] === "main") {
    if (policy.tables.get(grantKeyOf(parts))?.has(operation)) return true;
  }
  if (policy.prefixes.size === 0) return false;
  for (let n = 1; parts && n < parts.length; n++) {
    const prefix = parts.slice(0, n).map(quotePart).join(".");
    if (policy.prefixes.get(prefix)?.has(operation)) return true;
  }
  return false;
}

/**
 * True when the policy allows `operation` on the stream at `path` (relative to
 * `streams_prefix`, e.g. `orders/eu`): its grant on `*` or any matching stream grant has it.
 */
export function canStream(policy: RolePolicy, operation: Operation, path: string): boolean {
  if (policy.everywhere.has(operation)) return true;
  for (const [grant, ops] of policy.streams) {
    if (ops.has(operation) && matchesStreamGrant(grant, path)) return true;
  }
  return false;
}

/** The stream path named by an authorization table `stream:<path>`, or null for tables. */
export function streamPathOf(table: string): string | null {
  return isStreamTable(table) ? table.slice(STREAM_GRANT_PREFIX.length) : null;
}

/** True when the policy holds every operation on `*` (the default `admin`). */
export function isUnrestricted(policy: RolePolicy): boolean {
  return OPERATIONS.every((op) => policy.everywhere.has(op));
}

/** True when the policy may query and read every table (`q` and `r` on `*`). */
export function readsEverything(policy: RolePolicy): boolean {
  return policy.everywhere.has("q") && policy.everywhere.has("r");
}
