/**
 * The table change feed as a decorator of the table API (`lib/query/table_api.ts`): each write's
 * statement also returns what its event needs (`RETURNING`, in the same statement: a single-row
 * insert stays one driver call; see `change_capture.ts`), and the event is queued right after the
 * commit. Writes to one table take turns, from their first statement until their event is queued,
 * so events are appended in commit order; writes to other tables and reads do not wait. A write
 * is answered once its event is durable. Dry runs and reads pass straight through.
 * @module
 */

import type { Guard } from "../db/run.ts";
import {
  createTurns,
  returnsRows,
  type TableApi,
  type TableCaller,
  type TableRef,
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
   * A write to the table `ref` names, in that table's turn (taken before a connection is leased,
   * so writers waiting for their turn hold no connection). A request that named the table
   * differently than the catalog resolved it also takes the resolved name's turn. The event is
   * awaited (durable) after the turn has passed on.
   */
  async function write(
    ref: TableRef,
    guard: Guard,
    caller: TableCaller,
    run: (hooks: WriteHooks) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    const held = turnKey(ref.candidates[0]);
    let recorded: Promise<void> | null = null;
    const hooks: WriteHooks = {
      capture: chooseCapture,
      commit(pending, execute) {
        const record = async () => {
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
        };
        const key = turnKey(pending.table);
        return key === held ? record() : turns.inTurn(key, guard, record);
      },
    };
    const result = await turns.inTurn(held, guard, () => run(hooks));
    if (recorded) await recorded;
    return result;
  }

  return {
    read: api.read,
    insert: (request, guard, caller = {}) =>
      write(request.table, guard, caller, (hooks) => api.insert(request, guard, caller, hooks)),
    update: (request, guard, caller = {}) =>
      write(request.table, guard, caller, (hooks) => api.update(request, guard, caller, hooks)),
    remove: (request, guard, caller = {}) =>
      request.dryRun
        ? api.remove(request, guard, caller)
        : write(request.table, guard, caller, (hooks) => api.remove(request, guard, caller, hooks)),
  };
}
