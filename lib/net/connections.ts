/**
 * The open connections of a listener and the timers that close them: a new connection must send
 * its first request's headers within `header_timeout` (TLS handshake included), and one with no
 * request in flight is closed after `idle_timeout`. HTTP/1.1 sockets and HTTP/2 sessions are
 * tracked alike; requests count against the connection they came on.
 * @module
 */

import type { Socket } from "node:net";
import type { Http2Session } from "node:http2";

/** One connection's state: requests in flight and the timer that closes it when idle. */
interface Conn {
  active: number;
  timer: ReturnType<typeof setTimeout> | undefined;
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
  /** Counts a request on the connection of `carrier`; call the result once it is answered. */
  begin(carrier: unknown): () => void;
  /** Starts draining: idle connections end now, the others when their requests are done. */
  drain(): void;
  /** Closes every connection at once. */
  destroyAll(): void;
}

/** An empty table with the listener's timeouts (ms; `0`: none). */
export function createConnTable(idleTimeout: number, headerTimeout: number): ConnTable {
  const conns = new Set<Conn>();
  let draining = false;
  const arm = (conn: Conn, ms: number) => {
    clearTimeout(conn.timer);
    if (ms > 0) conn.timer = setTimeout(() => conn.active === 0 && conn.destroy(), ms);
  };
  const track = (
    target: Tracked,
    end: () => void,
    destroy: () => void,
    events: Socket | Http2Session,
  ) => {
    const conn: Conn = { active: 0, timer: undefined, end, destroy };
    target[CONN] = conn;
    conns.add(conn);
    events.once("close", () => {
      clearTimeout(conn.timer);
      conns.delete(conn);
    });
    if (draining) conn.end();
    else arm(conn, headerTimeout);
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
      if (!conn) return () => {};
      conn.active++;
      clearTimeout(conn.timer);
      return () => {
        conn.active--;
        if (conn.active === 0) draining ? conn.end() : arm(conn, idleTimeout);
      };
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
