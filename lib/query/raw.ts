/**
 * Raw SQL (`POST {prefix}/query`, `GET {prefix}/query/{sql}/result.{fmt}`): parse the request,
 * classify every statement with DuckDB's own parser (prepared statement types, never string
 * prefixes), authorize, and execute. A single SELECT goes to the execution stage
 * (`run_select.ts`); rows of other statements are encoded as they are. Either way the caller gets
 * an {@link Answer} (or the count of changed rows), never a connection.
 *
 * - One statement runs on its own (autocommit), through the connection's statement cache.
 * - Several statements run in one transaction: all or nothing. Params bind to every statement
 *   that has placeholders.
 * - Read-only requests (GET) refuse every statement that is not a query before running anything,
 *   and run inside `BEGIN TRANSACTION READ ONLY`, so even `EXPLAIN ANALYZE <write>` or `nextval()`
 *   cannot change data.
 * - Statements that change things report `rows_affected`; statements that return rows (queries,
 *   `RETURNING`, `EXPLAIN`, `PRAGMA`, `CALL`) yield a {@link ResultSource}.
 * @module
 */

import { ApiError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "../json.ts";
import { bindParams, checkParams, type Params } from "../db/bind.ts";
import { invalidateCatalog } from "../db/catalog.ts";
import type { ConnectionPool, Lease } from "../db/pool.ts";
import {
  acquire,
  beginTransaction,
  type Guard,
  guarded,
  inTransaction,
  retryOnConflict,
  rollback,
} from "../db/run.ts";
import { leasedSource } from "../db/leased.ts";
import { type ResultSource, rowsAffectedOf } from "../db/rows.ts";
import {
  type DuckDBExtractedStatements,
  type DuckDBPreparedStatement,
  type DuckDBResult,
  ResultReturnType,
  StatementType,
} from "../db/types.ts";
import { encodeRows } from "../encode/mod.ts";
import { type Answer, bodyAnswer } from "./answer.ts";
import { notReadOnly, runSelect, type SelectOptions } from "./run_select.ts";
import { liftDeadline } from "./_select.ts";
import { bumpAfterRaw } from "./write_versions.ts";
import { type DefaultCatalog, useCatalog } from "./default_catalog.ts";
import { matchesTag, type Revalidation, selectTag } from "./validators.ts";
import {
  checkPragmas,
  checkReservedCatalogs,
  writesTransactionStatements,
} from "./statement_rules.ts";
import {
  checkType,
  CLEAN_TYPES,
  DATA_TYPES,
  ROW_TYPES,
  statementTypeName,
} from "./statement_types.ts";

export { statementTypeName };

/** A parsed raw SQL request. */
export interface RawQuery {
  sql: string;
  params?: Params;
}

/**
 * Validates a `POST /query` body: `{"sql": string, "params"?: array | object}`; the params are
 * converted for binding here (at most 64 levels deep and 10,000 values, see `checkParams`), under
 * the request's `guard` when given (the conversion counts against `query_timeout`).
 */
export function parseRawQuery(body: JsonValue, guard?: Guard): RawQuery {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError("invalid_request", 'The body must be a JSON object like {"sql": "..."}.');
  }
  const { sql, params, ...rest } = body as Record<string, JsonValue>;
  const unknown = Object.keys(rest).filter((k) => k !== "format");
  if (unknown.length) {
    throw new ApiError(
      "invalid_request",
      `Unknown member(s) ${unknown.map((k) => `"${k}"`).join(", ")}: expected "sql" and "params".`,
    );
  }
  if (sql === undefined || sql === null || (typeof sql === "string" && sql.trim() === "")) {
    throw new ApiError("sql_required", 'SQL query is required: send {"sql": "..."}.');
  }
  if (typeof sql !== "string") throw new ApiError("invalid_request", '"sql" must be a string.');
  if (
    params !== undefined && params !== null &&
    (typeof params !== "object" || params instanceof JsonNumber)
  ) {
    throw new ApiError("invalid_request", '"params" must be an array or an object.');
  }
  if (params !== undefined && params !== null) checkParams(params as Params, guard);
  return { sql, params: (params ?? undefined) as Params | undefined };
}

/** What the authorizer is told before DuckDB sees the request's SQL text. */
export interface SqlInfo {
  /** The request's SQL text (all statements). */
  sql: string;
  /** The request's default catalog (a tenant's database), when it is not the main one. */
  catalog?: DefaultCatalog;
  lease: Lease;
  guard: Guard;
}

/** What the authorizer is told before a statement runs. */
export interface StatementInfo extends SqlInfo {
  /** Position of the statement in the request (0-based). */
  index: number;
  /** Number of statements in the request. */
  count: number;
  type: StatementType;
  /**
   * Resolves once every statement of the request has finished and its transaction has ended
   * (committed or rolled back), so catalog changes it made are visible to other connections.
   */
  settled: Promise<void>;
}

/** Options of {@link executeRaw}. */
export interface RawOptions {
  /** Refuse anything but queries and run read-only (the GET endpoint). */
  readOnly: boolean;
  /**
   * Throws (403) when the caller may not run the SQL text; called before DuckDB prepares (and
   * so binds) anything, so a refusal never depends on what the catalog holds.
   */
  authorizeSql?: (info: SqlInfo) => void | Promise<void>;
  /** Throws (403) when the caller may not run the statement. */
  authorize?: (info: StatementInfo) => void | Promise<void>;
  /** Who the request runs for: set as the lease's owner (seen by table functions). */
  owner?: unknown;
  /** The default catalog the statements run in (a tenant's database; default: the main one). */
  catalog?: DefaultCatalog;
  /** How rows are answered: the encoding, and the answer cache for a single SELECT. */
  answer: SelectOptions;
  /**
   * Tag the answer of a single deterministic SELECT (`ETag`), and answer 304 without running it
   * when the client's copy is current (GET query URLs).
   */
  revalidate?: Revalidation;
}

/**
 * The outcome of a raw request. `mayWrite`: some statement was not a plain SELECT (so it may
 * have changed data; the change feed looks closer).
 */
export type RawOutcome =
  & (
    | { kind: "rows"; answer: Answer }
    | { kind: "changes"; rowsAffected: number; elapsedMs: number }
  )
  & { mayWrite?: boolean };

/** What the statements left: rows still to encode, a SELECT still to run, or changes. */
type Executed =
  & (
    | { kind: "rows"; source: ResultSource }
    | { kind: "plan"; lease: Lease; sql: string; params?: Params; readOnly: boolean }
    | { kind: "changes"; rowsAffected: number; elapsedMs: number }
  )
  & { mayWrite?: boolean };

const MULTI_STATEMENT = /Cannot prepare multiple statements at once/;
const NO_STATEMENT = /No statement to prepare/;

/** Executes a raw SQL request and answers it; see the module documentation for the rules. */
export async function executeRaw(
  pool: ConnectionPool,
  guard: Guard,
  query: RawQuery,
  options: RawOptions,
): Promise<RawOutcome> {
  const executed = await execute(pool, guard, query, options);
  const { mayWrite } = executed;
  if (executed.kind === "changes") return executed;
  if (executed.kind === "plan") {
    const { lease, sql, params, readOnly } = executed;
    const etag = options.revalidate &&
      await selectTag(pool, lease, guard, sql, options.revalidate.variant);
    if (etag && matchesTag(options.revalidate!.ifNoneMatch, etag)) {
      lease.release();
      return { kind: "rows", answer: { kind: "not_modified", etag }, mayWrite };
    }
    const answer = await runSelect(lease, guard, { sql, params, readOnly }, options.answer);
    answer.etag = etag || undefined;
    return { kind: "rows", answer, mayWrite };
  }
  const encoded = await encodeRows(executed.source, options.answer);
  return {
    kind: "rows",
    answer: bodyAnswer(encoded, { onStreaming: liftDeadline(guard) }),
    mayWrite,
  };
}

/** Runs the request's statements up to a single SELECT or the last statement's rows. */
async function execute(
  pool: ConnectionPool,
  guard: Guard,
  query: RawQuery,
  options: RawOptions,
): Promise<Executed> {
  checkReservedCatalogs(query.sql);
  const lease = await acquire(pool, guard);
  lease.owner = options.owner;
  const catalog = options.catalog;
  try {
    if (catalog) await useCatalog(lease, guard, catalog);
    await options.authorizeSql?.({ sql: query.sql, catalog, lease, guard });
  } catch (err) {
    // A refusal leaves the connection as it was; anything else may not have.
    lease.release(!(err instanceof ApiError && err.code === "forbidden"));
    throw err;
  }
  let handedOff = false;
  let dirty = false;
  // Every statement is authorized before it runs: note the ones that may change the catalog.
  let catalogMayChange = false;
  // ... and whether any may have changed data (the change feed looks closer), by their types.
  let mayWrite = false;
  const types: StatementType[] = [];
  const authorize = options.authorize;
  options = {
    ...options,
    authorize: (info) => {
      if (!options.readOnly && !DATA_TYPES.has(info.type)) catalogMayChange = true;
      if (info.type !== StatementType.SELECT) mayWrite = true;
      types.push(info.type);
      return authorize?.(info);
    },
  };
  const settled = Promise.withResolvers<void>();
  try {
    let statement: DuckDBPreparedStatement | null = null;
    try {
      statement = await guarded(lease, guard, () => lease.prepare(query.sql));
    } catch (err) {
      const message = (err as ApiError).message;
      if (NO_STATEMENT.test(message)) {
        throw new ApiError("sql_required", "The SQL text holds no statement.");
      }
      if (!MULTI_STATEMENT.test(message)) throw err;
    }
    const outcome = statement
      ? await runSingle(lease, guard, query, statement, options, settled.promise)
      : await runScript(lease, guard, query, options, settled.promise);
    dirty = outcome.dirty;
    if (outcome.kind === "rows" || outcome.kind === "plan") handedOff = true;
    if (outcome.kind === "plan") {
      const { dirty: _, ...plan } = outcome;
      return { ...plan, mayWrite };
    }
    return outcome.kind === "rows" ? { kind: "rows", source: outcome.source, mayWrite } : {
      kind: "changes",
      rowsAffected: outcome.rowsAffected,
      elapsedMs: outcome.elapsedMs,
      mayWrite,
    };
  } catch (err) {
    dirty = true;
    throw err;
  } finally {
    settled.resolve();
    if (catalogMayChange) invalidateCatalog(pool);
    if (mayWrite) bumpAfterRaw(pool, query.sql, types);
    if (!handedOff) lease.release(dirty);
  }
}

type Outcome = Executed & { dirty: boolean };

async function runSingle(
  lease: Lease,
  guard: Guard,
  query: RawQuery,
  statement: DuckDBPreparedStatement,
  options: RawOptions,
  settled: Promise<void>,
): Promise<Outcome> {
  const type = statement.statementType;
  checkType(type, options.readOnly, () => checkPragmas(query.sql));
  await options.authorize?.({
    index: 0,
    count: 1,
    type,
    sql: query.sql,
    catalog: options.catalog,
    lease,
    guard,
    settled,
  });
  if (type === StatementType.SELECT) {
    const { sql, params } = query;
    return { kind: "plan", lease, sql, params, readOnly: options.readOnly, dirty: false };
  }
  bindParams(statement, query.params);
  const dirty = !CLEAN_TYPES.has(type);
  const started = performance.now();
  // Results are materialized (run, not stream): the driver ends a streamed result silently when
  // the engine fails midway, so only a materialized result reports every error before the first
  // byte. Large SELECTs take the plan path instead (DuckDB writes them, errors included).
  if (options.readOnly) {
    return await readOnlyRows(lease, guard, () => statement.run(), dirty);
  }
  if (ROW_TYPES.has(type)) {
    const result = await guarded(lease, guard, () => statement.run());
    return { kind: "rows", source: leasedSource(result, lease, guard, { dirty }), dirty };
  }
  const result = await retryOnConflict(() => guarded(lease, guard, () => statement.run()));
  return await changesOrRows(result, lease, guard, started, dirty);
}

/**
 * Runs inside a READ ONLY transaction. Queries stream (the transaction ends when the result is
 * closed); anything else is materialized first, so a write attempt fails before any answer.
 */
async function readOnlyRows(
  lease: Lease,
  guard: Guard,
  run: () => Promise<DuckDBResult>,
  dirty: boolean,
): Promise<Outcome> {
  await beginTransaction(lease, guard, "read_only");
  try {
    const result = await guarded(lease, guard, run);
    const source = leasedSource(result, lease, guard, {
      dirty,
      beforeRelease: () => rollback(lease),
    });
    return { kind: "rows", source: readOnlyErrors(source), dirty };
  } catch (err) {
    await rollback(lease);
    throw notReadOnly(err);
  }
}

function readOnlyErrors(source: ResultSource): ResultSource {
  return {
    columns: source.columns,
    next: () => source.next().catch((err) => Promise.reject(notReadOnly(err))),
    close: () => source.close(),
  };
}

async function changesOrRows(
  result: DuckDBResult,
  lease: Lease,
  guard: Guard,
  started: number,
  dirty: boolean,
): Promise<Outcome> {
  if (result.returnType === ResultReturnType.QUERY_RESULT) {
    return { kind: "rows", source: leasedSource(result, lease, guard, { dirty }), dirty };
  }
  return {
    kind: "changes",
    rowsAffected: await rowsAffectedOf(result),
    elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
    dirty,
  };
}

/** A script being run: its statements as DuckDB extracted them, and what checks them. */
interface Script {
  lease: Lease;
  guard: Guard;
  query: RawQuery;
  options: RawOptions;
  settled: Promise<void>;
  extracted: DuckDBExtractedStatements;
  count: number;
  /** Vets the script's pragmas (once, at its first PRAGMA). */
  pragmas: () => void;
}

/** Several statements: one transaction, all or nothing, retried as a whole on conflict. */
async function runScript(
  lease: Lease,
  guard: Guard,
  query: RawQuery,
  options: RawOptions,
  settled: Promise<void>,
): Promise<Outcome> {
  const extracted = await guarded(
    lease,
    guard,
    () => lease.connection.extractStatements(query.sql),
  );
  const count = extracted.count;
  if (count === 0) throw new ApiError("sql_required", "The SQL text holds no statement.");
  let pragmasChecked = false;
  const pragmas = () => {
    if (!pragmasChecked) checkPragmas(query.sql);
    pragmasChecked = true;
  };
  const script: Script = { lease, guard, query, options, settled, extracted, count, pragmas };
  return options.readOnly ? await runReadOnlyScript(script) : await runWritingScript(script);
}

/** Authorizes statement `index` of the script. */
function authorizeStatement(
  script: Script,
  index: number,
  type: StatementType,
): void | Promise<void> {
  const { query, lease, guard, settled, count } = script;
  return script.options.authorize?.({
    index,
    count,
    type,
    sql: query.sql,
    catalog: script.options.catalog,
    lease,
    guard,
    settled,
  });
}

/** A read-only script: prepared first, so nothing runs unless every statement is a query. */
async function runReadOnlyScript(script: Script): Promise<Outcome> {
  const { lease, guard, extracted, count, query } = script;
  const statements: DuckDBPreparedStatement[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const statement = await guarded(lease, guard, () => extracted.prepare(i));
      statements.push(statement);
      checkType(statement.statementType, true, script.pragmas);
      await authorizeStatement(script, i, statement.statementType);
      if (statement.parameterCount > 0) bindParams(statement, query.params);
    }
    return await readOnlyRows(lease, guard, async () => {
      for (const s of statements.slice(0, -1)) await s.run();
      return await statements[count - 1].run();
    }, false);
  } finally {
    for (const s of statements) s.destroySync();
  }
}

/** A script that may write: in one transaction, retried as a whole on conflict. */
async function runWritingScript(script: Script): Promise<Outcome> {
  const { lease, guard, extracted, count, query } = script;
  const started = performance.now();
  let dirty = false;
  const generated = count > 1 && !writesTransactionStatements(query.sql);
  const outcome = await retryOnConflict(() =>
    inTransaction(lease, guard, async () => {
      let rowsAffected = 0;
      let last: DuckDBResult | null = null;
      for (let i = 0; i < count; i++) {
        const statement = await guarded(lease, guard, () => extracted.prepare(i));
        try {
          const type = statement.statementType;
          // DuckDB wraps some statements it expands itself (ALTER TABLE … ADD COLUMN with a
          // non-constant DEFAULT) in BEGIN … COMMIT: the request's transaction already holds them.
          if (type === StatementType.TRANSACTION && generated) continue;
          checkType(type, false, script.pragmas);
          if (!CLEAN_TYPES.has(type)) dirty = true;
          await authorizeStatement(script, i, type);
          if (statement.parameterCount > 0) bindParams(statement, query.params);
          const result = await guarded(lease, guard, () => statement.run());
          if (result.returnType !== ResultReturnType.QUERY_RESULT) {
            rowsAffected += await rowsAffectedOf(result);
          }
          last = result;
        } finally {
          statement.destroySync();
        }
      }
      return { last: last!, rowsAffected };
    })
  );
  if (outcome.last.returnType === ResultReturnType.QUERY_RESULT) {
    return {
      kind: "rows",
      source: leasedSource(outcome.last, lease, guard, { dirty }),
      dirty,
    };
  }
  return {
    kind: "changes",
    rowsAffected: outcome.rowsAffected,
    elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
    dirty,
  };
}
