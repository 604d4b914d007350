/**
 * Durable Streams for duckserve, the feature's public face: the protocol service (create,
 * append, close, read with catch-up, long-poll and SSE, JSON mode, TTL, idempotent producers,
 * forks) over memory or durable, crash-safe storage; the runtime the server builds from its
 * config (service, table change feeds, the `read_stream()` SQL function); and how stream
 * requests map onto the permission model. Streams never import the auth stage: the server's
 * wiring hands them an `Authorizer` (`lib/permissions.ts`).
 *
 * @example
 * ```ts
 * import { createStreams } from "./mod.ts";
 * const streams = await createStreams({
 *   storage: { kind: "memory" },
 *   longPollTimeoutMs: 30_000,
 *   sseReconnectIntervalMs: 60_000,
 * });
 * await streams.appendJson("_changes/orders", { op: "insert", id: 1 });
 * for await (const m of streams.readJson("_changes/orders")) console.log(m.offset, m.value);
 * await streams.close();
 * ```
 * @module
 */

export {
  createStreams,
  type ScannedMessage,
  type StreamScan,
  type StreamsOptions,
  type StreamsService,
} from "./service.ts";
export {
  authorizeStreamRead,
  openStreamsRuntime,
  type StreamsRuntime,
  type StreamsTuning,
} from "./runtime.ts";
export {
  canonicalStreamPath,
  changeFeedPath,
  CHANGES_PREFIX,
  feedTableName,
  feedTableOf,
  streamAccess,
} from "./access.ts";
export type { ChangeFeed, ChangeFeedEvent, SqlChange, TableChange } from "./changes.ts";
export { READ_STREAM } from "./read_stream.ts";
export { baseHeaders } from "./http_headers.ts";
export type { StreamsEvent } from "./model.ts";
export type { HandleContext, StreamAction } from "./handler.ts";
