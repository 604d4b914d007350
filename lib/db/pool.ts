/**
 * A fixed-size pool of DuckDB connections. Each connection keeps a small cache of prepared
 * statements by SQL text, so a repeated request costs one bind and one execution. A lease is
 * returned clean: a caller that may have left session state behind (`SET`, `USE`, temporary
 * objects, an open transaction) releases it as dirty and the connection is replaced.
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
  /** True once the pool is closing (server shutdown): no new statement should start. */
  readonly closing: boolean;
}

interface Slot {
  connection: DuckDBConnection;
  statements: Map<string, DuckDBPreparedStatement>;
}

/** A bounded pool of connections to one DuckDB instance. */
export class ConnectionPool {
  #idle: Slot[] = [];
  #waiters: { resolve: (slot: Slot) => void; reject: (err: unknown) => void }[] = [];
  #closed = false;
  #open = 0;
  #leased = new Set<Slot>();

  private constructor(private readonly instance: DuckDBInstance, readonly size: number) {}

  /** Opens `size` connections up front so the first requests do not pay for them. */
  static async open(instance: DuckDBInstance, size: number): Promise<ConnectionPool> {
    const pool = new ConnectionPool(instance, size);
    for (let i = 0; i < size; i++) pool.#idle.push(await pool.#connect());
    return pool;
  }

  async #connect(): Promise<Slot> {
    this.#open++;
    try {
      return { connection: await this.instance.connect(), statements: new Map() };
    } catch (err) {
      this.#open--;
      throw err;
    }
  }

  /** Number of connections in use. */
  get busy(): number {
    return this.#open - this.#idle.length;
  }

  /** Waits for a free connection; rejects when `signal` aborts or the pool closes. */
  async acquire(signal?: AbortSignal): Promise<Lease> {
    if (this.#closed) throw new ApiError("unavailable", "The server is shutting down.");
    const slot = this.#idle.pop() ?? await new Promise<Slot>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
      }, { once: true });
    });
    return this.#lease(slot);
  }

  #lease(slot: Slot): Lease {
    let released = false;
    this.#leased.add(slot);
    const isClosed = () => this.#closed;
    return {
      connection: slot.connection,
      prepare: (sql) => prepareCached(slot, sql),
      get closing() {
        return isClosed();
      },
      release: (dirty = false) => {
        if (released) return;
        released = true;
        this.#leased.delete(slot);
        if (dirty || this.#closed) {
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
      closeSlot(slot);
      this.#open--;
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.#idle.push(slot);
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
      closeSlot(slot);
      this.#open--;
    }
  }
}

async function prepareCached(slot: Slot, sql: string): Promise<DuckDBPreparedStatement> {
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
