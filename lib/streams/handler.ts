/**
 * The HTTP handler: one function per method, each reading like the pipeline
 * (parse, validate path, execute on the store, encode the response).
 * @module
 */

import { computeCursor } from "./cursor.ts";
import { concatBytes, readBodyBytes } from "../bytes.ts";
import { ApiError, renderProblem } from "../errors.ts";
import { baseHeaderPairs, baseHeaders, H, preflightHeaders } from "./http_headers.ts";
import { joinJsonArray } from "./json_mode.ts";
import { createSseBody } from "./live.ts";
import type { StreamInstance, StreamsEvent } from "./model.ts";
import { formatOffset } from "./offsets.ts";
import type { ReadPlan } from "./read_layout.ts";
import type { StreamStore } from "./store.ts";
import {
  parsePostHeaders,
  parsePutHeaders,
  parseReadRequest,
  type ReadRequest,
  resolveForkSource,
  validateStreamPath,
} from "./request.ts";

/** Handler settings (already defaulted and validated by `createStreams`). */
export interface HandlerOptions {
  store: StreamStore;
  longPollTimeoutMs: number;
  sseReconnectIntervalMs: number;
  sseKeepAliveMs: number;
  maxAppendBytes: number;
  maxReadBytes: number;
  readOnlyPrefixes: string[];
  random: () => number;
  onEvent: (event: StreamsEvent) => void;
  /** Live reads in progress (long-poll and SSE), counted for metrics. */
  live: { readers: number };
}

/** What a request does to a stream, for authorization. */
export type StreamAction = "read" | "create" | "append" | "delete";

/**
 * Per-request context from the mounting server. `authorize` is the auth hook: it is asked before
 * any stream is touched (a fork PUT also asks `read` for the source); false → 403 `forbidden`
 * (it may also throw its own `ApiError`, such as a 403 naming the operation). `requestId` goes
 * into error bodies (default: a new UUID).
 */
export interface HandleContext {
  authorize?: (action: StreamAction, path: string) => boolean | Promise<boolean>;
  requestId?: string;
}

/** A protocol request handler. */
export type StreamsHandler = (
  req: Request,
  path: string,
  prefix: string,
  context?: HandleContext,
) => Promise<Response>;

const ACTIONS: Record<string, StreamAction> = {
  GET: "read",
  HEAD: "read",
  PUT: "create",
  POST: "append",
  DELETE: "delete",
};

const CACHEABLE = "public, max-age=60, stale-while-revalidate=300";
const RECENT_BODIES = 256;
const RECENT_BODY_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

/** The handler's options and its cache of recently served bodies. */
interface Handler extends HandlerOptions {
  /**
   * Recently served small bodies by ETag (which names the instance and the range): many live
   * readers woken by one append read the same range, so it is fetched and joined once. Bounded:
   * bodies up to 64 KiB, 256 of them.
   */
  recentBodies: Map<string, Uint8Array>;
}

/** Creates the protocol handler. */
export function createHandler(options: HandlerOptions): StreamsHandler {
  const h: Handler = { ...options, recentBodies: new Map() };
  return async function handle(
    req: Request,
    path: string,
    prefix: string,
    context?: HandleContext,
  ): Promise<Response> {
    try {
      if (req.method === "OPTIONS") {
        return new Response(null, { status: 204, headers: preflightHeaders() });
      }
      validateStreamPath(path);
      if (path === "__ds" || path.startsWith("__ds/")) {
        throw new ApiError("reserved_path", "The __ds/ namespace is reserved");
      }
      const writes = req.method === "PUT" || req.method === "POST" || req.method === "DELETE";
      if (writes && isReadOnly(h, path)) {
        throw new ApiError("read_only_stream", "This stream is written by the server only");
      }
      await authorize(context, req, path, prefix);
      switch (req.method) {
        case "PUT":
          return await put(h, req, path, prefix);
        case "POST":
          return await post(h, req, path);
        case "DELETE":
          return await del(h, path);
        case "HEAD":
          return head(h, path);
        case "GET":
          return await get(h, req, path);
        default:
          throw new ApiError("method_not_allowed", `Method ${req.method} not allowed`, {
            headers: { allow: "GET, HEAD, POST, PUT, DELETE, OPTIONS" },
          });
      }
    } catch (error) {
      return errorResponse(h, error, req, path, context?.requestId ?? crypto.randomUUID());
    }
  };
}

function isReadOnly(h: Handler, path: string): boolean {
  return h.readOnlyPrefixes.some((p) => path === p.replace(/\/$/, "") || path.startsWith(p));
}

async function readBody(h: Handler, req: Request): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError("payload_too_large", `Body exceeds ${h.maxAppendBytes} bytes`);
  return await readBodyBytes(req, h.maxAppendBytes, tooLarge);
}

function streamLocation(req: Request, prefix: string, path: string): string {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `${new URL(req.url).origin}${prefix.replace(/\/$/, "")}/${encoded}`;
}

async function put(h: Handler, req: Request, path: string, prefix: string): Promise<Response> {
  const parsed = parsePutHeaders(req.headers, prefix);
  const body = await readBody(h, req);
  const { created, inst, nextOffset } = await h.store.create(path, parsed, body);
  const headers = baseHeaders();
  headers.set("content-type", inst.contentType);
  headers.set(H.nextOffset, nextOffset);
  if (inst.closed) headers.set(H.closed, "true");
  if (created) headers.set("location", streamLocation(req, prefix, path));
  return new Response(null, { status: created ? 201 : 200, headers });
}

async function post(h: Handler, req: Request, path: string): Promise<Response> {
  const parsed = parsePostHeaders(req.headers);
  const body = await readBody(h, req);
  const out = await h.store.append(path, parsed, body);
  const headers = baseHeaders();
  headers.set(H.nextOffset, out.nextOffset);
  if (out.closed) headers.set(H.closed, "true");
  if (out.producer) {
    headers.set(H.producerEpoch, String(out.producer.epoch));
    headers.set(H.producerSeq, String(out.producer.seq));
  }
  return new Response(null, { status: out.status, headers });
}

async function del(h: Handler, path: string): Promise<Response> {
  await h.store.delete(path);
  return new Response(null, { status: 204, headers: baseHeaders() });
}

function metadataHeaders(inst: StreamInstance): Headers {
  const headers = baseHeaders();
  headers.set("content-type", inst.contentType);
  headers.set(H.nextOffset, formatOffset(inst.tail));
  if (inst.ttlSeconds !== null) headers.set(H.ttl, String(inst.ttlSeconds));
  if (inst.expiresAtMs !== null) {
    headers.set(H.expiresAt, new Date(inst.expiresAtMs).toISOString());
  }
  if (inst.closed) headers.set(H.closed, "true");
  return headers;
}

function head(h: Handler, path: string): Response {
  const inst = h.store.requireReadable(path);
  const headers = metadataHeaders(inst);
  headers.set("cache-control", "no-store");
  return new Response(null, { status: 200, headers });
}

function etagOf(inst: StreamInstance, plan: ReadPlan): string {
  return `"${inst.id}:${formatOffset(plan.from)}:${formatOffset(plan.next)}${
    plan.closedAtEnd ? ":c" : ""
  }"`;
}

/** A 200 carrying a planned read (catch-up or long-poll data). */
async function dataResponse(
  h: Handler,
  inst: StreamInstance,
  plan: ReadPlan,
  read: ReadRequest,
  cursor: string | null,
): Promise<Response> {
  const etag = etagOf(inst, plan);
  const headers = baseHeaderPairs();
  headers.push(["etag", etag], [H.nextOffset, formatOffset(plan.next)]);
  if (plan.upToDate) headers.push([H.upToDate, "true"]);
  if (plan.closedAtEnd) headers.push([H.closed, "true"]);
  if (cursor !== null) headers.push([H.cursor, cursor]);
  if (read.ifNoneMatch.some((t) => t === etag || t === `W/${etag}` || t === "*")) {
    return new Response(null, { status: 304, headers });
  }
  let body = h.recentBodies.get(etag);
  if (body === undefined) {
    const parts = await h.store.fetchPlan(plan, inst.json);
    body = inst.json ? joinJsonArray(parts) : concatBytes(parts.length ? parts : [EMPTY]);
    if (body.length <= RECENT_BODY_BYTES) {
      if (h.recentBodies.size >= RECENT_BODIES) {
        h.recentBodies.delete(h.recentBodies.keys().next().value!);
      }
      h.recentBodies.set(etag, body);
    }
  }
  headers.push(
    ["content-type", inst.contentType],
    ["cache-control", plan.segments.length > 0 ? CACHEABLE : "no-cache"],
  );
  return new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

function tailResponse(inst: StreamInstance, status: 200 | 204, cursor: string | null): Response {
  const headers = baseHeaders();
  headers.set(H.nextOffset, formatOffset(inst.tail));
  headers.set(H.upToDate, "true");
  headers.set("cache-control", "no-store");
  if (inst.closed) headers.set(H.closed, "true");
  else if (cursor !== null) headers.set(H.cursor, cursor);
  if (status === 204) return new Response(null, { status, headers });
  headers.set("content-type", inst.contentType);
  return new Response(inst.json ? "[]" : null, { status, headers });
}

async function get(h: Handler, req: Request, path: string): Promise<Response> {
  const read = parseReadRequest(new URL(req.url), req.headers);
  const inst = h.store.requireReadable(path);
  h.store.touch(inst);
  const startPos = read.offset === null || read.offset.kind === "start"
    ? 0
    : read.offset.kind === "now"
    ? inst.tail
    : read.offset.pos;
  if (read.live === "sse") return sseResponse(h, req, inst, startPos, read);
  if (read.live === "long-poll") {
    h.live.readers++;
    try {
      return await longPoll(h, req, inst, startPos, read);
    } finally {
      h.live.readers--;
    }
  }
  if (read.offset?.kind === "now") return tailResponse(inst, 200, null);
  const plan = h.store.planRead(inst, startPos, h.maxReadBytes, inst.json ? "message" : "byte");
  return await dataResponse(h, inst, plan, read, null);
}

function sseResponse(
  h: Handler,
  req: Request,
  inst: StreamInstance,
  startPos: number,
  read: ReadRequest,
): Response {
  h.store.validateReadOffset(inst, startPos);
  const headers = baseHeaders();
  headers.set("content-type", "text/event-stream");
  headers.set("cache-control", "no-cache");
  if (!inst.json && !inst.contentType.toLowerCase().startsWith("text/")) {
    headers.set(H.sseEncoding, "base64");
  }
  h.live.readers++;
  const body = createSseBody(h.store, inst, startPos, read.cursor, {
    reconnectIntervalMs: h.sseReconnectIntervalMs,
    keepAliveMs: h.sseKeepAliveMs,
    maxReadBytes: h.maxReadBytes,
    random: h.random,
    onEnd: () => h.live.readers--,
  }, req.signal);
  return new Response(body, { status: 200, headers });
}

async function longPoll(
  h: Handler,
  req: Request,
  inst: StreamInstance,
  startPos: number,
  read: ReadRequest,
): Promise<Response> {
  const { store } = h;
  const cursor = () => computeCursor(store.now(), read.cursor, h.random);
  const granularity = inst.json ? "message" : "byte";
  const deadline = store.now() + h.longPollTimeoutMs;
  for (;;) {
    if (inst.state === "soft_deleted") {
      throw new ApiError("stream_gone", "Stream was deleted");
    }
    if (inst.state === "deleted") {
      throw new ApiError("stream_not_found", "Stream was deleted");
    }
    const plan = store.planRead(inst, startPos, h.maxReadBytes, granularity);
    if (plan.segments.length > 0) return await dataResponse(h, inst, plan, read, cursor());
    if (inst.closed) return tailResponse(inst, 204, null);
    const remaining = deadline - store.now();
    if (remaining <= 0) return tailResponse(inst, 204, cursor());
    const woke = await store.waitForChange(inst, remaining, req.signal);
    if (woke === "aborted") return tailResponse(inst, 204, cursor());
  }
}

/**
 * The one problem+json rendering (`renderProblem`) plus what every stream response carries:
 * the CORS and security headers, `no-store`, and no body for HEAD.
 */
function errorResponse(
  h: Handler,
  error: unknown,
  req: Request,
  path: string,
  requestId: string,
): Response {
  let e: ApiError;
  if (error instanceof ApiError) {
    e = error;
  } else {
    h.onEvent({
      type: "internal_error",
      method: req.method,
      path,
      message: error instanceof Error ? error.message : String(error),
    });
    e = new ApiError("internal_error", undefined, { cause: error });
  }
  const rendered = renderProblem(e, requestId);
  const headers = baseHeaders();
  for (const [name, value] of rendered.headers) headers.set(name, value);
  headers.set("cache-control", "no-store");
  return new Response(req.method === "HEAD" ? null : rendered.body, {
    status: rendered.status,
    headers,
  });
}

async function authorize(
  context: HandleContext | undefined,
  req: Request,
  path: string,
  prefix: string,
): Promise<void> {
  const check = context?.authorize;
  const action = ACTIONS[req.method];
  if (!check || !action) return;
  const denied = (what: StreamAction, target: string) =>
    new ApiError("forbidden", `Forbidden: may not ${what} stream '${target}'`);
  if (!(await check(action, path))) throw denied(action, path);
  const from = action === "create" ? req.headers.get(H.forkedFrom) : null;
  const source = from === null ? null : resolveForkSource(from, prefix);
  if (source !== null && !(await check("read", source))) throw denied("read", source);
}
