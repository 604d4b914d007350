/**
 * A small, real implementation of the {@link Auth} seam with keys and grants fixed in code, for
 * tests of endpoints whose answers depend on the caller's role (schema endpoints, the OpenAPI
 * document, the docs page) until the key store of the auth module is merged. It honours the same
 * contract: `X-API-Key` or `Authorization: Bearer`, 401 `unauthorized` with `WWW-Authenticate`,
 * 403 `forbidden` naming the operation and table, `*` for every table.
 * @module
 */

import { ApiError } from "../lib/errors.ts";
import type { Auth, Operation, Principal } from "../lib/auth/mod.ts";

/** Grants of a role: table (or `*`) to operations such as `"rq"`. */
export type Grants = Record<string, string>;

/** An Auth accepting `keys` (key to role) with `roles` (role to grants). */
export function fixedAuth(keys: Record<string, string>, roles: Record<string, Grants>): Auth {
  return {
    authenticate(request) {
      const bearer = /^bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "");
      const key = request.headers.get("x-api-key") ?? bearer?.[1]?.trim() ?? null;
      const role = key === null ? undefined : keys[key];
      if (!role) {
        throw new ApiError("unauthorized", "Missing or invalid X-API-Key header", {
          headers: { "www-authenticate": 'Bearer realm="duckserve"' },
        });
      }
      return { keyId: key!.slice(0, 6), role } satisfies Principal;
    },
    authorize(principal: Principal, operation: Operation, table: string) {
      const grants = roles[principal.role] ?? {};
      const ops = (grants[table] ?? "") + (grants["*"] ?? "");
      if (!ops.includes(operation)) {
        throw new ApiError("forbidden", `The role may not do "${operation}" on "${table}".`);
      }
    },
    authorizeSql: () => Promise.resolve(),
    authorizeStatement: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
