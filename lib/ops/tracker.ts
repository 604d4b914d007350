/**
 * Follows each request from the app's first middleware to its last byte and reports it: the HTTP
 * layer opens a {@link RequestRecord} (request id, client address) and fills it in as the request
 * runs (route, key, rows, read cache, query kind and SQL, error code); the listener reports the
 * answer (status, bytes, timing) through {@link Tracker.answered}; the tracker then emits
 * `query_done` (when the request ran a query) and `request_done` on the events hub. A request
 * answered in-process (no listener) is reported when its handler returns.
 *
 * Records are found by their `Request` object (a `WeakMap`), so nothing leaks when a request is
 * never answered. The costly fields of the events (URI, headers, SQL) are computed on first read.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createEvents } from "../events.ts";
 * import { createTracker } from "./tracker.ts";
 * const events = createEvents();
 * const tracker = createTracker(events, () => "redacted");
 * let status = 0;
 * events.on("request_done", (e) => status = e.status);
 * const request = new Request("http://localhost/duckdb/livez");
 * const record = tracker.begin(request, "r1", "127.0.0.1");
 * record.route = "/duckdb/livez";
 * tracker.answered(request, { remoteAddr: { hostname: "127.0.0.1", port: 5 }, proto: "http/1.1" },
 *   { status: 200, bytes: 2, started: record.started, aborted: false });
 * equal(status, 200);
 * equal(tracker.inFlight, 0);
 * ```
 * @module
 */

import type { EventMap, Events, QueryDone, QueryKind, RequestDone } from "../events.ts";
import { redactSql } from "../sql/mod.ts";
import {
  type HeaderFacts,
  headerFacts,
  presentedSecret,
  REDACTED,
  redactHeaders,
  redactUri,
  scrubSecret,
} from "./redact.ts";

/** How SQL text appears in events and logs (`log_sql`). */
export type SqlLogMode = "false" | "redacted" | "full";

/** Longest SQL text an event carries (characters); longer text is cut with an ellipsis. */
export const MAX_LOGGED_SQL = 4096;

/** What the HTTP layer learns about one request while it runs. */
export interface RequestRecord {
  /** `performance.now()` at arrival (the app's first middleware). */
  readonly started: number;
  /** Epoch milliseconds at arrival. */
  readonly time: number;
  readonly requestId: string;
  clientIp: string;
  route: string | null;
  keyId: string | null;
  role: string | null;
  /** Rows sent so far (a tally the encoder advances while it streams). */
  rows: { count: number } | null;
  cache: "hit" | "miss" | null;
  query: {
    kind: QueryKind;
    sql: string | null;
    /** The SQL is the path of a `GET /query/{sql}/result.{format}` URI. */
    inPath: boolean;
    started: number;
  } | null;
  errorCode: string | null;
  /** The tenant database the request's `Host` selected, or null. */
  tenant: string | null;
  /** Called once when the request is over (releases its query slot). */
  onDone: (() => void) | null;
}

/** Where a request came from, as the listener reports it. */
export interface PeerInfo {
  remoteAddr: { hostname: string; port: number };
  proto: string;
}

/** What the listener sent. */
export interface AnswerInfo {
  status: number;
  bytes: number;
  started: number;
  aborted: boolean;
  /**
   * The request's header names and values in turn as received (Node's `rawHeaders`), when the
   * listener has them: the log reads them instead of the `Headers` object.
   */
  rawHeaders?: readonly string[];
}

/** The request tracker (see the module documentation). */
export interface Tracker {
  /** Opens the record of `request` (counted in flight until it is answered). */
  begin(request: Request, requestId: string, clientIp: string): RequestRecord;
  /** The record of `request`, if it has one. */
  recordOf(request: Request): RequestRecord | undefined;
  /** The listener answered `request`: reports it. */
  answered(request: Request, info: PeerInfo, answer: AnswerInfo): void;
  /** Reports a request answered in-process (no listener) with `status`. */
  finish(request: Request, status: number): void;
  /** Requests begun and not answered yet. */
  readonly inFlight: number;
}

/** Creates a tracker emitting on `events`, showing SQL as `sqlMode()` says. */
export function createTracker(events: Events, sqlMode: () => SqlLogMode): Tracker {
  const records = new WeakMap<Request, RequestRecord>();
  let inFlight = 0;
  const report = (request: Request, info: PeerInfo | null, answer: AnswerInfo) => {
    const record = records.get(request);
    if (record) {
      records.delete(request);
      inFlight--;
      record.onDone?.();
      record.onDone = null;
    }
    const now = performance.now();
    const mode = sqlMode();
    if (record?.query && record.cache !== "hit" && events.has("query_done")) {
      events.emit("query_done", queryDone(record, request, answer, now, mode));
    }
    if (events.has("request_done")) {
      events.emit("request_done", new Done(request, info, answer, record ?? null, now, mode));
    }
  };
  return {
    begin(request, requestId, clientIp) {
      const record: RequestRecord = {
        started: performance.now(),
        time: Date.now(),
        requestId,
        clientIp,
        route: null,
        keyId: null,
        role: null,
        rows: null,
        cache: null,
        query: null,
        errorCode: null,
        tenant: null,
        onDone: null,
      };
      records.set(request, record);
      inFlight++;
      return record;
    },
    recordOf: (request) => records.get(request),
    answered: (request, info, answer) => report(request, info, answer),
    finish(request, status) {
      const record = records.get(request);
      if (!record) return;
      report(request, null, { status, bytes: 0, started: record.started, aborted: false });
    },
    get inFlight() {
      return inFlight;
    },
  };
}

function queryDone(
  record: RequestRecord,
  request: Request,
  answer: AnswerInfo,
  now: number,
  mode: SqlLogMode,
): QueryDone {
  const query = record.query!;
  return {
    time: record.time,
    request_id: record.requestId,
    route: record.route,
    kind: query.kind,
    key_id: record.keyId,
    role: record.role,
    status: answer.status,
    rows: record.rows?.count ?? null,
    duration: (now - query.started) / 1000,
    sql: renderSql(query.sql, mode, presentedSecret(request.headers)),
    error_code: record.errorCode,
  };
}

/** `sql` as `mode` shows it (null for `false`), the presented key cut out, capped in length. */
export function renderSql(
  sql: string | null,
  mode: SqlLogMode,
  secret: string | null,
): string | null {
  if (sql === null || mode === "false") return null;
  const shown = scrubSecret(mode === "redacted" ? redactedSql(sql, secret) : sql, secret);
  return shown.length > MAX_LOGGED_SQL ? `${shown.slice(0, MAX_LOGGED_SQL)}…` : shown;
}

/** Redacted texts of recent SQL (most traffic repeats a few statements). */
const REDACTED_SQL = new Map<string, string>();
const MAX_REDACTED_SQL = 256;

/**
 * {@link redactSql} of `sql`, cached by the text; a text holding the presented key (or one
 * shaped like a key) is never cached (no key is kept in memory beyond the request).
 */
function redactedSql(sql: string, secret: string | null): string {
  let redacted = REDACTED_SQL.get(sql);
  if (redacted !== undefined) return redacted;
  redacted = redactSql(sql);
  if (sql.length <= MAX_LOGGED_SQL && !(secret && sql.includes(secret)) && !sql.includes("dsk_")) {
    if (REDACTED_SQL.size >= MAX_REDACTED_SQL) REDACTED_SQL.clear();
    REDACTED_SQL.set(sql, redacted);
  }
  return redacted;
}

/**
 * A `request_done` event read from the request's record and the listener's report: each field
 * is computed when read (a handful of references per request instead of a copy of every field),
 * and the costly ones (URI, headers, SQL) once. Nothing it reads changes once the request is
 * answered, so a subscriber may read it later (the access log formats its lines in batches).
 */
class Done implements RequestDone {
  #request: Request;
  #info: PeerInfo | null;
  #answer: AnswerInfo;
  #record: RequestRecord | null;
  #now: number;
  #mode: SqlLogMode;
  #time: number;
  #uri: string | null = null;
  #headerFacts: HeaderFacts | null = null;

  constructor(
    request: Request,
    info: PeerInfo | null,
    answer: AnswerInfo,
    record: RequestRecord | null,
    now: number,
    mode: SqlLogMode,
  ) {
    this.#request = request;
    this.#info = info;
    this.#answer = answer;
    this.#record = record;
    this.#now = now;
    this.#mode = mode;
    this.#time = record ? record.time : Date.now() - (now - answer.started);
  }

  get time(): number {
    return this.#time;
  }
  get request_id(): string | null {
    return this.#record?.requestId ?? null;
  }
  get method(): string {
    return this.#request.method;
  }
  get route(): string | null {
    return this.#record?.route ?? null;
  }
  get status(): number {
    return this.#answer.status;
  }
  get bytes(): number {
    return this.#answer.bytes;
  }
  get duration(): number {
    return (this.#now - this.#answer.started) / 1000;
  }
  get aborted(): boolean {
    return this.#answer.aborted;
  }
  get key_id(): string | null {
    return this.#record?.keyId ?? null;
  }
  get role(): string | null {
    return this.#record?.role ?? null;
  }
  get remote_ip(): string {
    return this.#info?.remoteAddr.hostname ?? "";
  }
  get remote_port(): number {
    return this.#info?.remoteAddr.port ?? 0;
  }
  get client_ip(): string {
    return this.#record?.clientIp ?? this.remote_ip;
  }
  get proto(): string {
    return this.#info?.proto === "h2" ? "HTTP/2.0" : "HTTP/1.1";
  }
  get rows(): number | null {
    return this.#record?.rows?.count ?? null;
  }
  get cache(): "hit" | "miss" | null {
    return this.#record?.cache ?? null;
  }
  get error_code(): string | null {
    return this.#record?.errorCode ?? null;
  }
  get tenant(): string | null {
    return this.#record?.tenant ?? null;
  }

  /** The host, the presented key and the headers' JSON (read once, in one pass). */
  get #facts(): HeaderFacts {
    return this.#headerFacts ??= headerFacts(this.#answer.rawHeaders ?? this.#request.headers);
  }

  get host(): string {
    return this.#facts.host ?? new URL(this.#request.url).host;
  }

  get uri(): string {
    return this.#uri ??= uriOf(this.#request, this.#record, this.#mode, this.#facts.secret);
  }

  get headers(): Record<string, string[]> {
    return redactHeaders(this.#answer.rawHeaders ?? this.#request.headers, this.#facts.secret);
  }

  get headers_json(): string {
    return this.#facts.json;
  }

  get sql(): string | null {
    const query = this.#record?.query;
    if (!query) return null;
    return renderSql(query.sql, this.#mode, this.#facts.secret);
  }

  /** A plain object of every field (what `JSON.stringify` of the event gives). */
  toJSON(): EventMap["request_done"] {
    return {
      time: this.time,
      request_id: this.request_id,
      method: this.method,
      route: this.route,
      status: this.status,
      bytes: this.bytes,
      duration: this.duration,
      aborted: this.aborted,
      key_id: this.key_id,
      role: this.role,
      remote_ip: this.remote_ip,
      remote_port: this.remote_port,
      client_ip: this.client_ip,
      proto: this.proto,
      host: this.host,
      uri: this.uri,
      headers: this.headers,
      headers_json: this.headers_json,
      rows: this.rows,
      cache: this.cache,
      sql: this.sql,
      error_code: this.error_code,
      tenant: this.tenant,
    };
  }
}

/**
 * The previous request's URL and its URI for logs, when that URI depended on nothing else (no
 * SQL in the path, no key in the URL): most traffic repeats a few URLs.
 */
let previousUri = { url: "", uri: "" };

/** The request's path and query for logs; a GET query's SQL path shown as `log_sql` says. */
function uriOf(
  request: Request,
  record: RequestRecord | null,
  mode: SqlLogMode,
  secret: string | null,
): string {
  const url = request.url;
  const showsKey = secret !== null && mayShow(url, secret);
  if (url === previousUri.url && !showsKey) return previousUri.uri;
  const uri = logUri(url, record, mode, secret);
  if (!showsKey && !url.includes("/query/") && !url.includes("dsk_")) previousUri = { url, uri };
  return uri;
}

/** `url` may hold `secret` as sent or percent-encoded. */
function mayShow(url: string, secret: string): boolean {
  return url.includes(secret) || url.includes(encodeURIComponent(secret));
}

/** {@link uriOf} computed. */
function logUri(
  url: string,
  record: RequestRecord | null,
  mode: SqlLogMode,
  secret: string | null,
): string {
  // The path and query as sent: everything after the origin (`scheme://host`).
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  const target = slash < 0 ? "/" : url.slice(slash);
  const q = target.indexOf("?");
  let path = q < 0 ? target : target.slice(0, q);
  const search = q < 0 ? "" : target.slice(q);
  // A GET query's SQL, also when the request was refused before its query was noted (a bad key,
  // an unknown parameter): any `/query/{sql}/result.` path is rendered, never logged as sent.
  const at = path.indexOf("/query/") + "/query/".length;
  const end = path.lastIndexOf("/result.");
  if (at > 6 && end >= at) {
    const query = record?.query;
    const sql = query?.inPath && query.sql !== null
      ? query.sql
      : decodedSegment(path.slice(at, end));
    const shown = sql === null ? REDACTED : renderSql(sql, mode, secret) ?? REDACTED;
    path = `${path.slice(0, at)}${encodeURIComponent(shown)}${path.slice(end)}`;
  }
  return redactUri(`${path}${search}`, secret);
}

/** A percent-encoded path segment decoded once, or null when it is not valid encoding. */
function decodedSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
