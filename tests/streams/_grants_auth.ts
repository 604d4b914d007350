// A key-and-grants Auth that records every authorize() call, for tests that check which
// operation the streams mount asks for (the real key store is tested with startAuthServer, e.g.
// tests/streams_auth_test.ts). Keys map to grants { table or "stream:<glob>" or "*": operations }.
import { ApiError } from "../../lib/errors.ts";
import type { Auth, Operation, Principal } from "../../lib/auth/mod.ts";
import { isStreamTable } from "../../lib/permissions.ts";
import { matchesStreamGrant } from "../../lib/auth/stream_grants.ts";

/** Grants per API key: `{ "key-a": { "stream:orders/*": "rc", "orders": "r" } }`. */
export type KeyGrants = Record<string, Record<string, string>>;

function covers(grant: string, table: string): boolean {
  if (grant === "*") return true;
  if (isStreamTable(table)) return matchesStreamGrant(grant, table.slice("stream:".length));
  return grant.toLowerCase() === table.toLowerCase();
}

/** An Auth that knows `keys`; calls are counted in `calls`. */
export function createGrantsAuth(keys: KeyGrants): Auth & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    authenticate(request) {
      const key = request.headers.get("x-api-key");
      if (key === null || !(key in keys)) throw new ApiError("unauthorized");
      return { keyId: key, role: key };
    },
    authorize(principal: Principal, operation: Operation, table: string) {
      calls.push(`${principal.keyId} ${operation} ${table}`);
      const grants = keys[principal.keyId] ?? {};
      const ok = Object.entries(grants).some(([g, ops]) =>
        covers(g, table) && ops.includes(operation)
      );
      if (!ok) throw new ApiError("forbidden", `no ${operation} on ${table}`);
    },
    authorizeSql: () => Promise.resolve(),
    authorizeStatement: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
