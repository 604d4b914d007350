/**
 * The streams feature's part of the OpenAPI document: the `Streams` tag, the protocol's
 * parameters and response headers, the content of stream and SSE bodies, the request body of
 * creates and appends, and the `streams` base (paths at `streams_prefix`, written from the server
 * root, public when `streams_auth` is `none`). The endpoint rows are in `lib/http/streams.ts`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { streamsDocumentPart } from "./openapi_part.ts";
 * const part = streamsDocumentPart();
 * equal(part.headers?.StreamNextOffset.header, "Stream-Next-Offset");
 * equal(part.bases?.streams.servers[0].url, "/");
 * ```
 * @module
 */

import type { BasePart, Content, DocumentPart, HeaderPart } from "../openapi/part.ts";

/** The streams feature's part of the document. */
export function streamsDocumentPart(): DocumentPart {
  return {
    tags: [{
      name: "Streams",
      description: "Durable Streams at `streams_prefix` (outside `route_prefix`): durable, " +
        "offset-addressed byte and JSON streams, and the table change feeds `_changes/<table>`.",
    }],
    parameters: streamParameters(),
    headers: streamHeaders(),
    bodies: { stream: streamContent(), sse: sseContent() },
    requestBodies: { "stream:body": streamBody() },
    bases: { streams: STREAMS_BASE },
  };
}

/** Stream endpoints sit at `streams_prefix`, from the server root. */
const STREAMS_BASE: BasePart = {
  prefix: (config) => config.streams_prefix,
  isPublic: (config, method) => config.streams_auth === "none" || method === "OPTIONS",
  servers: [{ url: "/", description: "The server root (streams_prefix)" }],
};

/** Request body of stream creates and appends: any content type; JSON streams take JSON. */
function streamBody(): Content {
  return {
    "application/json": {
      schema: {
        description: "JSON streams: one message, or an array appending one message per element.",
      },
    },
    "*/*": { schema: { type: "string", format: "binary" } },
  };
}

function streamContent(): Content {
  return {
    "application/json": {
      schema: { type: "array", description: "A JSON stream: its messages, in order." },
    },
    "*/*": {
      schema: {
        type: "string",
        format: "binary",
        description: "Any other stream: its bytes, in its own content type.",
      },
    },
  };
}

function sseContent(): Content {
  return {
    "text/event-stream": {
      schema: {
        type: "string",
        description: "`event: data` (the messages; base64 for binary streams when " +
          "`Stream-SSE-Data-Encoding: base64`) and `event: control` " +
          '(`{"streamNextOffset", "streamCursor", "upToDate", "streamClosed"}`).',
      },
    },
  };
}

/** Response header components of the streams protocol, with the header each documents. */
function streamHeaders(): Record<string, HeaderPart> {
  const text = (header: string, description: string): HeaderPart => ({
    header,
    component: { description, schema: { type: "string" } },
  });
  const flag = (header: string, description: string): HeaderPart => ({
    header,
    component: { description, schema: { type: "string", enum: ["true"] } },
  });
  return {
    Location: text("Location", "The new stream's URL."),
    ETag: text("ETag", "Names the stream instance and the range served (for `If-None-Match`)."),
    StreamNextOffset: text(
      "Stream-Next-Offset",
      "Where to read next: the offset after the data served (opaque).",
    ),
    StreamUpToDate: flag("Stream-Up-To-Date", "`true` when the answer reaches the stream's tail."),
    StreamCursor: text(
      "Stream-Cursor",
      "Echo as `cursor=` on the next live read (CDN cache busting).",
    ),
    StreamClosed: flag(
      "Stream-Closed",
      "`true` when the stream is closed (no more data will come).",
    ),
    StreamTtl: text("Stream-TTL", "The stream's sliding time to live in seconds."),
    StreamExpiresAt: text("Stream-Expires-At", "The stream's absolute expiry (RFC 3339)."),
    ProducerEpoch: text("Producer-Epoch", "The idempotent producer's epoch the server holds."),
    ProducerSeq: text("Producer-Seq", "The highest sequence number accepted from the producer."),
  };
}

function streamParameters(): Record<string, unknown> {
  const header = (name: string, description: string, schema: unknown = { type: "string" }) => ({
    name,
    in: "header",
    description,
    schema,
  });
  return {
    streamPath: {
      name: "path",
      in: "path",
      required: true,
      description: "The stream's path below `streams_prefix`; it may hold `/` (`orders/eu`, " +
        "percent-encoded or not) and is case-sensitive. `_changes/<table>` is a table's " +
        "read-only change feed.",
      schema: { type: "string" },
    },
    offset: {
      name: "offset",
      in: "query",
      description: "Where to start: `-1` (the beginning), `now` (the tail), or a " +
        "`Stream-Next-Offset` from an earlier answer. Required for live reads.",
      schema: { type: "string" },
    },
    live: {
      name: "live",
      in: "query",
      description: "`long-poll` waits for data; `sse` streams Server-Sent Events.",
      schema: { type: "string", enum: ["long-poll", "sse"] },
    },
    cursor: {
      name: "cursor",
      in: "query",
      description: "The `Stream-Cursor` of the previous live answer.",
      schema: { type: "string" },
    },
    ifNoneMatch: header("If-None-Match", "An earlier `ETag`: 304 when the data is the same."),
    streamTtl: header("Stream-TTL", "Sliding time to live in seconds (not with an expiry).", {
      type: "integer",
      minimum: 0,
    }),
    streamExpiresAt: header("Stream-Expires-At", "Absolute expiry, RFC 3339 (not with a TTL).", {
      type: "string",
      format: "date-time",
    }),
    streamClosed: header("Stream-Closed", "`true` creates the stream closed, or closes it.", {
      type: "string",
      enum: ["true"],
    }),
    streamForkedFrom: header(
      "Stream-Forked-From",
      "Path (under `streams_prefix`) of a stream to fork: the new stream starts with its data.",
    ),
    streamForkOffset: header("Stream-Fork-Offset", "Fork at this offset of the source."),
    streamForkSubOffset: header(
      "Stream-Fork-Sub-Offset",
      "Also take this many bytes (JSON: messages) of the next append at the fork offset.",
      { type: "integer", minimum: 0 },
    ),
    streamSeq: header("Stream-Seq", "A writer sequence that must increase (byte-wise)."),
    producerId: header("Producer-Id", "Idempotent producer: its id (with epoch and seq)."),
    producerEpoch: header("Producer-Epoch", "Idempotent producer: its epoch.", {
      type: "integer",
      minimum: 0,
    }),
    producerSeq: header("Producer-Seq", "Idempotent producer: the append's sequence number.", {
      type: "integer",
      minimum: 0,
    }),
  };
}
