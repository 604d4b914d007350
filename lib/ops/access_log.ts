/**
 * The access log: one JSON line per `request_done` event in Caddy's shape (`ts`, `level`,
 * `logger: "http.log.access"`, `msg: "handled request"`, `request` with `remote_ip`,
 * `remote_port`, `client_ip`, `proto`, `method`, `host`, `uri`, `headers`; `status`, `size`,
 * `duration`), plus duckserve's `request_id`, `route`, `key_id` and `role` when authenticated,
 * `rows`, `cache` and `sql` on SQL routes, `error_code` on problem answers, and `tenant` when
 * the request's `Host` selected a tenant database. The event comes
 * redacted (no key anywhere); this module only formats and writes.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { formatAccessLine } from "./access_log.ts";
 * const line = JSON.parse(formatAccessLine({
 *   time: 0, request_id: "r1", method: "GET", route: "/duckdb/livez", status: 200, bytes: 30,
 *   duration: 0.0004, aborted: false, key_id: null, role: null, remote_ip: "127.0.0.1",
 *   remote_port: 5000, client_ip: "127.0.0.1", proto: "HTTP/1.1", host: "localhost",
 *   uri: "/duckdb/livez", headers: {}, headers_json: "{}", rows: null, cache: null, sql: null, error_code: null,
 * }, 1700000000.5));
 * equal(line.logger, "http.log.access");
 * equal(line.request.remote_port, "5000");
 * equal(line.size, 30);
 * ```
 * @module
 */

import type { RequestDone } from "../events.ts";
import { type LineOut, linePiece, StringOut } from "./line_out.ts";

const q = JSON.stringify;

/** The `request` fields of the previous line that repeat from one request to the next. */
let previous = {
  clientIp: "",
  proto: "",
  method: "",
  host: "",
  uri: "",
  headers: "",
  route: null as string | null,
  text: "",
};

const INFO = linePiece(`{"level":"info","ts":`);
const ERROR = linePiece(`{"level":"error","ts":`);
const REQUEST = linePiece(
  `,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":`,
);
const PORT = linePiece(`,"remote_port":"`);
const DURATION = linePiece(`,"duration":`);

/** The access log line of `done` as text (see {@link writeAccessLine}). */
export function formatAccessLine(done: RequestDone, ts?: number): string {
  const out = new StringOut();
  writeAccessLine(out, done, ts);
  return out.line;
}

/**
 * Writes the access log line of `done`, logged at `ts` (Unix seconds; default: when its last
 * byte was sent), to `out`. Written field by field (each string value JSON-escaped): a line per
 * request is on the hot path, and writing it straight into the log's buffer makes no string of
 * the line. The runs of fields that repeat from one request to the next (address, method, host,
 * URI, headers and route; status, size and the answer's other fields) are reused from the
 * previous line when they are the same, and `out` keeps their bytes.
 */
export function writeAccessLine(
  out: LineOut,
  done: RequestDone,
  ts = done.time / 1000 + done.duration,
): void {
  const clientIp = done.client_ip;
  const proto = done.proto;
  const method = done.method;
  const host = done.host;
  const uri = done.uri;
  const headers = done.headers_json;
  const route = done.route;
  let request = previous.text;
  if (
    headers !== previous.headers || uri !== previous.uri || host !== previous.host ||
    route !== previous.route || method !== previous.method || clientIp !== previous.clientIp ||
    proto !== previous.proto
  ) {
    request = `",` +
      `"client_ip":${q(clientIp)},"proto":"${proto}","method":${q(method)},"host":${q(host)},` +
      `"uri":${q(uri)},"headers":${headers}},"route":${q(route)},"request_id":`;
    previous = { clientIp, proto, method, host, uri, headers, route, text: request };
  }
  out.piece(done.status >= 500 ? ERROR : INFO);
  out.decimal(ts, 6);
  out.piece(REQUEST);
  out.string(done.remote_ip);
  out.piece(PORT);
  out.decimal(done.remote_port, 0);
  out.run(request);
  nullable(out, done.request_id);
  out.piece(DURATION);
  out.decimal(done.duration, 9);
  out.run(endOf(done));
}

/** `text` as a JSON string, or `null`. */
function nullable(out: LineOut, text: string | null): void {
  if (text === null) out.ascii("null");
  else out.string(text);
}

/** The answer's fields of the previous line. */
let previousEnd: Answer & { text: string } = {
  tenant: undefined,
  status: 0,
  bytes: -1,
  aborted: false,
  key_id: null,
  role: null,
  rows: null,
  cache: null,
  sql: null,
  error_code: null,
  text: "",
};

type Answer = Pick<
  RequestDone,
  | "status"
  | "bytes"
  | "aborted"
  | "key_id"
  | "role"
  | "rows"
  | "cache"
  | "sql"
  | "error_code"
  | "tenant"
>;

/** The line's end from `size` on: the previous line's when its fields are the same. */
function endOf(done: RequestDone): string {
  const { status, bytes, aborted, key_id, role, rows, cache, sql, error_code, tenant } = done;
  const p = previousEnd;
  if (
    status === p.status && bytes === p.bytes && rows === p.rows && cache === p.cache &&
    sql === p.sql && key_id === p.key_id && role === p.role && error_code === p.error_code &&
    aborted === p.aborted && tenant === p.tenant
  ) {
    return p.text;
  }
  let text = `,"size":${bytes},"status":${status}`;
  if (aborted) text += `,"aborted":true`;
  if (key_id !== null) text += `,"key_id":${q(key_id)},"role":${q(role)}`;
  if (rows !== null) text += `,"rows":${rows}`;
  if (cache !== null) text += `,"cache":"${cache}"`;
  if (sql !== null) text += `,"sql":${q(sql)}`;
  if (error_code !== null) text += `,"error_code":${q(error_code)}`;
  if (tenant) text += `,"tenant":${q(tenant)}`;
  text += "}";
  previousEnd = {
    status,
    bytes,
    aborted,
    key_id,
    role,
    rows,
    cache,
    sql,
    error_code,
    tenant,
    text,
  };
  return text;
}
