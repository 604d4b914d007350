/**
 * The table API: table requests against one database, over a table context
 * (`table_context.ts`: pool, catalog, limits). Designed for few driver calls: a warm point read
 * or a single-row insert is one prepared-statement execution; a page and its total count are one
 * statement (one snapshot). Reads are in `table_read.ts` (answered through the answer cache),
 * writes in `table_write.ts`. The lease's owner is the caller's principal, so table functions
 * that authorize per caller (`read_stream()` in a view) see who is asking.
 *
 * Decorators wrap a {@link TableApi} and take part in its writes through `WriteHooks`: the table
 * change feed is one (`lib/streams/table_feed.ts`), applied where the server is assembled.
 * @module
 */

import type { ConnectionPool } from "../db/pool.ts";
import type { Guard } from "../db/run.ts";
import type { Answer } from "./answer.ts";
import type { ReadLimits, ReadRequest } from "./plan_read.ts";
import type { DeleteRequest, InsertRequest, UpdateRequest } from "./plan_write.ts";
import { createTableContext, type TableCaller } from "./table_context.ts";
import type { Uploads } from "../db/upload.ts";
import type { IngestRequest } from "./ingest.ts";
import { ingestRows } from "./table_ingest.ts";
import { type ReadOptions, readTable } from "./table_read.ts";
import {
  deleteRows,
  insertRows,
  updateRows,
  type WriteHooks,
  type WriteResult,
} from "./table_write.ts";

export type { TableCaller } from "./table_context.ts";
export type { ReadOptions } from "./table_read.ts";
export type {
  CommittedWrite,
  PendingWrite,
  WriteHooks,
  WriteOp,
  WriteResult,
} from "./table_write.ts";

/** Table requests against one database. */
export interface TableApi {
  /** Reads rows and answers them encoded; `path` is the request path, for links. */
  read(
    request: ReadRequest,
    guard: Guard,
    path: string,
    caller: TableCaller,
    options: ReadOptions,
  ): Promise<Answer>;
  insert(
    request: InsertRequest,
    guard: Guard,
    caller?: TableCaller,
    hooks?: WriteHooks,
  ): Promise<WriteResult>;
  update(
    request: UpdateRequest,
    guard: Guard,
    caller?: TableCaller,
    hooks?: WriteHooks,
  ): Promise<WriteResult>;
  /** Inserts the rows of an uploaded file (CSV, NDJSON, Parquet). */
  ingest(
    request: IngestRequest,
    guard: Guard,
    caller?: TableCaller,
    hooks?: WriteHooks,
  ): Promise<WriteResult>;
  /** Deletes rows (dry runs only count them, and take no hooks). */
  remove(
    request: DeleteRequest,
    guard: Guard,
    caller?: TableCaller,
    hooks?: WriteHooks,
  ): Promise<WriteResult>;
}

/**
 * Creates the executor of table requests on `pool`; uploads are read by `uploads` (without it,
 * an upload is a bug of the caller).
 */
export function createTableApi(
  pool: ConnectionPool,
  limits: ReadLimits,
  uploads?: Uploads,
): TableApi {
  const ctx = createTableContext(pool, limits);
  return {
    ingest: (request, guard, caller = {}, hooks) => {
      if (!uploads) throw new Error("this table API was created without an uploads area");
      return ingestRows(ctx, uploads, request, guard, caller, hooks);
    },
    read: (request, guard, path, caller, options) =>
      readTable(ctx, request, guard, path, caller, options),
    insert: (request, guard, caller = {}, hooks) => insertRows(ctx, request, guard, caller, hooks),
    update: (request, guard, caller = {}, hooks) => updateRows(ctx, request, guard, caller, hooks),
    remove: (request, guard, caller = {}, hooks) => deleteRows(ctx, request, guard, caller, hooks),
  };
}
