/**
 * The open connections of a listener and the timers that close them: a new connection must send
 * its first request's headers within `header_timeout` (TLS handshake included), and one with no
 * request in flight is closed after `idle_timeout`. HTTP/1.1 sockets and HTTP/2 sessions are
 * tracked alike; requests count against the connection they came on.
 * @module
 */

import type { Socket } from "node:net";
import type { Http2Session } from "node:http2";

/** One connection's state: requests in flight and when it fell idle. */
export interface Conn {
  active: number;
  /** When the connection opened or its last request ended (`performance.now()`). */
  idleSince: number;
  /** How long it may stay idle now (ms; header timeout, then idle timeout; `0`: forever). */
  limit: number;
  /** The one timer that checks this connection, if any, and when it fires. */
  timer: ReturnType<typeof setTimeout> | undefined;
  due: number;
  /** Ends the connection gracefully (a GOAWAY on HTTP/2, FIN on HTTP/1.1). */
  end(): void;
  destroy(): void;
}

const CONN = Symbol("duckserve.conn");

/** A socket or session that may carry its connection state. */
export type Tracked = { [CONN]?: Conn };

/** The connections of one listener. */
export interface ConnTable {
  /** Open connections. */
  readonly size: number;
  /** True once the listener drains: idle connections end, busy ones after their last request. */
  readonly draining: boolean;
  /** Tracks an HTTP/1.1 socket (plain, or TLS without HTTP/2). */
  trackSocket(socket: Socket): void;
  /** Tracks an HTTP/2 session. */
  trackSession(session: Http2Session): void;
  /** Counts a request on the connection of `carrier`; pass the result to {@link ConnTable.end}. */
  begin(carrier: unknown): Conn | undefined;
  /** Ends a request {@link ConnTable.begin} counted. */
  end(conn: Conn | undefined): void;
  /** Starts draining: idle connections end now, the others when their requests are done. */
  drain(): void;
  /** Closes every connection at once. */
  destroyAll(): void;
}

/**
 * An empty table with the listener's timeouts (ms; `0`: none). Requests cost no timer: a
 * connection's one timer is set when it opens or falls idle and none is pending; when it fires,
 * it closes the connection if it has been idle long enough, or sets itself for the rest.
 */
export function createConnTable(idleTimeout: number, headerTimeout: number): ConnTable {
  const conns = new Set<Conn>();
  let draining = false;
  const check = (conn: Conn) => {
    conn.timer = undefined;
    if (conn.active > 0 || conn.limit === 0) return;
    const left = conn.idleSince + conn.limit - performance.now();
    if (left <= 1) conn.destroy();
    else arm(conn);
  };
  /** Makes sure a timer fires by the connection's deadline (one already due earlier will do). */
  const arm = (conn: Conn) => {
    if (conn.limit === 0) return;
    const deadline = conn.idleSince + conn.limit;
    if (conn.timer !== undefined) {
      if (conn.due <= deadline) return;
      clearTimeout(conn.timer);
    }
    conn.due = deadline;
    conn.timer = setTimeout(check, Math.max(deadline - performance.now(), 0), conn);
  };
  const track = (
    target: Tracked,
    end: () => void,
    destroy: () => void,
    events: Socket | Http2Session,
  ) => {
    const conn: Conn = {
      active: 0,
      idleSince: performance.now(),
      limit: headerTimeout,
      timer: undefined,
      due: 0,
      end,
      destroy,
    };
    target[CONN] = conn;
    conns.add(conn);
    events.once("close", () => {
      clearTimeout(conn.timer);
      conns.delete(conn);
    });
    if (draining) conn.end();
    else arm(conn);
  };
  return {
    get size() {
      return conns.size;
    },
    get draining() {
      return draining;
    },
    trackSocket: (socket) =>
      track(socket as Tracked, () => socket.end(), () => socket.destroy(), socket),
    trackSession: (session) =>
      track(session as Tracked, () => session.close(), () => session.destroy(), session),
    begin(carrier) {
      const conn = (carrier as Tracked | undefined)?.[CONN];
      if (conn) conn.active++;
      return conn;
    },
    end(conn) {
      if (!conn || --conn.active > 0) return;
      if (draining) {
        conn.end();
        return;
      }
      conn.idleSince = performance.now();
      conn.limit = idleTimeout;
      arm(conn);
    },
    drain() {
      draining = true;
      for (const conn of conns) if (conn.active === 0) conn.end();
    },
    destroyAll() {
      for (const conn of conns) conn.destroy();
    },
  };
}
