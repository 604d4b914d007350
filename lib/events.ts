/**
 * The server's telemetry events: modules report what happened (`request_done`, `query_done`,
 * `auth_failed`, `rate_limited`, `request_shed`, `config_reloaded`) to one {@link Events} hub;
 * subscribers decide what to do with them: the access log prints `request_done` lines
 * (`lib/ops/access_log.ts`), the metrics count everything (`lib/ops/metrics.ts`), and a live
 * dashboard can subscribe to the same hub. Emitting is a synchronous loop over the subscribers of
 * one event name (nothing when there are none); a subscriber that throws is isolated from the
 * others and from the request.
 *
 * Events carry no secrets and no bound values: URIs and headers come redacted (the API key never
 * appears, whatever the client sent), SQL text as `log_sql` says. The costly fields (`uri`,
 * `headers`, `sql`) are computed when a subscriber first reads them.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { createEvents } from "./events.ts";
 * const events = createEvents();
 * const seen: string[] = [];
 * const stop = events.on("auth_failed", (e) => seen.push(e.reason));
 * events.emit("auth_failed", { request_id: "r1", client_ip: "10.0.0.1", reason: "unknown" });
 * stop();
 * events.emit("auth_failed", { request_id: "r2", client_ip: "10.0.0.1", reason: "missing" });
 * deepEqual(seen, ["unknown"]);
 * ```
 * @module
 */

/** Which kind of database work a query was. */
export type QueryKind = "raw" | "crud" | "export";

/** One request answered (its last byte sent, or the client gone). */
export interface RequestDone {
  /** Epoch milliseconds when the request arrived. */
  readonly time: number;
  /** The request id (null when the listener answered before the app: a 414, a starting server). */
  readonly request_id: string | null;
  readonly method: string;
  /** The route pattern that answered (`/duckdb/api/:table`); null when none did (404s). */
  readonly route: string | null;
  readonly status: number;
  /** Body bytes sent. */
  readonly bytes: number;
  /** Seconds from arrival to the last byte. */
  readonly duration: number;
  /** True when the client went away before the answer was complete. */
  readonly aborted: boolean;
  /** The key's id and role when the request was authenticated with a key. */
  readonly key_id: string | null;
  readonly role: string | null;
  /** The connection's address and port, and the client's address (`client_ip_header`). */
  readonly remote_ip: string;
  readonly remote_port: number;
  readonly client_ip: string;
  /** `HTTP/1.1` or `HTTP/2.0`. */
  readonly proto: string;
  readonly host: string;
  /** Path and query, redacted: no key, key-like parameters hidden, SQL as `log_sql` says. */
  readonly uri: string;
  /** Request headers by canonical name, `X-API-Key`, `Authorization` and `Cookie` redacted. */
  readonly headers: Readonly<Record<string, string[]>>;
  /** `headers` as JSON text (cached for repeated header sets: cheaper for log writers). */
  readonly headers_json: string;
  /** Rows sent (SQL and table routes). */
  readonly rows: number | null;
  /** Whether the read cache answered (`hit`) or was filled (`miss`). */
  readonly cache: "hit" | "miss" | null;
  /** The SQL text as `log_sql` says (raw SQL routes); null otherwise. */
  readonly sql: string | null;
  /** The error code of a problem answer. */
  readonly error_code: string | null;
  /** The tenant (the attached database whose `hosts` name the request's `Host`), if any. */
  readonly tenant?: string | null;
}

/** One query run on the database for a request (not a read-cache hit). */
export interface QueryDone {
  readonly time: number;
  readonly request_id: string;
  readonly route: string | null;
  readonly kind: QueryKind;
  readonly key_id: string | null;
  readonly role: string | null;
  readonly status: number;
  readonly rows: number | null;
  /** Seconds from the start of the query to the last byte of its answer. */
  readonly duration: number;
  readonly sql: string | null;
  readonly error_code: string | null;
}

/** A request whose key was refused (or whose address is locked out). */
export interface AuthFailed {
  readonly request_id: string | undefined;
  readonly client_ip: string;
  /** `missing`, `unknown`, `inactive`, `expired`, or `locked_out` (too many failures). */
  readonly reason: string;
}

/** A request refused by a rate limit (429 `rate_limited`). */
export interface RateLimited {
  readonly request_id: string;
  /** `key`: the role's `rate_limit`; `address`: `anonymous_rate_limit`. */
  readonly scope: "key" | "address" | "tenant";
  readonly key_id: string | null;
  readonly role: string | null;
  readonly client_ip: string;
}

/** A request refused at once because the query slots and the queue were full (503 `overloaded`). */
export interface RequestShed {
  readonly request_id: string;
  readonly route: string | null;
  readonly running: number;
  readonly queued: number;
}

/** A configuration reload: applied (`changed` keys), or refused with its problems. */
export interface ConfigReloaded {
  readonly source: "sighup" | "admin";
  readonly ok: boolean;
  readonly changed: readonly string[];
  /** Why it was refused: invalid values, or keys that need a restart. */
  readonly problems: readonly string[];
}

/** Every event by name. */
export interface EventMap {
  request_done: RequestDone;
  query_done: QueryDone;
  auth_failed: AuthFailed;
  rate_limited: RateLimited;
  request_shed: RequestShed;
  config_reloaded: ConfigReloaded;
}

/** An event name. */
export type EventName = keyof EventMap;

/** The hub modules report to and subscribers listen on. */
export interface Events {
  /** Tells every subscriber of `name` (synchronously, in subscription order). */
  emit<K extends EventName>(name: K, event: EventMap[K]): void;
  /** Subscribes to `name`; returns the unsubscribe function. */
  on<K extends EventName>(name: K, listener: (event: EventMap[K]) => void): () => void;
  /** True when `name` has a subscriber (skip building an event nobody reads). */
  has(name: EventName): boolean;
}

/** Creates a hub; `onError` hears about a subscriber that threw (default: ignored). */
export function createEvents(onError: (err: unknown, name: EventName) => void = () => {}): Events {
  const listeners = new Map<EventName, ((event: never) => void)[]>();
  return {
    emit(name, event) {
      const list = listeners.get(name);
      if (!list) return;
      for (const listener of list) {
        try {
          (listener as (event: EventMap[typeof name]) => void)(event);
        } catch (err) {
          onError(err, name);
        }
      }
    },
    on(name, listener) {
      const list = [...(listeners.get(name) ?? []), listener as (event: never) => void];
      listeners.set(name, list);
      return () => {
        const rest = (listeners.get(name) ?? []).filter((l) => l !== listener);
        if (rest.length > 0) listeners.set(name, rest);
        else listeners.delete(name);
      };
    },
    has: (name) => listeners.has(name),
  };
}
