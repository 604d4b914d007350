/**
 * Live table change feeds: after a write has **committed**, one JSON event per written table is
 * appended to the read-only stream `_changes/<table>` (under `streams_prefix`). Clients follow a
 * table with catch-up reads, long-poll or SSE and resume from their last offset.
 *
 * Event schema (one JSON message per event):
 *
 * ```json
 * {"op": "insert", "table": "orders", "rows": [{"id": 7, "total": 12.5}], "keys": [{"id": 7}],
 *  "count": 1, "request_id": "…", "time": "2025-01-01T12:00:00.000Z"}
 * {"op": "sql", "table": "orders", "statements": ["INSERT", "DELETE"], "tables": ["orders", "audit"],
 *  "rows_affected": 3, "request_id": "…", "time": "…"}
 * ```
 *
 * - `op`: `insert`, `update`, `delete`, `upsert` (REST API writes) or `sql` (a raw SQL request).
 * - `table`: the feed's table (case-folded, `schema.table` outside schema `main`).
 * - REST events: `rows` (the affected rows as the API sees them) and/or `keys` (their primary
 *   keys), and `count`; bounded for bulk writes (see `lib/query/change_capture.ts`).
 * - SQL events: `statements` (the request's statements that wrote this table, as SQL keywords),
 *   `tables` (every table the request wrote) and `rows_affected` (for the whole request; null
 *   when the request answered with rows).
 * - `request_id` and `time` (when the event was recorded) always.
 *
 * Events are appended in the order the server sees commits complete, after the commit and
 * before the request is answered, so a client that got its answer finds the event in the feed.
 * A write that fails or rolls back records nothing. A request that changed nothing (DML with
 * `rows_affected` 0) records nothing.
 * @module
 */

import { findWriteTargets, type WriteTarget } from "../sql/mod.ts";
import { changeFeedPath, feedTableName } from "./access.ts";
import type { StreamsService } from "./service.ts";

/** A committed write through the REST API (`/api/{table}`). */
export interface TableChange {
  /** `upsert`: an insert that may have updated existing rows (`merge-duplicates`). */
  op: "insert" | "update" | "delete" | "upsert";
  /** The table: `orders`, `sales.orders`, or its identifier parts (`["main", "odd.name"]`). */
  table: string | readonly string[];
  /** The affected rows (JSON-ready values; bigint is written as a number or, beyond 2^53, text). */
  rows?: readonly Record<string, unknown>[];
  /** Primary keys of the affected rows, when the table has one. */
  keys?: readonly Record<string, unknown>[];
  /** Rows affected; defaults to the length of `rows` or `keys`. */
  count?: number;
  requestId: string;
}

/** A committed raw SQL request. */
export interface SqlChange {
  /** The request's SQL text (every statement). */
  sql: string;
  /** Total rows affected, or null when the request answered with rows. */
  rowsAffected: number | null;
  requestId: string;
  /** How the request's table names read (a tenant's default catalog); absent: as written. */
  qualify?: (parts: readonly string[]) => readonly string[];
}

/** What the change feed reports (logging decides what to print). */
export type ChangeFeedEvent =
  | { type: "change_feed_failed"; table: string; request_id: string; message: string }
  | { type: "change_feed_unparsed"; request_id: string };

/** Records committed writes into the change feeds. */
export interface ChangeFeed {
  /**
   * Appends the event of a committed REST API write. Call after COMMIT, never on failure. The
   * append is queued before this returns, so calls made in commit order are appended in that
   * order; the promise resolves once it is durable (it never rejects: failures are reported).
   */
  recordChange(change: TableChange): Promise<void>;
  /** Appends the events of a committed raw SQL request (one per written table). */
  recordSql(change: SqlChange): Promise<void>;
}

const DML = new Set<WriteTarget["statement"]>(["INSERT", "UPDATE", "DELETE", "MERGE", "COPY"]);

/** One SQL event per written table, from the statements' write targets (pure). */
export function planSqlEvents(
  targets: readonly WriteTarget[],
  rowsAffected: number | null,
  mainCatalog?: string,
  qualify: (parts: readonly string[]) => readonly string[] = (parts) => parts,
): { table: string; statements: string[]; tables: string[] }[] {
  // DML that changed no rows changed nothing; DDL always changes something. Temporary tables
  // (also unqualified names the same script created as temporary) have no feed.
  const temporary = new Set(
    targets.filter((t) => t.temporary).flatMap((t) =>
      t.tables.map((p) => feedTableName(p, mainCatalog))
    ),
  );
  const effective = targets.filter((t) =>
    !t.temporary && !(rowsAffected === 0 && DML.has(t.statement))
  );
  const byTable = new Map<string, string[]>();
  for (const target of effective) {
    for (const parts of target.tables) {
      const local = feedTableName(parts, mainCatalog);
      if (local === null || (parts.length === 1 && temporary.has(local))) continue;
      const table = feedTableName(qualify(parts), mainCatalog);
      if (table === null) continue;
      const statements = byTable.get(table) ?? [];
      if (!statements.includes(target.statement)) statements.push(target.statement);
      byTable.set(table, statements);
    }
  }
  const tables = [...byTable.keys()];
  return tables.map((table) => ({ table, statements: byTable.get(table)!, tables }));
}

/**
 * Creates the change feed over `streams`; `mainCatalog` (the main database's catalog name) tells
 * its three-part names from those of attached databases.
 */
export function createChangeFeed(
  streams: StreamsService,
  onEvent: (event: ChangeFeedEvent) => void = () => {},
  mainCatalog?: string,
): ChangeFeed {
  const append = async (table: string, event: Record<string, unknown>, requestId: string) => {
    try {
      await streams.appendJson(changeFeedPath(table, ""), event);
    } catch (err) {
      onEvent({
        type: "change_feed_failed",
        table,
        request_id: requestId,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  };

  return {
    recordChange(change) {
      const table = feedTableName(change.table, mainCatalog);
      if (table === null) return Promise.resolve();
      const event: Record<string, unknown> = { op: change.op, table };
      if (change.rows) event.rows = change.rows;
      if (change.keys) event.keys = change.keys;
      event.count = change.count ?? change.rows?.length ?? change.keys?.length ?? 0;
      event.request_id = change.requestId;
      event.time = new Date().toISOString();
      return append(table, event, change.requestId);
    },
    async recordSql(change) {
      const targets = findWriteTargets(change.sql);
      if (targets === null) {
        onEvent({ type: "change_feed_unparsed", request_id: change.requestId });
        return;
      }
      const time = new Date().toISOString();
      // Started in one synchronous loop: every feed gets its event in commit order.
      await Promise.all(
        planSqlEvents(targets, change.rowsAffected, mainCatalog, change.qualify).map((e) =>
          append(e.table, {
            op: "sql",
            table: e.table,
            statements: e.statements,
            tables: e.tables,
            rows_affected: change.rowsAffected,
            request_id: change.requestId,
            time,
          }, change.requestId)
        ),
      );
    },
  };
}
