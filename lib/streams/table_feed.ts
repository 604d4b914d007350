/**
 * The table change feed as a decorator of the table API (`lib/query/table_api.ts`): each write's
 * statement also returns what its event needs (`RETURNING`, in the same statement: a single-row
 * insert stays one driver call; see `change_capture.ts`), and the event is queued right after the
 * commit. Events of a table are appended in commit order: writes to one table take turns only
 * around their statements and commit (DuckDB commits one transaction at a time anyway), from the
 * moment the first statement is sent until the event is queued; leasing a connection, resolving
 * the table, planning, waiting for the event to be durable and answering happen concurrently.
 * A write is answered once its event is durable. Dry runs and reads pass straight through.
 * @module
 */

import type { Guard } from "../db/run.ts";
import {
  createTurns,
  returnsRows,
  type TableApi,
  type TableCaller,
  turnKey,
  type WriteHooks,
  type WriteResult,
} from "../query/mod.ts";
import { chooseCapture, describeChange } from "./change_capture.ts";
import type { ChangeFeed } from "./changes.ts";

/** The table API `api` with every committed write recorded in `feed`. */
export function withChangeFeed(api: TableApi, feed: Pick<ChangeFeed, "recordChange">): TableApi {
  const turns = createTurns();

  /**
   * A write whose statements and commit run in its table's turn (the table as the catalog
   * resolved it), so its event is queued in commit order. The event is awaited (durable) after
   * the turn has passed on.
   */
  async function write(
    guard: Guard,
    caller: TableCaller,
    run: (hooks: WriteHooks) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    let recorded: Promise<void> | null = null;
    const hooks: WriteHooks = {
      capture: chooseCapture,
      commit(pending, execute) {
        return turns.inTurn(turnKey(pending.table), guard, async () => {
          const committed = await execute();
          const { rowsAffected } = committed.result;
          // No event for a write that failed or changed nothing.
          if (rowsAffected > 0) {
            recorded = feed.recordChange(describeChange(
              pending.op,
              pending.table,
              returnsRows(pending.plan) ? committed.results : null,
              rowsAffected,
              caller.requestId ?? "",
            ));
          }
          return committed;
        });
      },
    };
    const result = await run(hooks);
    if (recorded) await recorded;
    return result;
  }

  return {
    read: api.read,
    insert: (request, guard, caller = {}) =>
      write(guard, caller, (hooks) => api.insert(request, guard, caller, hooks)),
    ingest: (request, guard, caller = {}) =>
      write(guard, caller, (hooks) => api.ingest(request, guard, caller, hooks)),
    update: (request, guard, caller = {}) =>
      write(guard, caller, (hooks) => api.update(request, guard, caller, hooks)),
    remove: (request, guard, caller = {}) =>
      request.dryRun
        ? api.remove(request, guard, caller)
        : write(guard, caller, (hooks) => api.remove(request, guard, caller, hooks)),
  };
}
