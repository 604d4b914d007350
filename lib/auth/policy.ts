/**
 * The permission model as pure functions: operations, table names compared the way DuckDB
 * resolves identifiers, and a role's grants compiled into a {@link RolePolicy} that answers
 * {@link can} with one or two map lookups.
 *
 * - Operations: `c` create, `r` read, `u` update, `d` delete, `q` query (raw SQL).
 * - A grant names a table (`reports`, `sales.orders`) or `*` (every table). Names are
 *   case-insensitive; an unqualified name means schema `main`, so `reports`, `MAIN.Reports` and
 *   `"reports"` are one table.
 * - Grants add up: a role may do an operation on a table when any of its grants for that table
 *   or for `*` includes it. There are no deny rules.
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

import { AuthInputError } from "./keys.ts";

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

/**
 * Parses an operation list: letters (`crud`, `rq`), comma-separated letters or words
 * (`r,q`, `read,query`), or `all`. Returns the operations in display order.
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

/** Lowercases ASCII letters only, as DuckDB compares identifiers. */
export function foldCase(name: string): string {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/**
 * Splits a dotted table name into its identifiers, honouring double quotes (`"my.table"` is one
 * identifier, `""` is a quote inside one). Unquoted parts may hold any character but `.` and `"`
 * (a URL may name the table `odd name`). Returns null when the text is not a name.
 */
export function splitName(text: string): string[] | null {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  if (s === "") return null;
  while (i <= s.length) {
    let part = "";
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return null;
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += s[i++];
      }
    } else {
      const start = i;
      while (i < s.length && s[i] !== ".") {
        if (s[i] === '"') return null;
        i++;
      }
      part = s.slice(start, i);
    }
    if (part === "") return null;
    parts.push(part);
    if (i >= s.length) break;
    if (s[i] !== ".") return null;
    i++;
    if (i >= s.length) return null;
  }
  return parts;
}

function quotePart(part: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(part) ? part : `"${part.replaceAll('"', '""')}"`;
}

/**
 * The canonical key of a table for permission checks: identifiers case-folded, schema `main`
 * made explicit (`main.reports`, `sales.orders`). Three-part names keep their catalog
 * (`memory.main.reports`); pass `mainCatalog` to fold the main database's own catalog away.
 */
export function tableKeyOf(parts: readonly string[], mainCatalog?: string): string {
  let folded = parts.map(foldCase);
  if (folded.length === 3 && mainCatalog !== undefined && folded[0] === foldCase(mainCatalog)) {
    folded = folded.slice(1);
  }
  if (folded.length === 1) folded = ["main", folded[0]];
  return folded.map(quotePart).join(".");
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

/**
 * Parses the table of a grant: `*`, `table` or `schema.table`. Returns the canonical key
 * (`*`, `main.reports`); throws {@link AuthInputError} otherwise.
 */
export function parseGrantTable(text: string): string {
  const trimmed = text.trim();
  if (trimmed === ALL_TABLES) return ALL_TABLES;
  const parts = splitName(trimmed);
  if (!parts || parts.length > 2) {
    throw new AuthInputError(
      `invalid table "${text}": expected *, a table name, or schema.table`,
    );
  }
  if (parts.some((p) => p === "*")) {
    throw new AuthInputError(
      `invalid table "${text}": only a lone * (every table) is a wildcard`,
    );
  }
  return tableKeyOf(parts);
}

/** How a table key is shown: `*`, `reports` (schema main implied) or `sales.orders`. */
export function displayTable(key: string): string {
  const parts = splitName(key);
  return parts?.length === 2 && parts[0] === "main" ? quotePart(parts[1]) : key;
}

/** One grant of a role. */
export interface Grant {
  /** `*` or a table name (any accepted spelling). */
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
  /** Every operation granted anywhere. */
  readonly anywhere: ReadonlySet<Operation>;
}

/** Compiles a role's grants; grants for the same table add up. */
export function compilePolicy(grants: Iterable<Grant>): RolePolicy {
  const everywhere = new Set<Operation>();
  const tables = new Map<string, Set<Operation>>();
  const anywhere = new Set<Operation>();
  for (const grant of grants) {
    const ops = typeof grant.operations === "string"
      ? parseOperations(grant.operations)
      : [...grant.operations];
    const key = parseGrantTable(grant.table);
    const target = key === ALL_TABLES
      ? everywhere
      : tables.get(key) ?? tables.set(key, new Set()).get(key)!;
    for (const op of ops) {
      target.add(op);
      anywhere.add(op);
    }
  }
  return { everywhere, tables, anywhere };
}

/** True when the policy allows `operation` on the table with canonical key `key`. */
export function can(policy: RolePolicy, operation: Operation, key: string): boolean {
  return policy.everywhere.has(operation) || (policy.tables.get(key)?.has(operation) ?? false);
}

/** True when the policy holds every operation on `*` (the default `admin`). */
export function isUnrestricted(policy: RolePolicy): boolean {
  return OPERATIONS.every((op) => policy.everywhere.has(op));
}

/** True when the policy may query and read every table (`q` and `r` on `*`). */
export function readsEverything(policy: RolePolicy): boolean {
  return policy.everywhere.has("q") && policy.everywhere.has("r");
}
