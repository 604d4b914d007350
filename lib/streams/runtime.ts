/**
 * The streams feature as the server runs it, built once from the config: the protocol service
 * (memory or durable storage), the table change feed, and the `read_stream` SQL function with
 * its authorization. `lib/server.ts` opens it, tells the auth stage which of its SQL functions
 * check their own permissions ({@link StreamsRuntime.selfAuthorizing}), attaches it to the
 * engine with the auth stage as its {@link Authorizer}, mounts it (`lib/http/streams.ts`) and
 * closes it. Streams never import the auth stage: they get the check they need from the wiring.
 * @module
 */

import { catalogNameOf } from "../catalog_name.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Authorizer, Principal } from "../permissions.ts";
import type { Engine } from "../db/engine.ts";
import { streamAccess } from "./access.ts";
import { type ChangeFeed, createChangeFeed } from "./changes.ts";
import type { StreamsEvent } from "./model.ts";
import { createReadStreamFunction, READ_STREAM } from "./read_stream.ts";
import { createStreams, type StreamsOptions, type StreamsService } from "./service.ts";

/**
 * Settings of the streams service that no config key sets (embedding, tests): each left out
 * keeps the service's default.
 */
export type StreamsTuning = Pick<
  StreamsOptions,
  "maxReadBytes" | "sseKeepAliveMs" | "sweepIntervalMs" | "maxOpenFiles"
>;

/** The running streams feature. */
export interface StreamsRuntime {
  readonly service: StreamsService;
  /** Mount prefix (`/v1/stream`). */
  readonly prefix: string;
  /** The table change feed; null when `change_feeds` is off. */
  readonly changes: ChangeFeed | null;
  /**
   * The SQL table functions {@link attach} registers that check the caller's permission every
   * time they run (`read_stream`): the raw SQL authorizer lets them through with `q` alone.
   */
  readonly selfAuthorizing: readonly string[];
  /**
   * Registers `read_stream()` on the engine; each run asks `access` (the auth stage) whether the
   * statement's owner may read the stream, unless auth or `streams_auth` is off.
   */
  attach(engine: Engine, access: Authorizer): Promise<void>;
  /** Ends live reads (long-poll answers, SSE responses end); writes still work. */
  endLive(): void;
  /** Ends live readers, flushes storage and closes files. */
  close(): Promise<void>;
}

const LEVELS: Record<StreamsEvent["type"], "debug" | "info" | "warn" | "error"> = {
  recovery_done: "info",
  recovery_truncated: "warn",
  recovery_dropped: "warn",
  storage_error: "error",
  stream_expired: "debug",
  internal_error: "error",
};

/**
 * Whether `owner` may read stream `path`, for `read_stream()`: throws an Error whose message
 * starts `read_stream(): forbidden` (the error table maps it to 403) when `access` refuses.
 */
export function authorizeStreamRead(access: Authorizer, owner: unknown, path: string): void {
  const { operation, table } = streamAccess("read", path);
  const denied = (why: string) =>
    new Error(`${READ_STREAM}(): forbidden: reading stream '${path}' needs ${why}`);
  if (owner === undefined || owner === null) {
    throw denied(`an API key with "${operation}" on ${table} (use the query endpoints)`);
  }
  try {
    access.authorize(owner as Principal, operation, table);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      throw denied(`the "${operation}" permission on ${table}`);
    }
    throw err;
  }
}

/**
 * Opens the streams feature per `config` (recovering durable storage), with `tuning` on top; null
 * when off.
 */
export async function openStreamsRuntime(
  config: Config,
  log: Logger,
  tuning: StreamsTuning = {},
): Promise<StreamsRuntime | null> {
  if (!config.streams) return null;
  const service = await createStreams({
    ...tuning,
    storage: config.streams_storage === "dir"
      ? { kind: "dir", dir: config.streams_dir }
      : { kind: "memory" },
    longPollTimeoutMs: Math.max(1, config.long_poll_timeout),
    sseReconnectIntervalMs: Math.max(1, config.sse_reconnect_interval),
    maxAppendBytes: config.max_body_size > 0 ? config.max_body_size : undefined,
    onEvent: (event) => {
      const { type, ...fields } = event;
      log[LEVELS[type]](`streams_${type}`, fields);
    },
  });
  const changes = config.change_feeds
    ? createChangeFeed(service, (event) => {
      const { type, ...fields } = event;
      log.warn(type, fields);
    }, catalogNameOf(config.database_path))
    : null;
  const open = !config.auth_enabled || config.streams_auth === "none";
  return {
    service,
    prefix: config.streams_prefix,
    changes,
    selfAuthorizing: [READ_STREAM],
    async attach(engine, access) {
      await engine.registerTableFunction(createReadStreamFunction(service, {
        authorizeRead: open ? null : (owner, path) => authorizeStreamRead(access, owner, path),
      }));
    },
    endLive: () => service.endLive(),
    close: () => service.close(),
  };
}
