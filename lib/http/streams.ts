/**
 * The streams feature: Durable Streams at `{streams_prefix}/*` (at the server root, mounted before
 * the route prefix's key check): decodes the stream path, authenticates with the server's API
 * keys unless `streams_auth` is `none`, authorizes each action on the `stream:<path>`
 * pseudo-table (a change feed `_changes/<table>` is read with `r` on the table; a refusal is the
 * auth stage's 403 naming the operation and stream) and hands the request to the protocol
 * handler. Errors are rendered by the app's one renderer, with the protocol's CORS and security
 * headers (`problemHeaders`). The feature's document part (`lib/streams/openapi_part.ts`) is
 * passed to the document by `app.ts`.
 * @module
 */

import { ApiError, type ErrorCode } from "../errors.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import type { Endpoint } from "../openapi/mod.ts";
import {
  baseHeaders,
  canonicalStreamPath,
  feedTableOf,
  streamAccess,
  type StreamAction,
  type StreamsRuntime,
} from "../streams/mod.ts";
import { type AppContext, remoteAddressOf } from "./context.ts";
import type { Ops } from "../ops/mod.ts";
import { rateLimitHeaders } from "../ops/mod.ts";
import { refuse, takeKeyToken } from "./ops.ts";
import { createFeature, type Feature } from "./feature.ts";

/** Throws 403 `forbidden` unless `principal` may do `action` on the stream at `path`. */
function authorizeStream(
  auth: Auth,
  principal: Principal,
  action: StreamAction,
  path: string,
): void {
  const { operation, table } = streamAccess(action, path);
  auth.authorize(principal, operation, table);
}

/** The streams route, relative to `streams_prefix` (mount it at `runtime.prefix`). */
export function streamRoutes(ctx: AppContext, runtime: StreamsRuntime, ops: Ops): Feature {
  const { service, prefix, changes } = runtime;
  const auth = ctx.config.streams_auth === "keys" ? ctx.auth : null;
  const feature = createFeature();

  feature.route(STREAM_ENDPOINTS, async (c) => {
    c.set("problemHeaders", baseHeaders);
    const request = c.req.raw;
    let path: string;
    try {
      const rest = new URL(request.url).pathname.slice(prefix.length + 1);
      path = canonicalStreamPath(rest.split("/").map(decodeURIComponent).join("/"));
    } catch {
      throw new ApiError("invalid_request", "The stream path is not valid percent-encoding.");
    }
    let principal: Principal | null = null;
    if (auth && request.method !== "OPTIONS") {
      principal = auth.authenticate(request, remoteAddressOf(c));
      c.set("principal", principal);
    }
    // The key's rate limit (the anonymous one ran before the features).
    const decision = principal ? takeKeyToken(ops, principal) : null;
    if (decision && !decision.allowed) {
      throw refuse(c, ops, "key", decision, rateLimitHeaders("key", decision));
    }
    const following = changes !== null && (request.method === "GET" || request.method === "HEAD");
    const response = await service.handle(request, path, prefix, {
      requestId: c.get("requestId"),
      authorize: async (action, target) => {
        if (auth && principal) authorizeStream(auth, principal, action, target);
        // A table's feed can be followed before its first event.
        if (following && action === "read" && feedTableOf(target) !== null) {
          await service.ensureJsonStream(target);
        }
        return true;
      },
    });
    if (!decision) return response;
    // Under the limit, the answer says what is left.
    const headers = new Headers(response.headers);
    for (const [name, value] of Object.entries(rateLimitHeaders("key", decision))) {
      headers.set(name, value);
    }
    return new Response(response.body, { status: response.status, headers });
  });
  return feature;
}

/** What every stream row shares: one Hono route (`{streams_prefix}/*`, any method). */
const STREAM_ROUTE = {
  method: "ALL" as const,
  base: "streams",
  route: "/*",
  path: "/{path}",
  pathParameters: { path: "streamPath" },
  tag: "Streams",
};

const PATH_ERRORS: ErrorCode[] = ["invalid_request", "bad_path", "reserved_path"];
const MISSING: ErrorCode[] = ["stream_not_found", "stream_gone"];

const CREATE_STREAM: Endpoint = {
  ...STREAM_ROUTE,
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
    ...PATH_ERRORS,
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
};

const STREAM_METADATA: Endpoint = {
  ...STREAM_ROUTE,
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
  errors: [...PATH_ERRORS, ...MISSING],
};

const READ_STREAM: Endpoint = {
  ...STREAM_ROUTE,
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
  errors: [...PATH_ERRORS, "bad_offset", "bad_query", ...MISSING],
};

const APPEND_STREAM: Endpoint = {
  ...STREAM_ROUTE,
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
    ...PATH_ERRORS,
    "read_only_stream",
    "missing_content_type",
    "empty_body",
    "invalid_json",
    "empty_json_array",
    "bad_producer_headers",
    "producer_epoch_seq",
    "producer_stale_epoch",
    ...MISSING,
    "stream_closed",
    "content_type_mismatch",
    "seq_conflict",
    "producer_seq_gap",
    "payload_too_large",
    "storage_failure",
  ],
};

const DELETE_STREAM: Endpoint = {
  ...STREAM_ROUTE,
  documentAs: ["DELETE"],
  operationId: "deleteStream",
  summary: "Delete a stream",
  description: "Deletes the stream; forks keep reading the data they share. Needs `d`.",
  responses: [{ status: 204, description: "Deleted.", body: { kind: "empty" } }],
  errors: [...PATH_ERRORS, "read_only_stream", ...MISSING, "storage_failure"],
};

const STREAM_PREFLIGHT: Endpoint = {
  ...STREAM_ROUTE,
  documentAs: ["OPTIONS"],
  operationId: "streamPreflight",
  summary: "CORS preflight (no key needed)",
  responses: [{
    status: 204,
    description: "The allowed methods and headers.",
    body: { kind: "empty" },
  }],
  errors: [],
};

/** The Durable Streams protocol at `{streams_prefix}/{path}`: one row per method. */
const STREAM_ENDPOINTS: readonly Endpoint[] = [
  CREATE_STREAM,
  STREAM_METADATA,
  READ_STREAM,
  APPEND_STREAM,
  DELETE_STREAM,
  STREAM_PREFLIGHT,
];
