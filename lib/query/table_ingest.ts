/**
 * Upload inserts of the table API (`POST {prefix}/api/{table}` with a CSV, NDJSON or Parquet
 * body, see `ingest.ts`): staged by DuckDB's reader, written by one statement, with the same
 * hooks (change feed), data version bump and answers as a JSON insert.
 * @module
 */

import type { Guard } from "../db/run.ts";
import type { Uploads } from "../db/upload.ts";
import { dropUploadStage, type IngestRequest, insertStaged, stageUpload } from "./ingest.ts";
import type { TableCaller, TableContext } from "./table_context.ts";
import { commit, type WriteHooks, type WriteResult, writeTable } from "./table_write.ts";

/** Inserts the rows of the uploaded file of `request`. */
export function ingestRows(
  ctx: TableContext,
  uploads: Uploads,
  request: IngestRequest,
  guard: Guard,
  caller: TableCaller,
  hooks?: WriteHooks,
): Promise<WriteResult> {
  return writeTable(ctx, guard, request.table, caller, async ({ lease, table, dirty }) => {
    try {
      const staged = await stageUpload(uploads, lease, guard, table, request);
      const plan = { ...staged.plan, capture: hooks?.capture(table, staged.rows) ?? null };
      const op = plan.conflict?.action === "update" ? "upsert" : "insert";
      return await commit({ op, table, plan }, hooks, async () => [
        await insertStaged(lease, guard, plan, staged.group),
      ]);
    } finally {
      if (!(await dropUploadStage(lease))) dirty();
    }
  });
}
