/**
 * One endpoint row: how a route is registered (method, Hono route, base, public or not) and what
 * the OpenAPI document says about it. Each HTTP feature declares its rows next to its handlers
 * and registers both at once (`lib/http/feature.ts`), so the document lists exactly the routes
 * the app answers.
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import type { Operation } from "../permissions.ts";

/** An HTTP method an endpoint is documented with. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS";

/** What a successful answer carries. */
export type SuccessBody =
  | { kind: "rows" } // a row set in every registered format (JSON envelope or export formats)
  | { kind: "json"; schema: string } // a JSON body described by a component schema
  | { kind: "html" }
  | { kind: "text" } // text/plain (the Prometheus exposition format)
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
  /**
   * What `route` and `path` are relative to: `route_prefix` (default), or the base a document
   * part describes (`streams`: `streams_prefix`).
   */
  base?: string;
  /** The Hono route pattern, relative to the base prefix, as registered. */
  route: string;
  /** The OpenAPI path template relative to the base prefix. */
  path: string;
  /**
   * Served without an API key (route prefix only). A route pattern with a parameter makes the
   * whole subtree below its fixed part public (`/docs/:asset`: every path under `/docs/`).
   */
  public?: boolean;
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
  requestBody?: {
    schema: string;
    description: string;
    required: boolean;
    /** Media types also taken as a file body (`text/csv`, ...), besides the JSON schema. */
    files?: readonly string[];
  };
  responses: SuccessResponse[];
  /** Error codes besides the common ones (internal_error, unavailable, auth codes). */
  errors: ErrorCode[];
}
