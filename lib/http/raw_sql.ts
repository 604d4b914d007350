/**
 * The raw SQL feature: `POST {prefix}/query` runs SQL (several statements in one transaction)
 * as the caller, authorized per statement; `GET {prefix}/query/{urlEncodedSQL}/result.{format}`
 * runs read-only SQL from a bookmarkable URL. Rows are answered in the negotiated format
 * (through the answer cache when cacheable); committed changes are recorded on the change feeds.
 * @module
 */

import type { Context } from "hono";
import { ApiError } from "../errors.ts";
import { createGuard } from "../db/run.ts";
import { type FormatName, parseFormatName } from "../encode/mod.ts";
import { type Endpoint, queryParameterNames } from "../openapi/mod.ts";
import {
  type AnswerCache,
  type DefaultCatalog,
  defaultCatalog,
  executeRaw,
  parseRawQuery,
  type RawOptions,
  type RawOutcome,
} from "../query/mod.ts";
import { parseJsonBody, readBodyText } from "./body.ts";
import { type AppContext, type AppEnv, noteQuery, rowsOptions } from "./context.ts";
import { queryGuard } from "./queries.ts";
import { createFeature, type Feature } from "./feature.ts";
import {
  encodeOptionsOf,
  OUTPUT_PARAMETERS,
  type OutputOptions,
  parseOutputOptions,
} from "./output.ts";
import { revalidationOf } from "./revalidate.ts";
import { cacheSlotOf, respondAnswer } from "./respond.ts";
import { checkQueryParameters } from "./query_parameters.ts";

const QUERY: Endpoint = {
  method: "POST",
  route: "/query",
  path: "/query",
  operationId: "query",
  tag: "Raw SQL",
  summary: "Run SQL",
  description: "Several statements run in one transaction. Statements returning rows answer " +
    '`{"data": [...]}` in the negotiated format (`format=` or `Accept`); others answer ' +
    '`{"success": true, "rows_affected": n, "execution_time_ms": t}`.',
  parameters: ["format", ...OUTPUT_PARAMETERS],
  requestBody: { schema: "QueryRequest", description: "SQL and parameters.", required: true },
  responses: [{
    status: 200,
    description: "Rows, or what changed.",
    body: { kind: "oneOf", bodies: [{ kind: "rows" }, { kind: "json", schema: "Changes" }] },
  }],
  errors: [
    "invalid_json",
    "invalid_request",
    "unknown_parameter",
    "sql_required",
    "syntax_error",
    "binder_error",
    "conversion_error",
    "invalid_input",
    "parameter_error",
    "statement_not_allowed",
    "not_implemented",
    "sandbox_violation",
    "read_only",
    "unknown_table",
    "not_acceptable",
    "already_exists",
    "constraint_violation",
    "transaction_conflict",
    "payload_too_large",
    "out_of_memory",
    "query_timeout",
    "query_canceled",
  ],
};

const QUERY_GET: Endpoint = {
  method: "GET",
  route: "/query/*",
  path: "/query/{sql}/result.{format}",
  pathParameters: { sql: "sql", format: "resultFormat" },
  // `format=` is taken (and loses to the path's suffix), as it always was.
  parameters: ["format", ...OUTPUT_PARAMETERS],
  operationId: "queryGet",
  tag: "Raw SQL",
  summary: "Run read-only SQL from the URL (bookmarkable)",
  description: "Only statements that DuckDB's parser classifies as queries run here, inside a " +
    "read-only transaction; anything else is refused with 405 `not_read_only`.",
  responses: [{ status: 200, description: "The rows.", body: { kind: "rows" } }],
  errors: [
    "invalid_request",
    "unknown_parameter",
    "sql_required",
    "syntax_error",
    "binder_error",
    "conversion_error",
    "invalid_input",
    "not_read_only",
    "sandbox_violation",
    "unknown_table",
    "out_of_memory",
    "query_timeout",
    "query_canceled",
  ],
};

/** The raw SQL routes (relative to the route prefix, behind the key check). */
export function rawSqlRoutes(ctx: AppContext, cache: AnswerCache): Feature {
  const { config, engine, auth } = ctx;
  const prefix = config.route_prefix;
  const feature = createFeature();
  const knownPost = queryParameterNames(QUERY, config);
  const knownGet = queryParameterNames(QUERY_GET, config);

  /** Raw SQL runs as the caller, authorized per statement, answered in the requested format. */
  const rawOptions = (c: Context<AppEnv>, readOnly: boolean, output: OutputOptions): RawOptions => {
    const principal = c.get("principal");
    const catalog = catalogOf(c);
    // A tenant's SQL is neither cached nor tagged: the answer cache and ETags read names in
    // the main database.
    return {
      readOnly,
      catalog,
      // GET query URLs: a deterministic SELECT is tagged, and answered 304 while current.
      revalidate: readOnly && !catalog ? revalidationOf(c.req.raw, output) : undefined,
      owner: principal,
      authorizeSql: (info) => auth.authorizeSql(principal, info),
      authorize: (info) => auth.authorizeStatement(principal, info),
      answer: {
        ...encodeOptionsOf(output, engine.scratchDirectory),
        cache: catalog ? undefined : cacheSlotOf(cache, engine.pool, c.req.raw, output),
      },
    };
  };
  /** The request's default catalog: its tenant's database, if any. */
  const catalogOf = (c: Context<AppEnv>): DefaultCatalog | undefined => {
    const database = c.get("database");
    return database ? defaultCatalog(database, [...engine.databases.keys()]) : undefined;
  };

  feature.route(QUERY, async (c) => {
    checkQueryParameters(new URL(c.req.url).searchParams, knownPost, "POST /query");
    const text = await readBodyText(c.req.raw, config.max_body_size);
    // Once the body is in, query_timeout runs: parsing it and converting its params count too.
    const parsing = createGuard(config.query_timeout, c.req.raw.signal);
    const query = parseRawQuery(parseJsonBody(text), parsing);
    const output = parseOutputOptions(c.req.raw, config, { fileName: "result" });
    const kind = output.export ? "export" : "raw";
    const guard = queryGuard(ctx, c, kind, query.sql, false, parsing.deadline);
    const outcome = await executeRaw(engine.pool, guard, query, rawOptions(c, false, output));
    if (outcome.mayWrite) {
      await ctx.streams?.changes?.recordSql({
        sql: query.sql,
        rowsAffected: outcome.kind === "changes" ? outcome.rowsAffected : null,
        requestId: c.get("requestId"),
        qualify: catalogOf(c)?.qualify,
      });
    }
    return answerRaw(ctx, c, outcome, output);
  });

  feature.route(QUERY_GET, async (c) => {
    const url = new URL(c.req.url);
    const { sql, format } = parseQueryPath(url.pathname, prefix);
    // Noted first, so the access log's `sql` field carries the path's SQL (as log_sql says)
    // even when a parameter is refused; the logged URI is redacted by the tracker either way.
    noteQuery(c, "raw", sql, true);
    checkQueryParameters(url.searchParams, knownGet, "GET /query/{sql}/result.{format}");
    const output = parseOutputOptions(c.req.raw, config, {
      suffix: format,
      fileName: "result",
      alwaysDisposition: true,
    });
    const guard = queryGuard(ctx, c, output.export ? "export" : "raw", sql, true);
    const outcome = await executeRaw(engine.pool, guard, { sql }, rawOptions(c, true, output));
    return answerRaw(ctx, c, outcome, output);
  });

  feature.notAllowed(
    QUERY.route,
    () => "Use POST to execute queries (or GET on /query/{sql}/result.{format}).",
  );
  feature.notAllowed(QUERY_GET.route, () => "GET query URLs only accept GET.");
  return feature;
}

/** Splits `{prefix}/query/{urlEncodedSQL}/result.{format}`; the SQL is percent-decoded once. */
function parseQueryPath(
  pathname: string,
  prefix: string,
): { sql: string; format: FormatName } {
  const rest = pathname.slice(`${prefix}/query/`.length);
  const cut = rest.lastIndexOf("/result.");
  if (cut < 0) {
    throw new ApiError(
      "invalid_request",
      `Invalid GET query path: expected ${prefix}/query/{urlEncodedSQL}/result.{format}.`,
    );
  }
  const format = parseFormatName(rest.slice(cut + "/result.".length));
  let sql: string;
  try {
    sql = decodeURIComponent(rest.slice(0, cut));
  } catch {
    throw new ApiError(
      "invalid_request",
      "Invalid GET query path: the SQL is not valid percent-encoding.",
    );
  }
  if (sql.trim() === "") {
    throw new ApiError("sql_required", "Invalid GET query path: the SQL is empty.");
  }
  return { sql, format };
}

function answerRaw(
  ctx: AppContext,
  c: Context<AppEnv>,
  outcome: RawOutcome,
  output: OutputOptions,
): Response | Promise<Response> {
  if (outcome.kind === "changes") {
    return c.json({
      success: true,
      rows_affected: outcome.rowsAffected,
      execution_time_ms: outcome.elapsedMs,
    });
  }
  return respondAnswer(outcome.answer, rowsOptions(ctx, c, output));
}
