/**
 * Reads of the table API (`GET {prefix}/api/{table}`), answered through the answer cache:
 *
 * - An unpaginated read fetches `absolute_max_rows + 1` rows to learn whether the cap cut it; only
 *   then is the read repeated with its count (one statement, so rows and total agree). Without a
 *   cap, the read goes to the execution stage (`run_select.ts`), so DuckDB may encode it.
 * - Paged reads fetch `limit + 1` rows (has-more without counting) plus, unless `count=none`, the
 *   total as an uncorrelated subquery; an empty page is re-read with its count in one READ ONLY
 *   transaction.
 *
 * Materialized rows are encoded after the connection went back to the pool. Answers of base
 * tables whose rows were all in memory may be kept by the answer cache (not exports).
 * @module
 */

import { tableParts } from "../db/catalog.ts";
import { bindScalars } from "../db/bind.ts";
import { materializedCell, materializedSource } from "../db/materialized.ts";
import type { Lease } from "../db/pool.ts";
import type { ResultSource } from "../db/rows.ts";
import { type Guard, inTransaction } from "../db/run.ts";
import { type EncodeOptions, encodeRows, truncationMessage } from "../encode/mod.ts";
import { type Answer, bodyAnswer } from "./answer.ts";
import { type CacheSlot, throughCache } from "./answer_cache.ts";
import { buildCountSql, buildReadSql } from "./build_sql.ts";
import { pageMeta } from "./pagination.ts";
import { encodeCursor, planRead, type ReadPlan, type ReadRequest } from "./plan_read.ts";
import { runSelect } from "./run_select.ts";
import { liftDeadline } from "./_select.ts";
import type { SqlFragment } from "./values.ts";
import { matchesTag, readTag, type Revalidation } from "./validators.ts";
import {
  conditionTexts,
  explain,
  resolveTable,
  runStatement,
  type TableCaller,
  type TableContext,
  withTable,
} from "./table_context.ts";

/** Per-request read settings. */
export interface ReadOptions {
  /** The unpaginated row cap of this read (exports use `max_export_rows`); 0 for none. */
  cap?: number;
  /** How the rows are encoded (the read applies its own cap: the encoding's is ignored). */
  encode: EncodeOptions;
  /** The answer cache (exports are never cached). */
  cache?: CacheSlot;
  /** Tag the answer (`ETag`), and answer 304 when the client's copy is current. */
  revalidate?: Revalidation;
}

/** Materialized rows of a read and what the answer says about them. */
interface ReadRows {
  source: ResultSource;
  /** The rows came from a base table and are all in memory (a cache may keep the answer). */
  cacheable: boolean;
  /** JSON envelope members after `data` (pagination, _links, next_cursor, truncation). */
  meta: Record<string, unknown>;
  /** Response headers (Link, X-Total-Count, X-Truncated, ...). */
  headers: Record<string, string>;
  /** All matching rows, when counted. */
  totalRows?: number;
}

/** An uncapped read of every row, not executed yet: the leased connection and the query. */
interface Deferred {
  lease: Lease;
  sql: SqlFragment;
}

/**
 * Reads the table `request` names; `path` is the request path, for links. Reads of base tables
 * carry a validator (their table's data version, taken before the read) and answer 304 when the
 * client's copy is current, without reading.
 */
export async function readTable(
  ctx: TableContext,
  request: ReadRequest,
  guard: Guard,
  path: string,
  caller: TableCaller,
  options: ReadOptions,
): Promise<Answer> {
  let etag: string | undefined;
  if (options.revalidate) {
    const generation = ctx.catalog.generation;
    const table = await resolveTable(ctx, guard, request.table);
    if (table.kind === "table") {
      const { ifNoneMatch, variant } = options.revalidate;
      const parts = tableParts(table);
      const read = ["api", ...parts, request.query];
      etag = readTag(ctx.pool, generation, [parts], read, variant);
      if (matchesTag(ifNoneMatch, etag)) return { kind: "not_modified", etag };
    }
  }
  const answer = await readRows(ctx, request, guard, path, caller, options);
  answer.etag = etag;
  return answer;
}

function readRows(
  ctx: TableContext,
  request: ReadRequest,
  guard: Guard,
  path: string,
  caller: TableCaller,
  options: ReadOptions,
): Promise<Answer> {
  const key = options.encode.export || !options.cache
    ? null
    : JSON.stringify([request.table.text, request.query]);
  return throughCache(options.cache, key, async () => {
    const read = await withTable<ReadRows | Deferred>(
      ctx,
      guard,
      request.table,
      caller,
      async (on) => {
        const limits = options.cap === undefined
          ? ctx.limits
          : { ...ctx.limits, absoluteMaxRows: options.cap };
        try {
          const plan = planRead(request, on.table, limits);
          if (plan.mode.kind === "all" && plan.mode.cap === 0) {
            // No cap: the execution stage runs it (DuckDB may encode it).
            on.handOff();
            const sql = buildReadSql(plan, {
              keys: false,
              count: false,
              limit: null,
              offset: null,
            });
            return { lease: on.lease, sql };
          }
          const rows = plan.mode.kind === "all"
            ? await readAll(on.lease, guard, plan)
            : await readPage(on.lease, guard, plan, {
              path,
              query: request.query,
              after: request.after,
            });
          return { ...rows, cacheable: rows.cacheable && on.table.kind === "table" };
        } catch (err) {
          throw explain(err, request.filters.flatMap(conditionTexts));
        }
      },
    );
    if ("lease" in read) return await runDeferred(read, guard, options.encode);
    const encoded = await encodeRows(read.source, {
      ...options.encode,
      cap: 0,
      meta: read.meta,
      totalRows: read.totalRows,
    });
    return bodyAnswer(encoded, {
      headers: read.headers,
      cacheable: read.cacheable,
      onStreaming: liftDeadline(guard),
    });
  });
}

/** Every row, through the execution stage; never kept by the answer cache. */
async function runDeferred(read: Deferred, guard: Guard, encode: EncodeOptions): Promise<Answer> {
  const { sql } = read;
  const answer = await runSelect(read.lease, guard, {
    sql: sql.sql,
    bind: (statement) => bindScalars(statement, sql.params),
  }, { ...encode, cap: 0, meta: {}, totalRows: undefined });
  if (answer.kind === "body") answer.cacheable = false;
  return answer;
}

async function readAll(lease: Lease, guard: Guard, plan: ReadPlan): Promise<ReadRows> {
  const cap = (plan.mode as { cap: number }).cap;
  const output = plan.columns.length;
  // A read of at most one row (its whole primary key) cannot be cut: no LIMIT to plan and run.
  const limit = plan.atMostOne ? null : cap + 1;
  const first = await runStatement(
    lease,
    guard,
    buildReadSql(plan, { keys: false, count: false, limit, offset: null }),
  );
  if (first.rowCount <= cap) {
    return { source: materializedSource([first], output), cacheable: true, meta: {}, headers: {} };
  }
  // Cut by the cap: read again with the total, in one statement (one snapshot).
  const meta: Record<string, unknown> = { truncated: true };
  const headers: Record<string, string> = { "x-truncated": "true" };
  let result = first;
  let totalRows: number | undefined;
  if (plan.count) {
    result = await runStatement(
      lease,
      guard,
      buildReadSql(plan, { keys: false, count: true, limit: cap, offset: null }),
    );
    totalRows = Number(materializedCell(result, 0, output));
    meta.total_available = totalRows;
    headers["x-total-count"] = String(totalRows);
  }
  meta.message = truncationMessage(cap);
  return {
    source: materializedSource([result], output, cap),
    cacheable: true,
    meta,
    headers,
    totalRows,
  };
}

async function readPage(
  lease: Lease,
  guard: Guard,
  plan: ReadPlan,
  request: { path: string; query: readonly [string, string][]; after: string | null },
): Promise<ReadRows> {
  const mode = plan.mode as { kind: "page" | "cursor"; limit: number; offset?: number };
  const offset = mode.kind === "page" ? mode.offset! : null;
  const keys = plan.cursorKeys?.length ?? 0;
  const output = plan.columns.length;
  const query = buildReadSql(plan, {
    keys: keys > 0,
    count: plan.count,
    limit: mode.limit + 1,
    offset,
    lateKeys: true,
  });
  let result = await runStatement(lease, guard, query);
  let total: number | null = null;
  if (plan.count && result.rowCount > 0) {
    total = Number(materializedCell(result, 0, output + keys));
  } else if (plan.count && (offset ?? 1) === 0) {
    total = 0; // the first page is empty: nothing matches
  } else if (plan.count) {
    // An empty page past the start: count, and re-read if rows appeared, in one snapshot.
    const counted = await inTransaction(lease, guard, async () => {
      const n = Number(
        materializedCell(
          await runStatement(lease, guard, buildCountSql(plan.table, plan.where)),
          0,
          0,
        ),
      );
      const again = n > (offset ?? 0) ? await runStatement(lease, guard, query) : result;
      return { n, again };
    }, "read_only");
    total = counted.n;
    result = counted.again;
  }
  const hasMore = result.rowCount > mode.limit;
  const rows = Math.min(result.rowCount, mode.limit);
  let nextCursor: string | null = null;
  if (hasMore && keys > 0) {
    const values = plan.cursorKeys!.map((_, i) => {
      const v = materializedCell(result, rows - 1, output + i);
      return v === null ? null : String(v);
    });
    nextCursor = encodeCursor(plan.table, plan.cursorKeys!, values);
  }
  const { meta, headers } = pageMeta(plan, { rows, total, hasMore, nextCursor }, request);
  return {
    source: materializedSource([result], output, mode.limit),
    cacheable: true,
    meta,
    headers,
    totalRows: total ?? undefined,
  };
}
