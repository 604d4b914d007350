/**
 * The tables feature, the REST interface `{prefix}/api/{table}`: GET reads, POST inserts, PUT
 * updates, DELETE deletes. Each handler reads like the pipeline: parse, authorize (before the
 * table's existence is checked, so a 404 never tells an unauthorized caller that a table
 * exists), execute (catalog, plan, SQL), encode. Every committed write appends one event to its
 * table's change feed (`_changes/<table>`) before it is answered, when feeds are on.
 * @module
 */

import type { Context } from "hono";
import { ApiError } from "../errors.ts";
import { type Endpoint, queryParameterNames } from "../openapi/mod.ts";
import type { Operation } from "../permissions.ts";
import type { Guard } from "../db/run.ts";
import { encodeRows, type FormatName, negotiateFormat, parseFormatName } from "../encode/mod.ts";
import {
  type AnswerCache,
  createTableApi,
  parseDeleteRequest,
  parsePrefer,
  parseReadRequest,
  parseUpdateRequest,
  type TableCaller,
  type WritePreferences,
  type WriteResult,
} from "../query/mod.ts";
import { withChangeFeed } from "../streams/table_feed.ts";
import { readJsonBody } from "./body.ts";
import type { QueryKind } from "../events.ts";
import { type AppContext, type AppEnv, rowsOptions } from "./context.ts";
import { queryGuard } from "./queries.ts";
import { createFeature, type Feature, type FeatureBuilder } from "./feature.ts";
import { cacheSlotOf, respondAnswer, streamResponse } from "./respond.ts";
import { encodeOptionsOf, OUTPUT_PARAMETERS, parseOutputOptions } from "./output.ts";
import { checkQueryParameters } from "./query_parameters.ts";
import { insertBody, UPLOAD_PARAMETERS, UPLOAD_TYPES } from "./ingest.ts";
import { revalidationOf } from "./revalidate.ts";
import { tenantTable } from "./tenants.ts";

type Ctx = Context<AppEnv>;

const READ_ROWS: Endpoint = {
  method: "GET",
  route: "/api/:table",
  path: "/api/{table}",
  pathParameters: { table: "table" },
  operationId: "readRows",
  tag: "Tables",
  tableOp: "r",
  summary: "Read rows",
  description: "Filter, sort, project and page through a table or view. Paginated reads " +
    "(`page` or `limit`) add `pagination` (and `_links` with `links=true`); unpaginated reads " +
    "return at most `absolute_max_rows` rows.",
  parameters: [
    "filter",
    "sort",
    "select",
    "page",
    "limit",
    "rowOffset",
    "links",
    "count",
    "after",
    "format",
    ...OUTPUT_PARAMETERS,
  ],
  responses: [{ status: 200, description: "The rows.", body: { kind: "rows" } }],
  errors: [
    "invalid_request",
    "unknown_parameter",
    "unknown_table",
    "unknown_column",
    "bad_filter",
    "bad_sort",
    "bad_select",
    "bad_pagination",
    "conversion_error",
    "not_acceptable",
    "query_timeout",
    "query_canceled",
  ],
};

const INSERT_ROWS: Endpoint = {
  method: "POST",
  route: "/api/:table",
  path: "/api/{table}",
  pathParameters: { table: "table" },
  operationId: "insertRows",
  tag: "Tables",
  tableOp: "c",
  summary: "Insert one row or many",
  description: "An object or an array of objects, inserted in one transaction (all or " +
    "nothing). Only the given columns are written, so DEFAULTs apply. `Prefer: " +
    "return=representation` answers the inserted rows; `on_conflict` or `Prefer: " +
    "resolution=merge-duplicates` upserts. A `text/csv` (header row names the columns), " +
    "`application/x-ndjson` or `application/vnd.apache.parquet` body is read by DuckDB's own " +
    "reader and inserted the same way (up to `max_upload_size`).",
  parameters: ["prefer", "on_conflict", "format", ...UPLOAD_PARAMETERS],
  requestBody: {
    schema: "table:insert",
    description: "The row(s), or a file of them.",
    required: true,
    files: UPLOAD_TYPES,
  },
  responses: [{
    status: 201,
    description: "Inserted.",
    body: { kind: "oneOf", bodies: [{ kind: "json", schema: "Changes" }, { kind: "rows" }] },
  }],
  errors: [
    "invalid_json",
    "invalid_request",
    "unknown_parameter",
    "unknown_table",
    "unknown_column",
    "conversion_error",
    "binder_error",
    "method_not_allowed",
    "read_only",
    "constraint_violation",
    "transaction_conflict",
    "payload_too_large",
    "query_timeout",
    "query_canceled",
  ],
};

const UPDATE_ROWS: Endpoint = {
  method: "PUT",
  route: "/api/:table",
  path: "/api/{table}",
  pathParameters: { table: "table" },
  operationId: "updateRows",
  tag: "Tables",
  tableOp: "u",
  summary: "Update rows",
  description: "`where` is an object of equality conditions or an array of " +
    "`{column, op, value}`; both it and `set` must be non-empty. Atomic.",
  parameters: ["prefer", "format"],
  requestBody: { schema: "table:update", description: "Conditions and values.", required: true },
  responses: [{
    status: 200,
    description: "Updated (the rows with `Prefer: return=representation`).",
    body: { kind: "oneOf", bodies: [{ kind: "json", schema: "Changes" }, { kind: "rows" }] },
  }],
  errors: [
    "invalid_json",
    "invalid_request",
    "unknown_parameter",
    "where_required",
    "unknown_table",
    "unknown_column",
    "bad_filter",
    "conversion_error",
    "method_not_allowed",
    "read_only",
    "constraint_violation",
    "transaction_conflict",
    "payload_too_large",
    "query_timeout",
    "query_canceled",
  ],
};

const DELETE_ROWS: Endpoint = {
  method: "DELETE",
  route: "/api/:table",
  path: "/api/{table}",
  pathParameters: { table: "table" },
  operationId: "deleteRows",
  tag: "Tables",
  tableOp: "d",
  summary: "Delete rows",
  description: "`where` is required. `dry_run=true` answers how many rows would go and " +
    "deletes nothing.",
  parameters: ["where", "dry_run", "prefer", "format"],
  responses: [{
    status: 200,
    description: "Deleted (or counted).",
    body: {
      kind: "oneOf",
      bodies: [
        { kind: "json", schema: "Changes" },
        { kind: "json", schema: "DryRun" },
        { kind: "rows" },
      ],
    },
  }],
  errors: [
    "invalid_request",
    "unknown_parameter",
    "where_required",
    "unknown_table",
    "unknown_column",
    "bad_filter",
    "conversion_error",
    "method_not_allowed",
    "read_only",
    "constraint_violation",
    "transaction_conflict",
    "query_timeout",
    "query_canceled",
  ],
};

/** The `/api/{table}` routes (relative to the route prefix, behind the key check). */
export function tableRoutes(ctx: AppContext, cache: AnswerCache): Feature {
  const { config, engine } = ctx;
  const changes = ctx.streams?.changes ?? null;
  const tables = createTableApi(engine.pool, {
    maxRowsPerPage: config.max_rows_per_page,
    absoluteMaxRows: config.absolute_max_rows,
  }, engine.uploads);
  // The change feed decorates the table API: every committed write is recorded.
  const api = changes ? withChangeFeed(tables, changes) : tables;
  const feature = createFeature();
  const authorized = tableAuthorizer(ctx);
  // Every guarded run is the request's query (`query_done`, the query histogram).
  const guardOf = (c: Ctx, kind: QueryKind = "crud"): Guard => {
    return queryGuard(ctx, c, kind);
  };
  const callerOf = (c: Ctx): TableCaller => ({
    owner: c.get("principal"),
    requestId: c.get("requestId"),
  });

  feature.route(READ_ROWS, async (c) => {
    const table = authorized(c, READ_ROWS, "r");
    const url = new URL(c.req.url);
    const output = parseOutputOptions(c.req.raw, config, { fileName: fileNameOf(table) });
    const request = parseReadRequest(table, url.searchParams);
    const kind = output.export ? "export" : "crud";
    const answer = await api.read(request, guardOf(c, kind), url.pathname, callerOf(c), {
      cap: output.cap,
      encode: encodeOptionsOf(output, engine.scratchDirectory),
      cache: cacheSlotOf(cache, engine.pool, c.req.raw, output),
      revalidate: revalidationOf(c.req.raw, output),
    });
    return respondAnswer(answer, rowsOptions(ctx, c, output));
  });

  feature.route(INSERT_ROWS, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const onConflict = c.req.query("on_conflict") !== undefined;
    const table = authorized(c, INSERT_ROWS, ...writeOps("c", prefer, onConflict));
    const format = prefer.returning ? formatOf(c) : "json";
    const params = new URL(c.req.url).searchParams;
    const run = { guard: guardOf(c), caller: callerOf(c) };
    const result = await insertBody(ctx, c, { api, table, params, prefer, ...run });
    return await answerWrite(ctx, c, result, 201, format, prefer);
  });

  feature.route(UPDATE_ROWS, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, UPDATE_ROWS, ...writeOps("u", prefer));
    const format = prefer.returning ? formatOf(c) : "json";
    const request = parseUpdateRequest(
      table,
      prefer,
      await readJsonBody(c.req.raw, config.max_body_size),
    );
    const result = await api.update(request, guardOf(c), callerOf(c));
    return await answerWrite(ctx, c, result, 200, format, prefer);
  });

  feature.route(DELETE_ROWS, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, DELETE_ROWS, ...writeOps("d", prefer));
    const format = prefer.returning ? formatOf(c) : "json";
    const request = parseDeleteRequest(table, new URL(c.req.url).searchParams, prefer);
    const result = await api.remove(request, guardOf(c), callerOf(c));
    return await answerWrite(ctx, c, result, 200, format, prefer);
  });

  addFallbacks(feature);
  return feature;
}

/**
 * `authorized(c, endpoint, ...ops)`: the table as written in the URL, after authorizing `ops` on
 * it; then the query parameters must be ones `endpoint` takes (400 `unknown_parameter`).
 */
function tableAuthorizer(
  ctx: AppContext,
): (c: Ctx, endpoint: Endpoint, ...ops: Operation[]) => string {
  const known = new Map(
    [READ_ROWS, INSERT_ROWS, UPDATE_ROWS, DELETE_ROWS].map((e) => [
      e,
      queryParameterNames(e, ctx.config),
    ]),
  );
  return (c, endpoint, ...ops) => {
    // A tenant's request names tables in its database (`tenants.ts`).
    const table = tenantTable(ctx, c, c.req.param("table") ?? "");
    for (const op of ops) ctx.auth.authorize(c.get("principal"), op, table);
    checkQueryParameters(
      new URL(c.req.url).searchParams,
      known.get(endpoint)!,
      `${endpoint.method} ${endpoint.path}`,
    );
    return table;
  };
}

/** The format of the rows a write answers (`format=`, else `Accept`). */
function formatOf(c: Ctx): FormatName {
  const explicit = c.req.query("format");
  return negotiateFormat(
    explicit ? parseFormatName(explicit) : null,
    c.req.header("accept") ?? null,
  );
}

/** The 405 detail for other methods on `/api/{table}`; 400 for `/api` without a table. */
function addFallbacks(feature: FeatureBuilder): void {
  feature.notAllowed(READ_ROWS.route, (method) => `${method} is not allowed on /api/{table}.`);
  const noTable = () => {
    throw new ApiError("invalid_request", "Invalid path: table name required (/api/{table}).");
  };
  feature.fallback("/api", noTable);
  feature.fallback("/api/", noTable);
}

/**
 * The operations a write needs: its own, plus `u` when an upsert may update existing rows and `r`
 * when the written rows come back (`Prefer: return=representation`).
 */
function writeOps(op: Operation, prefer: WritePreferences, onConflict = false): Operation[] {
  const ops: Operation[] = [op];
  const merges = prefer.resolution === "merge" || (onConflict && prefer.resolution === null);
  if (op === "c" && merges) ops.push("u");
  if (prefer.returning) ops.push("r");
  return ops;
}

/** The download name of a table's rows: its name with anything odd replaced. */
function fileNameOf(table: string): string {
  return table.replace(/[^A-Za-z0-9._-]+/g, "_") || "rows";
}

async function answerWrite(
  ctx: AppContext,
  c: Ctx,
  result: WriteResult,
  status: 200 | 201,
  format: FormatName,
  prefer: WritePreferences,
): Promise<Response> {
  if (result.kind === "dry_run") {
    return c.json({ dry_run: true, affected_rows: result.affectedRows }, 200);
  }
  if (result.kind === "changed") {
    return c.json({ success: true, rows_affected: result.rowsAffected }, status);
  }
  const encoded = await encodeRows(result.source, {
    format,
    cap: 0,
    json: { bigNumbers: "number" },
    csv: { delimiter: ",", nullMarker: "" },
    meta: { success: true, rows_affected: result.rowsAffected },
  });
  const response = streamResponse(encoded, {
    format,
    requestId: c.get("requestId"),
    log: ctx.log,
    headers: {
      "preference-applied": [
        "return=representation",
        ...(prefer.resolution === "merge" ? ["resolution=merge-duplicates"] : []),
        ...(prefer.resolution === "ignore" ? ["resolution=ignore-duplicates"] : []),
      ].join(", "),
    },
  });
  return new Response(response.body, { status, headers: response.headers });
}
