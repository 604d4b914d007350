/**
 * The query feature's public face: what the HTTP layer and other features use of `lib/query/`.
 *
 * - Raw SQL: {@link parseRawQuery}, {@link executeRaw} (authorized per statement; a single SELECT
 *   goes to the execution stage) answer with an {@link Answer} or the rows changed.
 * - Tables: {@link createTableApi} reads (through the answer cache) and writes; parse the request
 *   with `parseReadRequest`, `parseInsertRequest`, `parseUpdateRequest`, `parseDeleteRequest`.
 *   Decorators take part in writes through `WriteHooks` and `createTurns`.
 * - The execution stage: {@link runSelect} for one authorized SELECT on a leased connection.
 * - The answer cache: {@link createAnswerCache}, wrapped around reads by {@link throughCache}.
 * - Uploads: {@link parseIngestRequest} for a CSV, NDJSON or Parquet body (or a large JSON array,
 *   `NotForReader` when DuckDB's reader would not give what the JSON insert gives), inserted by
 *   the table API's `ingest`.
 * - Validators: reads take a `Revalidation` and answer with an `etag`, or `not_modified`
 *   ({@link matchesTag} compares `If-None-Match`).
 *
 * Answers carry an encoded body or a cached answer, never a connection: the response layer only
 * sends them (`lib/http/respond.ts`).
 * @module
 */

export type { Answer, BodyAnswer, CachedAnswer, StoredAnswer } from "./answer.ts";
export {
  type AnswerCache,
  type AnswerCacheOptions,
  type CacheSlot,
  createAnswerCache,
  throughCache,
} from "./answer_cache.ts";
export { type ReturningPlan, returnsRows } from "./build_sql.ts";
export { OPERATORS } from "./filters.ts";
export { parseReadRequest, type ReadLimits, type ReadRequest } from "./plan_read.ts";
export {
  type Capture,
  type DeleteRequest,
  type InsertRequest,
  parseDeleteRequest,
  parseInsertRequest,
  parsePrefer,
  parseUpdateRequest,
  type UpdateRequest,
  type WritePreferences,
} from "./plan_write.ts";
export {
  executeRaw,
  parseRawQuery,
  type RawOptions,
  type RawOutcome,
  type RawQuery,
  type SqlInfo,
  type StatementInfo,
  statementTypeName,
} from "./raw.ts";
export { runSelect, type SelectOptions, type SelectPlan } from "./run_select.ts";
export {
  type CsvInput,
  type IngestRequest,
  NotForReader,
  parseIngestRequest,
  type UploadFormat,
} from "./ingest.ts";
export { matchesTag, type Revalidation } from "./validators.ts";
export {
  type CommittedWrite,
  createTableApi,
  type PendingWrite,
  type ReadOptions,
  type TableApi,
  type TableCaller,
  type WriteHooks,
  type WriteOp,
  type WriteResult,
} from "./table_api.ts";
export { createTurns, turnKey, type Turns } from "./table_turns.ts";
export { lookupTable, type TableRef } from "./_resolve.ts";
export { type DefaultCatalog, defaultCatalog } from "./default_catalog.ts";
