/**
 * Streams as SQL: the table function `read_stream(name [, after := offset])`, so a stream of
 * events is also an analytics table:
 *
 * ```sql
 * SELECT value->>'customer' AS customer, count(*) FROM read_stream('orders') GROUP BY ALL;
 * SELECT * FROM read_stream('_changes/orders', after := '0000000000000000_0000000000000120');
 * ```
 *
 * Columns: `next_offset VARCHAR` (the offset right after the row's message: read the stream from
 * it to continue after this row), `value` (`JSON` for JSON streams, one row per message;
 * `VARCHAR` for `text/*` streams and `BLOB` for others, one row per append), and
 * `appended_at TIMESTAMP` (UTC). A scan reads the stream as it was when the statement started
 * (a snapshot up to the tail then). It reads through the streams service, never through a file
 * path: the SQL sandbox stays closed.
 *
 * Authorization happens at every execution (a prepared statement may be reused by another
 * request on the same connection): the statement's owner needs what `GET` of the stream needs.
 * @module
 */

import type { TableFunctionSpec } from "../db/table_function.ts";
import { canonicalStreamPath } from "./access.ts";
import { ApiError } from "../errors.ts";
import type { ScannedMessage, StreamScan, StreamsService } from "./service.ts";

/** Name of the SQL table function. */
export const READ_STREAM = "read_stream";

/** Options of {@link createReadStreamFunction}. */
export interface ReadStreamOptions {
  /**
   * Throws when `owner` (the request's principal, or undefined outside a request) may not read
   * stream `path`; null turns checks off (`streams_auth: none`).
   */
  authorizeRead: ((owner: unknown, path: string) => void) | null;
}

type ValueType = "json" | "varchar" | "blob";

interface Binding {
  path: string;
  after: string | undefined;
  valueType: ValueType;
}

const decoder = new TextDecoder();

function valueTypeOf(scan: StreamScan): ValueType {
  if (scan.json) return "json";
  return scan.contentType.toLowerCase().startsWith("text/") ? "varchar" : "blob";
}

function fail(path: string, err: unknown): never {
  if (err instanceof ApiError) {
    if (err.status === 404 || err.status === 410) {
      throw new Error(`${READ_STREAM}(): no stream '${path}'`);
    }
    throw new Error(`${READ_STREAM}(): ${err.message} (stream '${path}')`);
  }
  throw err;
}

/** The `read_stream` table function over `streams`. */
export function createReadStreamFunction(
  streams: StreamsService,
  options: ReadStreamOptions,
): TableFunctionSpec<Binding> {
  const open = (path: string, after: string | undefined, owner: unknown): StreamScan => {
    options.authorizeRead?.(owner, path);
    try {
      return streams.scan(path, after);
    } catch (err) {
      fail(path, err);
    }
  };

  return {
    name: READ_STREAM,
    parameters: 1,
    named: ["after"],
    bind({ args, named, owner }) {
      const name = args[0];
      if (name === null || name === undefined || name === "") {
        throw new Error(`${READ_STREAM}(name): the stream name must not be NULL or empty`);
      }
      const path = canonicalStreamPath(name.replace(/^\/+/, ""));
      const after = named.after ?? undefined;
      const valueType = valueTypeOf(open(path, after, owner));
      return {
        data: { path, after, valueType },
        columns: [
          { name: "next_offset", type: "varchar" },
          { name: "value", type: valueType },
          { name: "appended_at", type: "timestamp" },
        ],
      };
    },
    scan({ path, after, valueType }, owner) {
      const scan = open(path, after, owner);
      if (valueTypeOf(scan) !== valueType) {
        throw new Error(
          `${READ_STREAM}(): stream '${path}' changed its content type since the statement ` +
            "was prepared; run it again",
        );
      }
      let buffer: ScannedMessage[] = [];
      let at = 0;
      return (maxRows) => {
        const offsets: string[] = [];
        const values: unknown[] = [];
        const times: number[] = [];
        while (offsets.length < maxRows) {
          if (at >= buffer.length) {
            try {
              buffer = scan.next();
            } catch (err) {
              throw new Error(
                `${READ_STREAM}(): stream '${path}' was deleted during the scan (${
                  err instanceof Error ? err.message : err
                })`,
              );
            }
            at = 0;
            if (buffer.length === 0) break;
          }
          const m = buffer[at++];
          offsets.push(m.nextOffset);
          values.push(valueType === "blob" ? m.bytes : decoder.decode(m.bytes));
          times.push(m.appendedAtMs);
        }
        return [offsets, values, times];
      };
    },
  };
}
