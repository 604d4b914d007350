/**
 * Tenants by `Host`: an attached database whose `hosts` name the request's host (port left out,
 * case ignored) is the request's default catalog: `/api/orders` means `{db}.orders` and raw SQL
 * runs with it as the current database. The request is counted under the tenant's label (the
 * access log's `tenant`, `duckserve_tenant_requests_total`) and, when the entry has a
 * `rate_limit`, takes a token of the tenant's own bucket (shared by all its clients; 429
 * `rate_limited` with scope `tenant`). Probes, metrics and the admin endpoints are exempt from
 * the limit.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hostName, qualifyTable } from "./tenants.ts";
 * equal(hostName("Shop.Example:8443"), "shop.example");
 * equal(hostName("[::1]:80"), "[::1]");
 * const known = (n: string) => n === "other";
 * equal(qualifyTable("orders", "acme", known), "acme.orders");
 * equal(qualifyTable("s1.orders", "acme", known), "acme.s1.orders");
 * equal(qualifyTable("other.orders", "acme", known), "other.orders");
 * equal(qualifyTable("orders", null, known), "orders");
 * ```
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { DatabaseSpec } from "../config_databases.ts";
import { defaultBurst, type Ops } from "../ops/mod.ts";
import { splitNameAsWritten } from "../sql/mod.ts";
import { parseRate } from "../units.ts";
import type { AppContext, AppEnv } from "./context.ts";
import { applyDecision } from "./ops.ts";

/** The host of a `Host` header value: lower case, without the port. */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith("[")) return lower.slice(0, lower.indexOf("]") + 1);
  const colon = lower.indexOf(":");
  return colon < 0 ? lower : lower.slice(0, colon);
}

/** The attached database whose `hosts` name `host`, with its entry; null when none does. */
export function tenantOf(
  databases: ReadonlyMap<string, DatabaseSpec>,
  host: string,
): [string, DatabaseSpec] | null {
  if (databases.size === 0) return null;
  const name = hostName(host);
  for (const entry of databases) if (entry[1].hosts.includes(name)) return entry;
  return null;
}

/**
 * A table name as a tenant's request means it: names that do not start with an attached
 * database (`isDatabase`) are looked up in the tenant's database `tenant`.
 */
export function qualifyTable(
  text: string,
  tenant: string | null,
  isDatabase: (name: string) => boolean,
): string {
  if (tenant === null || text === "") return text;
  const parts = splitNameAsWritten(text);
  if (parts && parts.length >= 2 && !parts[0].quoted && isDatabase(parts[0].value)) return text;
  return `${tenant}.${text}`;
}

/** A table named in a request, as the request's tenant (if any) means it. */
export function tenantTable(ctx: AppContext, c: Context<AppEnv>, text: string): string {
  const tenant = c.get("database") ?? null;
  if (tenant === null) return text;
  const names = [...ctx.engine.databases.keys()].map((n) => n.toLowerCase());
  return qualifyTable(text, tenant, (name) => names.includes(name.toLowerCase()));
}

/**
 * Selects the request's tenant by its `Host` (`c.var.database`), labels its record, and applies
 * the tenant's `rate_limit` unless `exempt` says the path is exempt.
 */
export function selectTenant(
  databases: ReadonlyMap<string, DatabaseSpec>,
  ops: Ops,
  exempt: (path: string) => boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const tenant = tenantOf(databases, c.req.header("host") ?? new URL(c.req.url).host);
    if (!tenant) return await next();
    const [name, spec] = tenant;
    c.set("database", name);
    const record = c.get("record");
    if (record) record.tenant = name;
    const rate = spec.rate_limit === null ? null : parseRate(spec.rate_limit);
    if (rate === null || exempt(c.req.path)) return await next();
    const decision = ops.limiter.take(`tenant:${name}`, { rate, burst: defaultBurst(rate) });
    await applyDecision(c, ops, "tenant", decision, next);
  };
}
