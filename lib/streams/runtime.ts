/**
 * The streams feature as the server runs it, built once from the config: the protocol service
 * (memory or durable storage), the table change feed, and the `read_stream` SQL function with
 * its authorization. `lib/server.ts` opens it, attaches it to the engine and auth, mounts it
 * (`lib/http/streams.ts`) and closes it.
 * @module
 */

import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import type { Engine } from "../db/engine.ts";
import { streamAccess } from "./access.ts";
import { type ChangeFeed, createChangeFeed } from "./changes.ts";
import { createStreams, type StreamsEvent, type StreamsService } from "./mod.ts";
import { createReadStreamFunction, READ_STREAM } from "./sql.ts";

/** The running streams feature. */
export interface StreamsRuntime {
  readonly service: StreamsService;
  /** Mount prefix (`/v1/stream`). */
  readonly prefix: string;
  /** The table change feed; null when `change_feeds` is off. */
  readonly changes: ChangeFeed | null;
  /** Registers `read_stream()` on the engine, authorized by `auth` (per `streams_auth`). */
  attach(engine: Engine, auth: Auth): Promise<void>;
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
 * starts `read_stream(): forbidden` (the error table maps it to 403) when not.
 */
export function authorizeStreamRead(auth: Auth, owner: unknown, path: string): void {
  const { operation, table } = streamAccess("read", path);
  const denied = (why: string) =>
    new Error(`${READ_STREAM}(): forbidden: reading stream '${path}' needs ${why}`);
  if (owner === undefined || owner === null) {
    throw denied(`an API key with "${operation}" on ${table} (use the query endpoints)`);
  }
  try {
    auth.authorize(owner as Principal, operation, table);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      throw denied(`the "${operation}" permission on ${table}`);
    }
    throw err;
  }
}

/** Opens the streams feature per `config` (recovering durable storage); null when off. */
export async function openStreamsRuntime(
  config: Config,
  log: Logger,
): Promise<StreamsRuntime | null> {
  if (!config.streams) return null;
  const service = await createStreams({
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
    })
    : null;
  const open = !config.auth_enabled || config.streams_auth === "none";
  return {
    service,
    prefix: config.streams_prefix,
    changes,
    async attach(engine, auth) {
      await engine.registerTableFunction(createReadStreamFunction(service, {
        authorizeRead: open ? null : (owner, path) => authorizeStreamRead(auth, owner, path),
      }));
    },
    endLive: () => service.endLive(),
    close: () => service.close(),
  };
}
