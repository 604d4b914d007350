/**
 * Table functions written without the driver: a {@link TableFunctionSpec} says how to bind a call
 * (check the arguments, choose the columns) and how to scan it (produce rows in chunks);
 * {@link createTableFunction} turns it into DuckDB's table function. DuckDB runs the callbacks on
 * the JS thread while the query is awaited, so they must be synchronous and quick per chunk.
 *
 * Every call knows its *owner*: the `owner` of the pool lease running the statement (see
 * `Lease.owner`), looked up by the connection id DuckDB reports, so a spec can authorize per
 * request. Binding happens once per prepared statement, while scans happen at every execution:
 * a spec must authorize in `scan` (binding may be cached across requests on one connection).
 * @module
 */

import {
  BLOB,
  DuckDBBlobValue,
  DuckDBTableFunction,
  DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
  DuckDBVarCharType,
  TIMESTAMP,
  VARCHAR,
} from "@duckdb/node-api";

/** Column types a spec can return, with the JS values each takes. */
export type SqlColumnType =
  /** string */
  | "varchar"
  /** string holding JSON text (DuckDB's JSON type, so `->>` works) */
  | "json"
  /** Uint8Array */
  | "blob"
  /** milliseconds since the epoch (number), as TIMESTAMP (UTC) */
  | "timestamp";

/** One output column. */
export interface SqlColumn {
  name: string;
  type: SqlColumnType;
}

/** What a bind receives. */
export interface TableFunctionCall {
  /** Positional VARCHAR arguments, in order (null for SQL NULL). */
  args: (string | null)[];
  /** Named VARCHAR arguments that were given. */
  named: Record<string, string | null>;
  /** The owner of the lease running the statement (undefined outside pooled requests). */
  owner: unknown;
}

/** Produces the next chunk: one array per column, equal lengths; `null` or empty when done. */
export type ChunkSource = (maxRows: number) => unknown[][] | null;

/** A table function, independent of the driver. Throw an `Error` to refuse with its message. */
export interface TableFunctionSpec<B> {
  name: string;
  /** Number of positional VARCHAR parameters. */
  parameters: number;
  /** Names of optional named VARCHAR parameters (`name := 'value'`). */
  named?: readonly string[];
  /** Checks the call and chooses the columns. Runs when the statement is prepared. */
  bind(call: TableFunctionCall): { columns: SqlColumn[]; data: B };
  /** Starts one execution (authorize here). `owner` as in {@link TableFunctionCall}. */
  scan(data: B, owner: unknown): ChunkSource;
}

const JSON_TYPE = DuckDBVarCharType.create("JSON");

const TYPES: Record<SqlColumnType, DuckDBType> = {
  varchar: VARCHAR,
  json: JSON_TYPE,
  blob: BLOB,
  timestamp: TIMESTAMP,
};

const CONVERT: Record<SqlColumnType, (value: unknown) => DuckDBValue> = {
  varchar: (v) => v as string,
  json: (v) => v as string,
  blob: (v) => new DuckDBBlobValue(v as Uint8Array),
  timestamp: (v) => new DuckDBTimestampValue(BigInt(Math.round(v as number)) * 1000n),
};

/** DuckDB's standard vector size: rows per output chunk. */
const CHUNK_ROWS = 2048;

interface Bound<B> {
  data: B;
  columns: SqlColumn[];
  connectionId: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function text(value: DuckDBValue | null): string | null {
  return value === null || value === undefined ? null : String(value);
}

/**
 * Builds the DuckDB table function of `spec`; `ownerOf` maps a connection id to the owner of its
 * current lease.
 */
export function createTableFunction<B>(
  spec: TableFunctionSpec<B>,
  ownerOf: (connectionId: number) => unknown,
): DuckDBTableFunction {
  const named = spec.named ?? [];
  return DuckDBTableFunction.create({
    name: spec.name,
    parameterTypes: Array.from({ length: spec.parameters }, () => VARCHAR),
    namedParameterTypes: Object.fromEntries(named.map((n) => [n, VARCHAR])),
    bindFunction: (info) => {
      try {
        const connectionId = info.clientContext.connectionId;
        const args = Array.from(
          { length: info.parameterCount },
          (_, i) => text(info.getParameter(i)),
        );
        const given: Record<string, string | null> = {};
        for (const n of named) {
          const value = info.getNamedParameter(n);
          if (value !== null) given[n] = text(value);
        }
        const bound = spec.bind({ args, named: given, owner: ownerOf(connectionId) });
        for (const column of bound.columns) info.addResultColumn(column.name, TYPES[column.type]);
        info.setBindData({ data: bound.data, columns: bound.columns, connectionId } as Bound<B>);
      } catch (err) {
        info.setError(message(err));
      }
    },
    initFunction: (info) => {
      try {
        const bound = info.bindData as Bound<B>;
        info.setMaxThreads(1);
        info.setInitData({ next: spec.scan(bound.data, ownerOf(bound.connectionId)) });
      } catch (err) {
        info.setError(message(err));
      }
    },
    mainFunction: (info, output) => {
      try {
        const bound = info.bindData as Bound<B>;
        const { next } = info.initData as { next: ChunkSource };
        const columns = next(CHUNK_ROWS);
        const rows = columns?.[0]?.length ?? 0;
        output.rowCount = rows;
        if (rows === 0) return;
        for (let c = 0; c < bound.columns.length; c++) {
          const convert = CONVERT[bound.columns[c].type];
          output.setColumnValues(c, columns![c].map((v) => (v === null ? null : convert(v))));
        }
      } catch (err) {
        output.rowCount = 0;
        info.setError(message(err));
      }
    },
  });
}
