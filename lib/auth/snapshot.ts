/**
 * The in-memory view of the auth store the server answers requests from: keys by digest (one
 * hash, one map access per request) and each role's compiled policy. Built from the store's
 * rows by a pure function and swapped as a whole on reload.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { buildSnapshot } from "./snapshot.ts";
 * const snapshot = buildSnapshot({
 *   roles: [{ name: "reader", description: null }],
 *   keys: [{ keyId: "abcd2345", hash: "ff", role: "reader", description: null, createdAt: 0, expiresAt: null, active: true }],
 *   permissions: [{ role: "reader", table: "*", operations: ["r"] }],
 * });
 * ok(snapshot.keys.get("ff")?.principal.role === "reader");
 * ok(snapshot.roles.get("reader")?.everywhere.has("r"));
 * ```
 * @module
 */

import type { Operation, Principal } from "../permissions.ts";
import { parseRate } from "../units.ts";
import {
  checkGrantOperations,
  compilePolicy,
  type Grant,
  parseGrantTable,
  type RolePolicy,
} from "./policy.ts";
import type { AuthData } from "./store.ts";

/** A key as the request path sees it. */
export interface KeyEntry {
  readonly hash: string;
  readonly principal: Principal;
  /** Epoch milliseconds, or null for never. */
  readonly expiresAt: number | null;
  readonly active: boolean;
}

/** Everything the request path consults, immutable once built. */
export interface AuthSnapshot {
  readonly keys: ReadonlyMap<string, KeyEntry>;
  readonly roles: ReadonlyMap<string, RolePolicy>;
}

/**
 * Compiles the store's rows. Keys of roles that no longer exist are left out (they
 * authenticate as unknown); grants with unreadable table names are skipped.
 */
export function buildSnapshot(data: AuthData): AuthSnapshot {
  const grants = new Map<string, Grant[]>();
  for (const p of data.permissions) {
    // A grant the policy cannot use (no operations, a malformed table) is skipped, not fatal.
    if (!usableGrant(p)) continue;
    const list = grants.get(p.role) ?? grants.set(p.role, []).get(p.role)!;
    list.push({ table: p.table, operations: p.operations });
  }
  const roles = new Map<string, RolePolicy>();
  const limits = new Map<string, { rate: number; burst: number } | null>();
  for (const role of data.roles) {
    roles.set(role.name, compilePolicy(grants.get(role.name) ?? []));
    const rate = role.rateLimit ? parseRate(role.rateLimit) : null;
    limits.set(
      role.name,
      rate === null ? null : {
        rate,
        burst: role.rateBurst ?? Math.max(1, Math.ceil(rate)),
      },
    );
  }
  const keys = new Map<string, KeyEntry>();
  for (const key of data.keys) {
    if (!roles.has(key.role)) continue;
    const rateLimit = limits.get(key.role) ?? null;
    keys.set(key.hash, {
      hash: key.hash,
      principal: Object.freeze(
        rateLimit ? { keyId: key.keyId, role: key.role, rateLimit } : {
          keyId: key.keyId,
          role: key.role,
        },
      ),
      expiresAt: key.expiresAt,
      active: key.active,
    });
  }
  return { keys, roles };
}

function usableGrant(grant: { table: string; operations: readonly Operation[] }): boolean {
  if (grant.operations.length === 0) return false;
  try {
    checkGrantOperations(parseGrantTable(grant.table), grant.operations);
    return true;
  } catch {
    return false;
  }
}
