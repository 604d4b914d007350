/**
 * Row answers as HTTP responses. The execution stage (`lib/query/`) hands over an `Answer`: an
 * encoded body whose first bytes are already read (so whatever failed by then was a normal
 * problem+json response), or a finished answer from the answer cache. This module only does what
 * is HTTP: the status line and headers (content type and disposition, `X-Truncated`, `X-Cache`),
 * streaming the body, compression (zstd, br, gzip when the client accepts it and the body is not
 * small, except Parquet), and aborts: a failure after streaming began aborts the connection
 * (never appends text to a body) and is logged with the request ID.
 * @module
 */

import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { concatBytes } from "../bytes.ts";
import { type EncodedBody, formatInfo, type FormatName } from "../encode/mod.ts";
import type { RequestRecord } from "../ops/mod.ts";
import type { Answer, AnswerCache, CacheSlot, StoredAnswer } from "../query/mod.ts";
import { createCompressor, type Encoding } from "./compress.ts";
import { contentDisposition, type OutputOptions, representationKey } from "./output.ts";
import { notModifiedResponse, ROWS_VARY, withEtag } from "./revalidate.ts";

/** How to send an answer. */
export interface ResponseOptions {
  format: FormatName;
  requestId: string;
  log: Logger;
  /** Content-Type to send (default: the format's own). */
  contentType?: string;
  /** `Content-Disposition` to send. */
  disposition?: { type: "inline" | "attachment"; fileName: string };
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Compress with this coding when the body is at least `compressMinSize` bytes. */
  encoding?: Encoding | null;
  compressMinSize?: number;
  /** The request's record: told the rows sent and whether the read cache answered. */
  record?: RequestRecord;
}

/**
 * The response of `answer`: a cached answer as it was kept (`X-Cache: hit`); a body streamed,
 * and when the answer cache asked for it, buffered and kept (`X-Cache: miss`); its `ETag` when it
 * has one; a 304 when the client's copy is current.
 */
export async function respondAnswer(answer: Answer, options: ResponseOptions): Promise<Response> {
  const { record } = options;
  if (answer.kind === "not_modified") {
    if (record) record.cache = "hit";
    return notModifiedResponse(answer.etag);
  }
  if (answer.kind === "stored") {
    if (record) {
      record.cache = "hit";
      record.rows = answer.stored.rows === undefined ? null : { count: answer.stored.rows };
    }
    return withEtag(storedResponse(answer.stored), answer.etag);
  }
  if (record) record.rows = answer.rows ?? null;
  const response = streamResponse(answer, {
    ...options,
    headers: answer.headers ? { ...answer.headers, ...options.headers } : options.headers,
    onStreaming: answer.onStreaming,
  });
  if (!answer.keep) return withEtag(response, answer.etag);
  if (record) record.cache = "miss";
  return withEtag(await keptResponse(answer.keep, response, answer.rows), answer.etag);
}

/** The bytes of responses whose whole body was at hand (kept without reading them back). */
const SENT_BYTES = new WeakMap<Response, Uint8Array<ArrayBuffer>>();

/** Decides the headers of an encoded body and streams it (compressed when worthwhile). */
export function streamResponse(
  body: EncodedBody,
  options: ResponseOptions & { onStreaming?: () => void },
): Response {
  const info = formatInfo(options.format);
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? info.contentType,
    vary: ROWS_VARY,
  };
  if (options.disposition) {
    headers["content-disposition"] = contentDisposition(
      options.disposition.type,
      options.disposition.fileName,
    );
  }
  if (body.truncated) headers["x-truncated"] = "true";
  Object.assign(headers, options.headers);
  options.onStreaming?.();
  options.log.debug("rows_streaming", {
    request_id: options.requestId,
    format: options.format,
    writer: body.writer,
    truncated: body.truncated,
  });

  const { encoding } = options;
  const compress = encoding !== null && encoding !== undefined && info.compressible &&
    !(body.ended && body.size < (options.compressMinSize ?? 1024));
  if (body.ended && !compress) {
    // The whole body is already here: send it as bytes (a Content-Length, no stream machinery).
    const bytes = concatBytes(body.head);
    const response = new Response(bytes, { status: 200, headers });
    SENT_BYTES.set(response, bytes);
    return response;
  }
  let stream = bodyStream(body, options);
  if (compress) {
    headers["content-encoding"] = encoding!;
    stream = stream.pipeThrough(createCompressor(encoding!));
  }
  return new Response(stream, { status: 200, headers });
}

/** The body as a stream: the bytes read ahead, then the rest as the client pulls. */
function bodyStream(body: EncodedBody, options: ResponseOptions): ReadableStream<Uint8Array> {
  const { head, rest } = body;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of head) controller.enqueue(piece);
      head.length = 0;
      if (body.ended) controller.close();
    },
    async pull(controller) {
      try {
        const piece = await rest.next();
        if (cancelled) return;
        if (piece === null) controller.close();
        else controller.enqueue(piece);
      } catch (err) {
        if (cancelled) return;
        controller.error(abortReason(err, options));
      }
    },
    async cancel() {
      cancelled = true;
      await rest.cancel();
    },
  }, { highWaterMark: 0 });
}

/** Logs a failure after streaming began; the error that aborts the connection. */
function abortReason(err: unknown, options: ResponseOptions): Error {
  const code = err instanceof ApiError ? err.code : "internal_error";
  options.log.error("stream_failed", {
    request_id: options.requestId,
    format: options.format,
    code,
    // Engine messages can quote SQL and values, which logs never carry; bugs keep theirs.
    error: err instanceof ApiError ? undefined : err instanceof Error ? err.message : String(err),
  });
  // Aborts the connection. Deno prints the reason on stderr: keep it to one line.
  const reason = new Error(
    `response aborted after an error (request ${options.requestId}, ${code})`,
  );
  reason.stack = `Error: ${reason.message}`;
  return reason;
}

/**
 * Buffers a small answer, gives it to `keep` and sends the same bytes with `X-Cache: miss`.
 * Anything but a 200 passes through untouched.
 */
async function keptResponse(
  keep: (answer: StoredAnswer) => void,
  response: Response,
  rows?: { count: number },
): Promise<Response> {
  if (response.status !== 200) return response;
  const sent = SENT_BYTES.get(response);
  const body = sent ?? new Uint8Array(await response.arrayBuffer());
  keep({ status: response.status, headers: [...response.headers], body, rows: rows?.count });
  if (sent) {
    response.headers.set("x-cache", "miss");
    return response;
  }
  return new Response(body, {
    status: response.status,
    headers: [...response.headers, ["x-cache", "miss"]],
  });
}

/** A kept answer, sent with `X-Cache: hit`. */
function storedResponse(stored: StoredAnswer): Response {
  return new Response(stored.body, {
    status: stored.status,
    headers: [...stored.headers, ["x-cache", "hit"]],
  });
}

/** True when the request asks to skip caches (`Cache-Control: no-cache` or `no-store`). */
export function bypassesCache(request: Request): boolean {
  return /no-cache|no-store/i.test(request.headers.get("cache-control") ?? "");
}

/**
 * Where the answer of `request` (in the representation `output`) may be cached, keyed by the data
 * version of `owner` (the pool); none when the cache is off.
 */
export function cacheSlotOf(
  cache: AnswerCache,
  owner: object,
  request: Request,
  output: OutputOptions,
): CacheSlot | undefined {
  if (!cache.enabled) return undefined;
  return { cache, owner, bypass: bypassesCache(request), variant: representationKey(output) };
}
