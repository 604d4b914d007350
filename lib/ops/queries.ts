/**
 * The running queries: every request that runs a statement registers here while it runs (from
 * its first statement to its answer's last byte) under its request id, with its key, route, start
 * time, SQL (as `log_sql` shows it), rows sent so far and DuckDB's progress, and a way to cancel
 * it. `GET {prefix}/queries` lists them, `DELETE {prefix}/queries/{request_id}` cancels one, and
 * the dashboard shows them. Registering is a `Map` insert; nothing is computed until listed.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createQueryRegistry } from "./queries.ts";
 * const registry = createQueryRegistry();
 * let canceled = false;
 * const done = registry.add({
 *   requestId: "r1", keyId: "k1", role: "reader", route: "/duckdb/query", kind: "raw",
 *   time: Date.now(), started: performance.now(), sql: () => "SELECT 1",
 *   rows: () => 0, progress: () => null, cancel: () => canceled = true,
 * });
 * equal(registry.list().length, 1);
 * equal(registry.find("r1").length, 1);
 * registry.find("r1")[0].cancel();
 * equal(canceled, true);
 * done();
 * equal(registry.list().length, 0);
 * ```
 * @module
 */

import type { QueryKind } from "../events.ts";

/** One running query, as its request registered it. */
export interface RunningQuery {
  readonly requestId: string;
  /** The key's id and role (null when auth is off). */
  readonly keyId: string | null;
  readonly role: string | null;
  /** The route pattern (`/duckdb/query`). */
  readonly route: string;
  readonly kind: QueryKind;
  /** Epoch milliseconds when the query started. */
  readonly time: number;
  /** `performance.now()` when the query started. */
  readonly started: number;
  /** The SQL as `log_sql` shows it (null: not shown, or a table route). */
  sql(): string | null;
  /** Rows sent so far, when known. */
  rows(): number | null;
  /** DuckDB's progress `0..1`, or null where DuckDB does not report it. */
  progress(): number | null;
  /** Interrupts the query; the request answers `query_canceled`. */
  cancel(): void;
  /** True once {@link cancel} was called. */
  canceled?: boolean;
}

/** A running query as `GET {prefix}/queries` lists it. */
export interface QueryView {
  request_id: string;
  key_id: string | null;
  role: string | null;
  route: string;
  kind: QueryKind;
  /** RFC 3339 start time. */
  started_at: string;
  /** Seconds since the start. */
  elapsed: number;
  sql: string | null;
  rows: number | null;
  progress: number | null;
  canceled: boolean;
}

/** The registry of running queries. */
export interface QueryRegistry {
  /** Registers `query`; returns the function that removes it (idempotent). */
  add(query: RunningQuery): () => void;
  /** The running queries, oldest first. */
  list(): RunningQuery[];
  /** The running queries of `requestId` (a client may reuse an id: several). */
  find(requestId: string): RunningQuery[];
  /** How many are running. */
  readonly size: number;
}

/** Creates an empty registry. */
export function createQueryRegistry(): QueryRegistry {
  const running = new Set<RunningQuery>();
  return {
    add(query) {
      running.add(query);
      return () => void running.delete(query);
    },
    list: () => [...running],
    find: (requestId) => [...running].filter((q) => q.requestId === requestId),
    get size() {
      return running.size;
    },
  };
}

/** The listed form of `query` at `now` (`performance.now()`). */
export function viewOf(query: RunningQuery, now = performance.now()): QueryView {
  return {
    request_id: query.requestId,
    key_id: query.keyId,
    role: query.role,
    route: query.route,
    kind: query.kind,
    started_at: new Date(query.time).toISOString(),
    elapsed: Math.max(0, (now - query.started) / 1000),
    sql: query.sql(),
    rows: query.rows(),
    progress: query.progress(),
    canceled: query.canceled ?? false,
  };
}
