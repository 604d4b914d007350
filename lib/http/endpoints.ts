/**
 * The endpoint registry: one row per endpoint the server can answer (method and Hono route as
 * registered in `app.ts`), with what the OpenAPI document says about it. The document lists a
 * row only when the app really registered that route (see {@link documentRoutes}), so rows for
 * endpoints that arrive with other modules can sit here before their routes exist; a registered
 * route without a row is reported as undocumented (and a test fails).
 *
 * Also here: the public routes (served without a key). The filter operators are documented from
 * the CRUD planner's own registry (`OPERATORS` in `lib/query/filters.ts`).
 *
 * Durable Streams rows (`base: "streams"`) are relative to `streams_prefix`, which sits at the
 * server root outside the route prefix; one Hono route (`{streams_prefix}/*`, any method) has a
 * row per documented method.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { documentRoutes } from "./endpoints.ts";
 * const routes = [
 *   { method: "ALL", path: "/duckdb/health", handler: (_c: unknown) => null },
 *   { method: "GET", path: "/duckdb/nowhere", handler: (_c: unknown) => null },
 * ];
 * const { endpoints, undocumented } = documentRoutes(routes, "/duckdb");
 * deepEqual(endpoints.map((e) => e.route), ["/health"]);
 * deepEqual(undocumented, ["GET /duckdb/nowhere"]);
 * ```
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import type { Operation } from "../auth/mod.ts";

/** An HTTP method an endpoint is documented with. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS";

/** What a successful answer carries. */
export type SuccessBody =
  | { kind: "rows" } // a row set in every registered format (JSON envelope or export formats)
  | { kind: "json"; schema: string } // a JSON body described by a component schema
  | { kind: "html" }
  | { kind: "asset" }
  | { kind: "openapi" }
  | { kind: "stream" } // a stream's messages in its own content type (a JSON array in JSON mode)
  | { kind: "sse" } // text/event-stream of data and control events
  | { kind: "empty" }; // no body

/** One success response. */
export interface SuccessResponse {
  status: number;
  description: string;
  body: SuccessBody | { kind: "oneOf"; bodies: SuccessBody[] };
  /** Names of `components/headers` entries the response carries (besides `X-Request-ID`). */
  headers?: string[];
}

/** One endpoint: how it is registered, and how it is documented. */
export interface Endpoint {
  /** The Hono method it is registered with (`ALL` for any method). */
  method: HttpMethod | "ALL";
  /** What `route` and `path` are relative to: `route_prefix` (default) or `streams_prefix`. */
  base?: "route" | "streams";
  /** The Hono route pattern, relative to the base prefix, as registered. */
  route: string;
  /** The OpenAPI path template relative to the base prefix. */
  path: string;
  /** Methods documented for an `ALL` route (the others are accepted too). */
  documentAs?: HttpMethod[];
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** A table operation: also documented once per table the caller may do this on. */
  tableOp?: Operation;
  /** Names of `components/parameters` entries (besides the path parameters). */
  parameters?: string[];
  /** Path parameters of a template: name to component parameter name. */
  pathParameters?: Record<string, string>;
  /** A request body: component schema name (or `table:insert`, `table:update`, `stream:body`). */
  requestBody?: { schema: string; description: string; required: boolean };
  responses: SuccessResponse[];
  /** Error codes besides the common ones (internal_error, unavailable, auth codes). */
  errors: ErrorCode[];
}

/** Paths (relative to the prefix, `*` as a trailing wildcard) served without an API key. */
export const PUBLIC_ROUTES: readonly string[] = [
  "/health",
  "/livez",
  "/readyz",
  "/openapi.json",
  "/docs",
  "/docs/*",
];

/** True when `route` (a path relative to the prefix) is public. */
export function isPublicRoute(route: string): boolean {
  return PUBLIC_ROUTES.some((p) =>
    p.endsWith("/*") ? route.startsWith(p.slice(0, -1)) : route === p
  );
}

/** True when `path` (a request path including the prefix) is public. */
export function isPublicPath(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && isPublicRoute(path.slice(prefix.length));
}

/** Query parameters of every endpoint that answers rows (see `lib/http/output.ts`). */
const OUTPUT_PARAMETERS = ["download", "delimiter", "null", "header", "big_numbers"];

const rows: SuccessResponse = { status: 200, description: "The rows.", body: { kind: "rows" } };

/** Every endpoint, in document order. */
export const ENDPOINTS: readonly Endpoint[] = [
  {
    method: "ALL",
    route: "/health",
    path: "/health",
    documentAs: ["GET"],
    operationId: "health",
    tag: "Probes",
    summary: "Health check (reference-compatible)",
    description: "Pings the database. Answers any HTTP method, as the reference module did.",
    responses: [{ status: 200, description: "Healthy.", body: { kind: "json", schema: "Health" } }],
    errors: [],
  },
  {
    method: "GET",
    route: "/livez",
    path: "/livez",
    operationId: "livez",
    tag: "Probes",
    summary: "Liveness: the process serves HTTP",
    description: "200 in every phase (starting, ready, draining) while the process is up.",
    responses: [{ status: 200, description: "Alive.", body: { kind: "json", schema: "Probe" } }],
    errors: [],
  },
  {
    method: "GET",
    route: "/readyz",
    path: "/readyz",
    operationId: "readyz",
    tag: "Probes",
    summary: "Readiness: the database is open and answering",
    description: "503 `unavailable` with `Retry-After` while starting or draining, or when the " +
      "database does not answer a ping within 2 s.",
    responses: [{ status: 200, description: "Ready.", body: { kind: "json", schema: "Probe" } }],
    errors: [],
  },
  {
    method: "GET",
    route: "/openapi.json",
    path: "/openapi.json",
    operationId: "openapi",
    tag: "Documentation",
    summary: "This OpenAPI 3.1 document",
    description: "Generated per request from the live catalog. Without a key it lists no table " +
      "paths when authentication is on; with a key, the tables and operations that key may use.",
    responses: [{
      status: 200,
      description: "The OpenAPI document.",
      body: { kind: "openapi" },
    }],
    errors: [],
  },
  {
    method: "GET",
    route: "/docs",
    path: "/docs",
    operationId: "docs",
    tag: "Documentation",
    summary: "Interactive API reference (Swagger UI, served from the binary)",
    responses: [{ status: 200, description: "The page.", body: { kind: "html" } }],
    errors: [],
  },
  {
    method: "GET",
    route: "/docs/:asset",
    path: "/docs/{asset}",
    pathParameters: { asset: "asset" },
    operationId: "docsAsset",
    tag: "Documentation",
    summary: "A script or style sheet of the API reference page",
    responses: [{ status: 200, description: "The asset.", body: { kind: "asset" } }],
    errors: ["route_not_found"],
  },
  {
    method: "GET",
    route: "/tables",
    path: "/tables",
    operationId: "listTables",
    tag: "Schema",
    summary: "Tables and views the key may read",
    description: "Columns, types, nullability, primary key and DuckDB's row count estimate of " +
      "every table and view the caller's role may read (`r`); others are left out.",
    responses: [{
      status: 200,
      description: "The tables.",
      body: { kind: "json", schema: "TableList" },
    }],
    errors: [],
  },
  {
    method: "GET",
    route: "/tables/:table",
    path: "/tables/{table}",
    pathParameters: { table: "table" },
    operationId: "describeTable",
    tag: "Schema",
    summary: "One table or view",
    description: "403 when the role may not read the table, checked before its existence " +
      "(so no key learns which tables exist); 404 for an unknown table.",
    responses: [{
      status: 200,
      description: "The table.",
      body: { kind: "json", schema: "TableInfo" },
    }],
    errors: ["unknown_table"],
  },
  {
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
    ],
  },
  {
    method: "GET",
    route: "/query/*",
    path: "/query/{sql}/result.{format}",
    pathParameters: { sql: "sql", format: "resultFormat" },
    parameters: [...OUTPUT_PARAMETERS],
    operationId: "queryGet",
    tag: "Raw SQL",
    summary: "Run read-only SQL from the URL (bookmarkable)",
    description: "Only statements that DuckDB's parser classifies as queries run here, inside a " +
      "read-only transaction; anything else is refused with 405 `not_read_only`.",
    responses: [rows],
    errors: [
      "invalid_request",
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
    ],
  },
  {
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
      "links",
      "count",
      "after",
      "format",
      ...OUTPUT_PARAMETERS,
    ],
    responses: [rows],
    errors: [
      "invalid_request",
      "unknown_table",
      "unknown_column",
      "bad_filter",
      "bad_sort",
      "bad_pagination",
      "conversion_error",
      "not_acceptable",
      "query_timeout",
    ],
  },
  {
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
      "resolution=merge-duplicates` upserts.",
    parameters: ["prefer", "on_conflict"],
    requestBody: { schema: "table:insert", description: "The row(s).", required: true },
    responses: [{
      status: 201,
      description: "Inserted.",
      body: { kind: "oneOf", bodies: [{ kind: "json", schema: "Changes" }, { kind: "rows" }] },
    }],
    errors: [
      "invalid_json",
      "invalid_request",
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
    ],
  },
  {
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
    parameters: ["prefer"],
    requestBody: { schema: "table:update", description: "Conditions and values.", required: true },
    responses: [{
      status: 200,
      description: "Updated (the rows with `Prefer: return=representation`).",
      body: { kind: "oneOf", bodies: [{ kind: "json", schema: "Changes" }, { kind: "rows" }] },
    }],
    errors: [
      "invalid_json",
      "invalid_request",
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
    ],
  },
  {
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
    parameters: ["where", "dry_run", "prefer"],
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
    ],
  },
  ...streamEndpoints(),
];

/** The Durable Streams protocol at `{streams_prefix}/{path}`: one row per method. */
function streamEndpoints(): Endpoint[] {
  const common = {
    method: "ALL" as const,
    base: "streams" as const,
    route: "/*",
    path: "/{path}",
    pathParameters: { path: "streamPath" },
    tag: "Streams",
  };
  const path: ErrorCode[] = ["invalid_request", "bad_path", "reserved_path"];
  const missing: ErrorCode[] = ["stream_not_found", "stream_gone"];
  return [
    {
      ...common,
      documentAs: ["PUT"],
      operationId: "createStream",
      summary: "Create a stream",
      description: "Creates the stream with the body's `Content-Type` (default " +
        "`application/octet-stream`; `application/json` streams hold JSON messages) and the " +
        "body as its first data. Repeating an identical create answers 200; another " +
        "configuration at the path is 409. `Stream-Forked-From` forks another stream (needs " +
        "read on it). Needs `c` on `stream:<path>`.",
      parameters: [
        "streamTtl",
        "streamExpiresAt",
        "streamClosed",
        "streamForkedFrom",
        "streamForkOffset",
        "streamForkSubOffset",
      ],
      requestBody: { schema: "stream:body", description: "Initial data.", required: false },
      responses: [
        {
          status: 201,
          description: "Created.",
          body: { kind: "empty" },
          headers: ["Location", "StreamNextOffset", "StreamClosed"],
        },
        {
          status: 200,
          description: "An identical stream exists.",
          body: { kind: "empty" },
          headers: ["StreamNextOffset", "StreamClosed"],
        },
      ],
      errors: [
        ...path,
        "read_only_stream",
        "bad_ttl",
        "bad_expires_at",
        "ttl_and_expires_at",
        "bad_fork_headers",
        "fork_offset_invalid",
        "fork_sub_offset_invalid",
        "fork_source_not_found",
        "fork_source_gone",
        "invalid_json",
        "stream_exists",
        "content_type_mismatch",
        "payload_too_large",
        "storage_failure",
      ],
    },
    {
      ...common,
      documentAs: ["HEAD"],
      operationId: "streamMetadata",
      summary: "A stream's metadata",
      description: "Content type, tail offset, TTL or expiry and closed state, without data. " +
        "Needs `r`.",
      responses: [{
        status: 200,
        description: "The stream exists.",
        body: { kind: "empty" },
        headers: ["StreamNextOffset", "StreamTtl", "StreamExpiresAt", "StreamClosed"],
      }],
      errors: [...path, ...missing],
    },
    {
      ...common,
      documentAs: ["GET"],
      operationId: "readStream",
      summary: "Read a stream (catch-up, long-poll or SSE)",
      description: "Catch-up reads answer the data after `offset` (at most about 1 MiB; " +
        "continue from `Stream-Next-Offset` until `Stream-Up-To-Date`). `live=long-poll` waits " +
        "up to `long_poll_timeout` for data (204 when none came); `live=sse` streams data and " +
        "control events (base64 for binary streams) until `sse_reconnect_interval`. JSON " +
        "streams answer one JSON array of messages. A table's change feed is " +
        "`_changes/<table>` (needs `r` on the table); other streams need `r` on " +
        "`stream:<path>`.",
      parameters: ["offset", "live", "cursor", "ifNoneMatch"],
      responses: [
        {
          status: 200,
          description: "Data (or an SSE response).",
          body: { kind: "oneOf", bodies: [{ kind: "stream" }, { kind: "sse" }] },
          headers: ["StreamNextOffset", "StreamUpToDate", "StreamCursor", "StreamClosed", "ETag"],
        },
        {
          status: 204,
          description: "Long-poll: no new data before the timeout (or the stream is closed).",
          body: { kind: "empty" },
          headers: ["StreamNextOffset", "StreamUpToDate", "StreamCursor", "StreamClosed"],
        },
        {
          status: 304,
          description: "`If-None-Match` matched: the same data as before.",
          body: { kind: "empty" },
          headers: ["ETag", "StreamNextOffset"],
        },
      ],
      errors: [...path, "bad_offset", "bad_query", ...missing],
    },
    {
      ...common,
      documentAs: ["POST"],
      operationId: "appendStream",
      summary: "Append to (or close) a stream",
      description: "Appends the body (its `Content-Type` must be the stream's; a JSON array " +
        "appends one message per element). `Stream-Closed: true` closes the stream, with or " +
        "without a last body. `Producer-Id`/`-Epoch`/`-Seq` make appends idempotent (200 " +
        "accepted, 204 duplicate); `Stream-Seq` must increase. Needs `c`.",
      parameters: ["streamClosed", "streamSeq", "producerId", "producerEpoch", "producerSeq"],
      requestBody: { schema: "stream:body", description: "The data to append.", required: false },
      responses: [
        {
          status: 204,
          description: "Appended (or a duplicate of an idempotent producer's append).",
          body: { kind: "empty" },
          headers: ["StreamNextOffset", "StreamClosed", "ProducerEpoch", "ProducerSeq"],
        },
        {
          status: 200,
          description: "An idempotent producer's append was accepted.",
          body: { kind: "empty" },
          headers: ["StreamNextOffset", "StreamClosed", "ProducerEpoch", "ProducerSeq"],
        },
      ],
      errors: [
        ...path,
        "read_only_stream",
        "missing_content_type",
        "empty_body",
        "invalid_json",
        "empty_json_array",
        "bad_producer_headers",
        "producer_epoch_seq",
        "producer_stale_epoch",
        ...missing,
        "stream_closed",
        "content_type_mismatch",
        "seq_conflict",
        "producer_seq_gap",
        "payload_too_large",
        "storage_failure",
      ],
    },
    {
      ...common,
      documentAs: ["DELETE"],
      operationId: "deleteStream",
      summary: "Delete a stream",
      description: "Deletes the stream; forks keep reading the data they share. Needs `d`.",
      responses: [{ status: 204, description: "Deleted.", body: { kind: "empty" } }],
      errors: [...path, "read_only_stream", ...missing, "storage_failure"],
    },
    {
      ...common,
      documentAs: ["OPTIONS"],
      operationId: "streamPreflight",
      summary: "CORS preflight (no key needed)",
      responses: [{
        status: 204,
        description: "The allowed methods and headers.",
        body: { kind: "empty" },
      }],
      errors: [],
    },
  ];
}

/** A route as Hono lists it in `app.routes`. */
export interface RegisteredRoute {
  method: string;
  path: string;
  handler: (...args: never[]) => unknown;
}

const FALLBACKS = new WeakSet<object>();

/**
 * Marks a handler as a fallback (an answer such as 405 for a path whose real endpoint has other
 * methods): fallbacks are not endpoints and stay out of the OpenAPI document.
 */
export function fallback<T extends object>(handler: T): T {
  FALLBACKS.add(handler);
  return handler;
}

/** Registered endpoints with their registry rows, and what has no row. */
export interface DocumentedRoutes {
  endpoints: Endpoint[];
  /** `METHOD path` of registered routes without a registry row. */
  undocumented: string[];
}

/**
 * Joins Hono's route list with the registry: middleware (handlers taking `next`) and
 * {@link fallback} handlers are skipped; every other route needs a row. Routes under
 * `streamsPrefix` (when streams are mounted) match the rows with `base: "streams"`.
 */
export function documentRoutes(
  routes: readonly RegisteredRoute[],
  prefix: string,
  streamsPrefix: string | null = null,
): DocumentedRoutes {
  const endpoints: Endpoint[] = [];
  const undocumented: string[] = [];
  for (const route of routes) {
    if (route.handler.length > 1 || FALLBACKS.has(route.handler)) continue;
    const streams = streamsPrefix !== null && route.path.startsWith(`${streamsPrefix}/`);
    const base = streams ? streamsPrefix : prefix;
    const relative = base && route.path.startsWith(base)
      ? route.path.slice(base.length)
      : route.path;
    const rows = ENDPOINTS.filter((e) =>
      e.method === route.method && e.route === relative &&
      (e.base === "streams") === streams
    );
    if (rows.length === 0) undocumented.push(`${route.method} ${route.path}`);
    for (const row of rows) if (!endpoints.includes(row)) endpoints.push(row);
  }
  endpoints.sort((a, b) => ENDPOINTS.indexOf(a) - ENDPOINTS.indexOf(b));
  return { endpoints, undocumented };
}
