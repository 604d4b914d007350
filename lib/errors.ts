/**
 * The one error type of the HTTP surface, the DuckDB-error classification table, and the
 * RFC 9457 `application/problem+json` renderer. Every failure a client can see is an
 * {@link ApiError} rendered by {@link renderProblem}; handlers never build error responses.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { classifyDuckDBError } from "./errors.ts";
 * const err = classifyDuckDBError(new Error("Constraint Error: Duplicate key \"id: 1\""));
 * equal(err.status, 409);
 * equal(err.code, "constraint_violation");
 * ```
 * @module
 */

/** Every stable error code, its HTTP status and a one-line meaning (README's error table). */
export const ERROR_CODES = {
  invalid_json: [400, "The request body is not valid JSON."],
  invalid_request: [400, "The request is malformed: a parameter or body member is wrong."],
  invalid_config: [400, "The configuration document is invalid; `problems` lists every problem."],
  sql_required: [400, "The request has no SQL text."],
  syntax_error: [400, "DuckDB could not parse the SQL."],
  binder_error: [400, "The SQL names a column or function that does not exist, or mixes types."],
  conversion_error: [400, "A value could not be converted to the column or parameter type."],
  invalid_input: [400, "DuckDB rejected an input value or statement."],
  parameter_error: [400, "The bound parameters do not match the statement's placeholders."],
  statement_not_allowed: [400, "The statement type is not allowed here (e.g. BEGIN/COMMIT)."],
  not_implemented: [400, "DuckDB does not support this SQL feature."],
  unknown_column: [400, "The request names a column the table does not have."],
  bad_filter: [
    400,
    "A filter or where condition is malformed, uses an unknown operator, or there are too many.",
  ],
  bad_sort: [
    400,
    "The sort parameter is malformed (empty or repeated column, unknown direction, too many keys).",
  ],
  bad_select: [400, "The select parameter repeats a column or names too many columns."],
  bad_pagination: [400, "page, limit, offset, count or the after cursor is invalid."],
  unknown_parameter: [400, "The request has a query parameter this endpoint does not take."],
  where_required: [400, "PUT and DELETE need a non-empty where condition."],
  bad_path: [400, "The stream path is empty, too long, or has an empty, `.` or `..` segment."],
  bad_offset: [400, "The stream offset is malformed, repeated, beyond the tail or mid-message."],
  bad_query: [400, "A stream read parameter is malformed (`live` repeated or unknown)."],
  bad_ttl: [400, "Stream-TTL is not a non-negative integer of seconds."],
  bad_expires_at: [400, "Stream-Expires-At is not an RFC 3339 timestamp."],
  ttl_and_expires_at: [400, "Stream-TTL and Stream-Expires-At cannot both be given."],
  bad_producer_headers: [
    400,
    "Producer-Id, Producer-Epoch and Producer-Seq are incomplete or bad.",
  ],
  producer_epoch_seq: [400, "A new producer epoch must start at Producer-Seq 0."],
  bad_fork_headers: [400, "Stream-Forked-From is malformed or outside the streams prefix."],
  fork_offset_invalid: [400, "Stream-Fork-Offset is malformed, beyond the tail or mid-message."],
  fork_sub_offset_invalid: [400, "Stream-Fork-Sub-Offset is malformed or beyond its message."],
  missing_content_type: [400, "An append with a body needs a Content-Type."],
  empty_body: [400, "An append needs a body (or Stream-Closed: true)."],
  empty_json_array: [400, "Appending an empty JSON array to a JSON stream is not allowed."],
  unauthorized: [401, "No valid API key: missing, unknown, inactive or expired."],
  forbidden: [403, "The key's role lacks the permission for this operation and table."],
  sandbox_violation: [
    403,
    "The SQL tried to reach files, extensions or settings outside the sandbox.",
  ],
  read_only: [403, "The database is read-only (access_mode read_only)."],
  read_only_stream: [403, "The stream is written by the server only (a table change feed)."],
  producer_stale_epoch: [403, "A newer epoch of this producer has written; this one is fenced."],
  unknown_table: [404, "The table (or other catalog object) does not exist."],
  route_not_found: [404, "No endpoint at this path."],
  query_not_found: [404, "No running query has this request id (unknown, or already finished)."],
  stream_not_found: [404, "No stream at this path."],
  fork_source_not_found: [404, "The stream named by Stream-Forked-From does not exist."],
  reserved_path: [404, "Stream paths under `__ds/` are reserved."],
  method_not_allowed: [405, "The endpoint does not accept this HTTP method."],
  not_read_only: [405, "GET query endpoints run read-only statements only; use POST /query."],
  not_acceptable: [406, "None of the formats in Accept can be produced."],
  already_exists: [409, "The catalog object already exists."],
  constraint_violation: [
    409,
    "A constraint (primary key, unique, not null, check, foreign key) failed.",
  ],
  transaction_conflict: [409, "A concurrent write conflicted, still after retries."],
  stream_exists: [409, "A stream with another configuration exists at this path."],
  stream_closed: [409, "The stream is closed: it takes no more appends."],
  content_type_mismatch: [409, "The Content-Type is not the stream's (or the stream is not JSON)."],
  seq_conflict: [409, "Stream-Seq must increase from append to append."],
  producer_seq_gap: [409, "Producer-Seq skipped ahead; Producer-Expected-Seq names the next one."],
  fork_source_gone: [409, "The stream named by Stream-Forked-From was deleted."],
  restart_required: [409, "The configuration changes keys that need a restart (`keys`)."],
  query_canceled: [409, "The query was canceled (`DELETE {prefix}/queries/{request_id}`)."],
  attach_failed: [
    409,
    "The database could not be attached (another process holds its file, the sandbox does " +
    "not admit its path, or DuckDB refused it) or detached.",
  ],
  stream_gone: [410, "The stream was deleted (its forks still hold its data)."],
  payload_too_large: [413, "The request body exceeds max_body_size (files: max_upload_size)."],
  uri_too_long: [414, "The request URL is longer than 64 KiB (send SQL in a POST body)."],
  headers_too_large: [431, "The request headers are larger than 64 KiB."],
  too_many_requests: [429, "Too many failed authentications from this address; retry later."],
  rate_limited: [429, "The key's or the address's rate limit is used up; see Retry-After."],
  client_closed_request: [499, "The client went away before the answer was ready."],
  internal_error: [500, "A bug in duckserve; the log has details under the request ID."],
  result_failed: [
    500,
    "The query failed while a streamed result was read; the driver gives no reason.",
  ],
  out_of_memory: [503, "DuckDB ran out of memory for this statement (memory_limit)."],
  unavailable: [503, "The server is starting or shutting down."],
  overloaded: [503, "Every query slot is busy and the queue is full; see Retry-After."],
  storage_failure: [
    503,
    "Stream storage failed (I/O error, full disk); writes wait for a restart.",
  ],
  query_timeout: [504, "The statement ran longer than query_timeout and was interrupted."],
} as const satisfies Record<string, readonly [number, string]>;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of an {@link ApiError}. */
export interface ApiErrorOptions {
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`, `Allow`). */
  headers?: Record<string, string>;
  /** Extra members of the problem body. */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/** The error every stage throws; {@link renderProblem} turns it into a response. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(readonly code: ErrorCode, detail?: string, options: ApiErrorOptions = {}) {
    super(detail ?? ERROR_CODES[code][1], { cause: options.cause });
    this.status = ERROR_CODES[code][0];
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }
}

/** A write-write conflict between transactions. */
const CONFLICT = /^TransactionContext Error: .*[Cc]onflict/s;

/** DuckDB's error class (the text before ` Error:`) to our code; first match wins. */
const DUCKDB_ERROR_TABLE: readonly [RegExp, ErrorCode, boolean][] = [
  // [pattern on the message, code, keep DuckDB's message as detail]
  [/read_stream\(\): forbidden/, "forbidden", true],
  [/read_stream\(\): no stream/, "unknown_table", true],
  [/^Parser Error/, "syntax_error", true],
  [/^Catalog Error: .*(does not exist|not found)/s, "unknown_table", true],
  [/^Catalog Error: .*already exists/s, "already_exists", true],
  [/^Catalog Error/, "binder_error", true],
  [/^Binder Error/, "binder_error", true],
  [/^(Conversion|Out of Range|Mismatch Type) Error/, "conversion_error", true],
  [/^Constraint Error/, "constraint_violation", true],
  [/^Dependency Error/, "constraint_violation", true],
  [/^Permission Error/, "sandbox_violation", true],
  [
    /the configuration has been locked|Cannot change configuration option/,
    "sandbox_violation",
    true,
  ],
  [/read-only mode|attached in read-only/, "read_only", true],
  [CONFLICT, "transaction_conflict", true],
  [/^Interrupt Error|INTERRUPT/, "query_timeout", false],
  [/^Out of Memory Error/, "out_of_memory", true],
  [/^Not implemented Error/, "not_implemented", true],
  [
    /^Invalid Input Error: (Values were not provided|Could not find parameter|Prepared statement)/s,
    "parameter_error",
    true,
  ],
  [/^Invalid Input Error/, "invalid_input", true],
  // e.g. CREATE SECRET: secret storage cannot start in the sandbox.
  [/^Invalid Configuration Error/, "invalid_input", true],
  [/^(Sequence|Invalid type|Syntax) Error/, "invalid_input", true],
  [/^IO Error/, "invalid_input", true],
  [/^TransactionContext Error/, "invalid_input", true],
];

/**
 * Turns an engine error into an {@link ApiError} with the status of its class. Unknown classes
 * become `internal_error`, whose body carries no engine text.
 */
export function classifyDuckDBError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  for (const [pattern, code, keep] of DUCKDB_ERROR_TABLE) {
    if (pattern.test(message)) {
      const detail = keep ? message.trim() + sandboxHint(message) : undefined;
      return new ApiError(code, detail, { cause: err });
    }
  }
  return new ApiError("internal_error", undefined, { cause: err });
}

/** A file or directory path DuckDB's sandbox refused. */
const SANDBOX_PATH = /^Permission Error: Cannot access (?:file|directory) "([^"]*)"/;

/**
 * What to do about a sandbox refusal of a local path (DuckDB says only that "file system
 * operations are disabled by configuration"): name the setting that opens directories. Remote
 * URLs and DuckDB's own extension directory get no hint: no setting opens them.
 */
function sandboxHint(message: string): string {
  const path = SANDBOX_PATH.exec(message)?.[1];
  if (path === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return "";
  if (/\/\.duckdb\/extensions(\/|$)/.test(path)) return "";
  return "\n\nHint: user SQL reads and writes files only inside the directories listed in the " +
    "server's allowed_directories setting (none by default); this path is outside them.";
}

/** True when the engine error is a write-write conflict worth retrying. */
export function isTransactionConflict(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return CONFLICT.test(message) ||
    /write-write conflict|Conflict on (tuple|table|update)/i.test(message);
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  414: "URI Too Long",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  499: "Client Closed Request",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The problem+json body of an error, as sent. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  /** Reference-compatible alias of `title`. */
  error: string;
  /** Reference-compatible alias of `detail`. */
  message: string;
  [extra: string]: unknown;
}

/**
 * Stands for the configured route prefix in an error message (`Use POST {prefix}/query.`), for
 * stages that do not know it; {@link problemBody} fills it in.
 */
export const PREFIX_PLACEHOLDER = "{prefix}";

/**
 * Builds the RFC 9457 body of an error; 5xx bodies never carry engine internals.
 * {@link PREFIX_PLACEHOLDER} in the message becomes `routePrefix` (`""` for none).
 */
export function problemBody(err: ApiError, requestId: string, routePrefix = ""): ProblemBody {
  const title = STATUS_TEXT[err.status] ?? "Error";
  const detail = err.code === "internal_error"
    ? `${ERROR_CODES.internal_error[1]} (request ${requestId})`
    : err.message.replaceAll(PREFIX_PLACEHOLDER, routePrefix);
  return {
    type: "about:blank",
    title,
    status: err.status,
    detail,
    code: err.code,
    request_id: requestId,
    ...err.extra,
    error: title,
    message: detail,
  };
}

/**
 * Renders any thrown value as an `application/problem+json` response (`routePrefix`: the
 * configured `route_prefix`, see {@link problemBody}).
 */
export function renderProblem(err: unknown, requestId: string, routePrefix = ""): Response {
  const apiError = err instanceof ApiError ? err : new ApiError("internal_error", undefined, {
    cause: err,
  });
  return new Response(JSON.stringify(problemBody(apiError, requestId, routePrefix)), {
    status: apiError.status,
    headers: {
      "content-type": "application/problem+json",
      "x-request-id": requestId,
      ...apiError.headers,
    },
  });
}
