/**
 * The one error type of the streams module and its RFC 9457 problem+json rendering.
 * @module
 */

/** Stable snake_case error codes, grouped by stage. */
export type StreamErrorCode =
  // request parsing
  | "bad_path"
  | "bad_offset"
  | "bad_query"
  | "bad_header"
  | "bad_ttl"
  | "bad_expires_at"
  | "ttl_and_expires_at"
  | "bad_producer_headers"
  | "bad_fork_headers"
  | "missing_content_type"
  | "empty_body"
  | "invalid_json"
  | "empty_json_array"
  | "payload_too_large"
  | "method_not_allowed"
  // stream state
  | "stream_not_found"
  | "stream_gone"
  | "stream_exists"
  | "stream_closed"
  | "content_type_mismatch"
  | "seq_conflict"
  | "producer_stale_epoch"
  | "producer_seq_gap"
  | "producer_epoch_seq"
  | "fork_source_not_found"
  | "fork_source_gone"
  | "fork_offset_invalid"
  | "fork_sub_offset_invalid"
  | "read_only_stream"
  | "forbidden"
  | "reserved_path"
  // engine
  | "storage_failure"
  | "service_closed";

/** An error carrying its HTTP status, stable code and extra response headers. */
export class StreamError extends Error {
  /** HTTP status code. */
  readonly status: number;
  /** Stable snake_case code. */
  readonly code: StreamErrorCode;
  /** Extra headers the protocol requires on this error (e.g. Producer-Expected-Seq). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: StreamErrorCode,
    detail: string,
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = "StreamError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The problem+json body for an error (5xx details never leak internals). */
export function problemBody(error: StreamError): string {
  const detail = error.status >= 500 ? TITLES[error.status] ?? "Server error" : error.message;
  return JSON.stringify({
    type: "about:blank",
    title: TITLES[error.status] ?? "Error",
    status: error.status,
    detail,
    code: error.code,
  });
}
