/**
 * A fixed-size pool of DuckDB connections. Each connection keeps a small cache of prepared
 * statements by SQL text, so a repeated request costs one bind and one execution; the cache is
 * dropped when the catalog changes ({@link ConnectionPool.expireStatements}). A lease is
 * returned clean: a caller that may have left session state behind (`SET`, `USE`, temporary
 * objects, an open transaction) releases it as dirty and the connection is replaced.
 *
 * A lease may carry an `owner` (the request's principal): code that DuckDB calls back while a
 * statement runs (table functions such as `read_stream`) finds it with {@link ConnectionPool.ownerOf}
 * by the connection id DuckDB reports. It is cleared when the lease is released.
 * @module
 */

import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from "@duckdb/node-api";
import { ApiError } from "../errors.ts";

const STATEMENT_CACHE_SIZE = 64;

/** A connection on loan from the pool. */
export interface Lease {
  readonly connection: DuckDBConnection;
  /** Prepares `sql` on this connection, reusing a cached statement for the same text. */
  prepare(sql: string): Promise<DuckDBPreparedStatement>;
  /** Returns the connection; `dirty` closes it and opens a fresh one in its place. */
  release(dirty?: boolean): void;
  /** Marks the connection's session as changed (`USE`): it is replaced at release. */
  taint(): void;
  /** DuckDB's id of the connection (`current_connection_id()`). */
  readonly connectionId: number;
  /** Who the statements on this lease run for, until release (see the module doc). */
  owner: unknown;
  /** True once the pool is closing (server shutdown): no new statement should start. */
  readonly closing: boolean;
}

/** How {@link ConnectionPool.acquire} waits (no signals, no timeout: until a connection frees). */
export interface AcquireWait {
  /** Stop waiting when one of these aborts (undefined entries are skipped). */
  signals?: readonly (AbortSignal | undefined)[];
  /** Stop waiting after this many milliseconds. */
  timeoutMs?: number;
}

/** A caller waiting for a connection. */
interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  connection: DuckDBConnection;
  statements: Map<string, DuckDBPreparedStatement>;
  /** The pool's statement generation the cached statements were prepared under. */
  generation: number;
  id: number;
  owner: unknown;
}

/** A bounded pool of connections to one DuckDB instance. */
export class ConnectionPool {
  #idle: Slot[] = [];
  #waiters: Waiter[] = [];
  #closed = false;
  #open = 0;
  #byId = new Map<number, Slot>();
  /** Connections being opened (a closing engine must wait for them). */
  #opening = new Set<Promise<Slot>>();
  #leased = new Set<Slot>();
  /** Moves on when the catalog changed: statements prepared before are prepared again. */
  #generation = 0;

  /** Connections opened up front (prepared by `onConnect`) that replace dirty ones first. */
  #spares: DuckDBConnection[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly size: number,
    private readonly onConnect?: (connection: DuckDBConnection) => Promise<void>,
  ) {}

  /**
   * Opens `size` connections up front so the first requests do not pay for them, and `spares`
   * more kept aside to replace dirty ones. `onConnect` prepares every new connection (session
   * settings); where it fails (settings locked since), the connection is used as it is.
   */
  static async open(
    instance: DuckDBInstance,
    size: number,
    options: { spares?: number; onConnect?: (connection: DuckDBConnection) => Promise<void> } = {},
  ): Promise<ConnectionPool> {
    const pool = new ConnectionPool(instance, size, options.onConnect);
    for (let i = 0; i < size; i++) pool.#idle.push(await pool.#connect());
    for (let i = 0; i < (options.spares ?? 0); i++) {
      const spare = await instance.connect();
      await options.onConnect?.(spare);
      pool.#spares.push(spare);
    }
    return pool;
  }

  #connect(): Promise<Slot> {
    const opening = this.#openSlot();
    this.#opening.add(opening);
    const forget = () => this.#opening.delete(opening);
    opening.then(forget, forget);
    return opening;
  }

  async #openSlot(): Promise<Slot> {
    this.#open++;
    try {
      const spare = this.#spares.pop();
      const connection = spare ?? await this.instance.connect();
      if (!spare) await this.onConnect?.(connection).catch(() => {});
      const reader = await connection.runAndReadAll("SELECT current_connection_id()");
      const slot: Slot = {
        connection,
        statements: new Map(),
        generation: this.#generation,
        id: Number(reader.getRows()[0][0]),
        owner: undefined,
      };
      this.#byId.set(slot.id, slot);
      return slot;
    } catch (err) {
      this.#open--;
      throw err;
    }
  }

  /** The owner of the lease holding connection `connectionId` (undefined when idle or unset). */
  ownerOf(connectionId: number): unknown {
    return this.#byId.get(connectionId)?.owner;
  }

  /**
   * Forgets every cached prepared statement (each connection drops its own at its next prepare):
   * call it when the catalog changed, so no statement keeps columns or types it was bound with.
   */
  expireStatements(): void {
    this.#generation++;
  }

  /** Number of connections in use. */
  get busy(): number {
    return this.#open - this.#idle.length;
  }

  /** Number of idle connections. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Number of callers waiting for a connection. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** A free connection right away, or null when all are leased (no waiting, no timers). */
  tryAcquire(): Lease | null {
    if (this.#closed) throw new ApiError("unavailable", "The server is shutting down.");
    const slot = this.#idle.pop();
    return slot ? this.#lease(slot) : null;
  }

  /**
   * Waits for a free connection; rejects with the reason of the first of `signals` to abort, with
   * a `TimeoutError` `DOMException` after `timeoutMs`, or when the pool closes. Its listeners and
   * timer go as soon as the wait ends: a busy server queues many short waits, and a timer or
   * listener left behind per wait (an `AbortSignal.timeout` of the query timeout, say) would keep
   * each request's objects alive long after it was answered.
   */
  async acquire(wait: AcquireWait = {}): Promise<Lease> {
    if (this.#closed) throw new ApiError("unavailable", "The server is shutting down.");
    const idle = this.#idle.pop();
    if (idle) return this.#lease(idle);
    const signals = (wait.signals ?? []).filter((s) => s !== undefined);
    for (const signal of signals) if (signal.aborted) throw signal.reason;
    const slot = await new Promise<Slot>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (event: Event) => drop((event.target as AbortSignal).reason);
      const settle = () => {
        clearTimeout(timer);
        for (const signal of signals) signal.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        resolve: (slot) => (settle(), resolve(slot)),
        reject: (err) => (settle(), reject(err)),
      };
      const drop = (reason: unknown) => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        waiter.reject(reason);
      };
      for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
      if (wait.timeoutMs !== undefined) {
        timer = setTimeout(
          () => drop(new DOMException("No connection came free in time.", "TimeoutError")),
          Math.min(wait.timeoutMs, 2 ** 31 - 1),
        );
      }
      this.#waiters.push(waiter);
    });
    return this.#lease(slot);
  }

  #lease(slot: Slot): Lease {
    let released = false;
    let tainted = false;
    this.#leased.add(slot);
    const isClosed = () => this.#closed;
    return {
      connection: slot.connection,
      connectionId: slot.id,
      get owner() {
        return slot.owner;
      },
      set owner(owner: unknown) {
        if (!released) slot.owner = owner;
      },
      prepare: (sql) => prepareCached(slot, sql, this.#generation),
      taint: () => void (tainted = true),
      get closing() {
        return isClosed();
      },
      release: (dirty = false) => {
        if (released) return;
        released = true;
        slot.owner = undefined;
        this.#leased.delete(slot);
        if (dirty || tainted || this.#closed) {
          this.#byId.delete(slot.id);
          closeSlot(slot);
          this.#open--;
          if (!this.#closed) this.#connect().then((fresh) => this.#give(fresh), () => {});
        } else {
          this.#give(slot);
        }
      },
    };
  }

  #give(slot: Slot): void {
    if (this.#closed) {
      this.#byId.delete(slot.id);
      closeSlot(slot);
      this.#open--;
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.#idle.push(slot);
  }

  /**
   * Resolves once no connection is being opened any more (replacements of dirty connections
   * run in the background): the instance must not close under a `connect()` in flight.
   */
  async settled(): Promise<void> {
    while (this.#opening.size > 0) await Promise.allSettled([...this.#opening]);
  }

  /**
   * Interrupts the statement running on every leased connection (used at the end of the
   * shutdown grace period, after {@link close}); returns how many connections were on loan.
   */
  interruptAll(): number {
    for (const slot of this.#leased) slot.connection.interrupt();
    return this.#leased.size;
  }

  /** Closes idle connections; leased ones close when released. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new ApiError("unavailable", "The server is shutting down."));
    }
    for (const slot of this.#idle.splice(0)) {
      this.#byId.delete(slot.id);
      closeSlot(slot);
      this.#open--;
    }
    for (const spare of this.#spares.splice(0)) spare.closeSync();
  }
}

async function prepareCached(
  slot: Slot,
  sql: string,
  generation: number,
): Promise<DuckDBPreparedStatement> {
  if (slot.generation !== generation) {
    for (const statement of slot.statements.values()) statement.destroySync();
    slot.statements.clear();
    slot.generation = generation;
  }
  const cached = slot.statements.get(sql);
  if (cached) {
    slot.statements.delete(sql);
    slot.statements.set(sql, cached);
    cached.clearBindings();
    return cached;
  }
  const prepared = await slot.connection.prepare(sql);
  slot.statements.set(sql, prepared);
  if (slot.statements.size > STATEMENT_CACHE_SIZE) {
    const [oldest, statement] = slot.statements.entries().next().value!;
    slot.statements.delete(oldest);
    statement.destroySync();
  }
  return prepared;
}

function closeSlot(slot: Slot): void {
  for (const statement of slot.statements.values()) statement.destroySync();
  slot.statements.clear();
  slot.connection.closeSync();
}
