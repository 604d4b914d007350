/**
 * The static components of the document: the generic tags, the fixed schemas (problem details,
 * probes, query requests, pagination, the catalog), the generic parameters (output format, CSV
 * options, filters, paging), the generic response headers and the security schemes. The
 * features' own components come from their document parts (`part.ts`).
 * @module
 */

import type { Config } from "../config.ts";
import { ERROR_CODES, type ErrorCode } from "../errors.ts";
import { FORMATS } from "../encode/formats.ts";
import { MAX_CONDITIONS, MAX_LIST_VALUES, OPERATORS } from "../query/filters.ts";
import { MAX_SELECT_COLUMNS, MAX_SORT_KEYS } from "../query/plan_read.ts";
import { adminSchemas } from "./admin_schemas.ts";
import type { Tag } from "./part.ts";

/** The generic tags, in document order (the features' tags and the per-table tags follow). */
export const TAGS: readonly Tag[] = [
  { name: "Probes", description: "Health, liveness and readiness; no key needed." },
  { name: "Documentation", description: "This document and the API reference page." },
  { name: "Schema", description: "Tables, columns and keys the key may read." },
  { name: "Raw SQL", description: "SQL in, rows or changes out." },
  { name: "Tables", description: "REST access to any table: `/api/{table}`." },
  {
    name: "Operations",
    description: "Prometheus metrics and the live configuration; an admin key is needed.",
  },
];

/** The generic response header components. */
export function headers(): Record<string, unknown> {
  return {
    RequestId: {
      description: "The request ID: echoed when the client sent a well-formed one.",
      schema: { type: "string" },
    },
    RetryAfter: {
      description: "Seconds to wait before retrying.",
      schema: { type: "integer", minimum: 0 },
    },
    Truncated: {
      description: "`true` when the row cap (`absolute_max_rows`) cut the result.",
      schema: { type: "string", enum: ["true"] },
    },
  };
}

/** The security schemes: an API key in `X-API-Key` or as a bearer token. */
export function securitySchemes(): Record<string, unknown> {
  return {
    apiKey: {
      type: "apiKey",
      in: "header",
      name: "X-API-Key",
      description: "An API key from `duckserve auth key add`.",
    },
    bearer: {
      type: "http",
      scheme: "bearer",
      description: "The same API key as `Authorization: Bearer <key>`.",
    },
  };
}

/**
 * The `components/parameters` entries: the generic ones, with the features' `contributed` ones
 * before `Prefer` (where the document has always listed them).
 */
export function parameters(
  config: Config,
  assets: readonly string[],
  contributed: Record<string, unknown>,
): Record<string, unknown> {
  return {
    table: {
      name: "table",
      in: "path",
      required: true,
      description: "Table or view name; `schema.table` outside the `main` schema.",
      schema: { type: "string" },
    },
    asset: {
      name: "asset",
      in: "path",
      required: true,
      schema: assets.length ? { type: "string", enum: [...assets] } : { type: "string" },
    },
    sql: {
      name: "sql",
      in: "path",
      required: true,
      description: "The SQL, percent-encoded once (`encodeURIComponent`).",
      schema: { type: "string" },
    },
    ...outputParameters(config),
    ...tableReadParameters(config),
    ...tableWriteParameters(),
    ...contributed,
    prefer: {
      name: "Prefer",
      in: "header",
      description: "`return=representation` answers the written rows; on POST, " +
        "`resolution=merge-duplicates` upserts and `resolution=ignore-duplicates` skips " +
        "existing keys.",
      schema: { type: "string" },
    },
  };
}

/** Parameters of every endpoint that answers rows: the format and its options. */
function outputParameters(config: Config): Record<string, unknown> {
  const formatNames = FORMATS.map((f) => f.name);
  return {
    resultFormat: {
      name: "format",
      in: "path",
      required: true,
      description: "The output format (the file extension).",
      schema: { type: "string", enum: formatNames },
    },
    format: {
      name: "format",
      in: "query",
      description: "Output format; wins over `Accept` (which is negotiated with q-values).",
      schema: { type: "string", enum: formatNames },
    },
    download: {
      name: "download",
      in: "query",
      description: "`true` (or `1`, `yes`) answers with `Content-Disposition: attachment` " +
        "and the export row cap (`max_export_rows`).",
      schema: { type: "string", enum: ["true", "1", "yes", "false", "0", "no"] },
    },
    delimiter: {
      name: "delimiter",
      in: "query",
      description: "CSV field delimiter: one character (not a quote or line break), or `tab`. " +
        "Default `,`.",
      schema: { type: "string" },
    },
    null: {
      name: "null",
      in: "query",
      description: "CSV marker for NULL (default empty), at most 64 characters without quotes, " +
        "line breaks or the delimiter.",
      schema: { type: "string", maxLength: 64 },
    },
    header: {
      name: "header",
      in: "query",
      description: "`false` leaves out the CSV header row.",
      schema: { type: "string", enum: ["true", "1", "yes", "false", "0", "no"] },
    },
    big_numbers: {
      name: "big_numbers",
      in: "query",
      description: "JSON rendering of integers beyond 2^53 and of DECIMALs: `number` or " +
        `\`string\` (default \`${config.json_big_numbers}\`, the \`json_big_numbers\` setting).`,
      schema: { type: "string", enum: ["number", "string"] },
    },
  };
}

/** Query parameters of table reads: filters, sorting, columns and paging. */
function tableReadParameters(config: Config): Record<string, unknown> {
  const operators = Object.entries(OPERATORS).map(([name, op]) =>
    `| \`${name}\` | ${op.sql} | ${op.description} |`
  ).join("\n");
  return {
    filter: {
      name: "filter",
      in: "query",
      description: "Conditions `column:op:value`, comma-separated, all ANDed (the parameter may " +
        `repeat; at most ${MAX_CONDITIONS} conditions, \`in\`/\`nin\` at most ` +
        `${MAX_LIST_VALUES} values). The value is ` +
        "everything after the second `:`; `\\,` `\\:` `\\|` `\\\\` " +
        "escape `,` `:` `|` `\\` in names and values. Operators:\n\n" +
        "| op | SQL | meaning |\n| --- | --- | --- |\n" + operators + "\n\nFor example " +
        "`age:gte:18,name:like:A%` (written as is: clients percent-encode it once; each table's " +
        "operation has an example from its own columns).",
      schema: { type: "string" },
    },
    sort: {
      name: "sort",
      in: "query",
      description: "`column[:asc|desc]`, comma-separated; each column once, at most " +
        `${MAX_SORT_KEYS} keys (for example \`created_at:desc,id\`).`,
      schema: { type: "string" },
    },
    select: {
      name: "select",
      in: "query",
      description: "Columns to return, comma-separated; each column once, at most " +
        `${MAX_SELECT_COLUMNS}.`,
      schema: { type: "string" },
    },
    page: {
      name: "page",
      in: "query",
      description: "Page number (from 1); turns on pagination. Not with `offset` or `after`.",
      schema: { type: "integer", minimum: 1 },
    },
    rowOffset: {
      name: "offset",
      in: "query",
      description: "Rows to skip (from 0), with `limit` for the page size: pages by offset " +
        "instead of `page` (the answer's `pagination` says `offset`, and `_links` use it). " +
        "Turns on pagination. Not with `page` or `after`.",
      schema: { type: "integer", minimum: 0 },
    },
    limit: {
      name: "limit",
      in: "query",
      description: `Page size; default and largest ${config.max_rows_per_page} ` +
        "(`max_rows_per_page`; larger values are clamped). Turns on pagination.",
      schema: { type: "integer", minimum: 1 },
    },
    links: {
      name: "links",
      in: "query",
      description: "`true` adds `_links` (and a `Link` header) to paginated reads.",
      schema: { type: "boolean" },
    },
    count: {
      name: "count",
      in: "query",
      description: "`none` skips the total row count (default `exact`).",
      schema: { type: "string", enum: ["exact", "none"] },
    },
    after: {
      name: "after",
      in: "query",
      description: "Keyset pagination: the `next_cursor` of the previous page (empty: the " +
        "first page). Not with `page`.",
      schema: { type: "string" },
    },
  };
}

/** Query parameters of table writes: conditions, dry runs and upserts. */
function tableWriteParameters(): Record<string, unknown> {
  return {
    where: {
      name: "where",
      in: "query",
      required: true,
      description: "Conditions, same grammar as `filter`.",
      schema: { type: "string" },
    },
    dry_run: {
      name: "dry_run",
      in: "query",
      description: "`true` (or `1`) counts the rows that would be deleted and deletes nothing.",
      schema: { type: "string", enum: ["true", "1", "false", "0"] },
    },
    on_conflict: {
      name: "on_conflict",
      in: "query",
      description: "Column(s) of a unique key, comma-separated: upsert on conflict.",
      schema: { type: "string" },
    },
  };
}

/** The fixed `components/schemas` entries (table schemas are added per catalog). */
export function baseSchemas(): Record<string, unknown> {
  return {
    ...problemSchemas(),
    ...probeSchemas(),
    ...querySchemas(),
    ...catalogSchemas(),
    ...adminSchemas(),
  };
}

function problemSchemas(): Record<string, unknown> {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  return {
    ErrorCode: {
      type: "string",
      enum: codes,
      description: codes.map((c) => `- \`${c}\` (${ERROR_CODES[c][0]}): ${ERROR_CODES[c][1]}`)
        .join("\n"),
    },
    Problem: {
      type: "object",
      description: "RFC 9457 problem details; `error` and `message` repeat `title` and " +
        "`detail` for clients of the reference module.",
      required: ["type", "title", "status", "detail", "code", "request_id", "error", "message"],
      properties: {
        type: { type: "string" },
        title: { type: "string" },
        status: { type: "integer" },
        detail: { type: "string" },
        code: { $ref: "#/components/schemas/ErrorCode" },
        request_id: { type: "string" },
        error: { type: "string" },
        message: { type: "string" },
      },
      additionalProperties: true,
    },
  };
}

function probeSchemas(): Record<string, unknown> {
  return {
    Health: {
      type: "object",
      required: ["status", "version", "duckdb_version"],
      properties: {
        status: { type: "string", const: "ok" },
        version: { type: "string", description: "duckserve's version." },
        duckdb_version: { type: "string", description: "DuckDB's version." },
      },
    },
    Probe: {
      type: "object",
      required: ["status", "phase"],
      properties: {
        status: { type: "string", const: "ok" },
        phase: { type: "string", enum: ["starting", "ready", "draining", "stopped"] },
      },
    },
  };
}

function querySchemas(): Record<string, unknown> {
  return {
    QueryRequest: {
      type: "object",
      required: ["sql"],
      properties: {
        sql: { type: "string", minLength: 1 },
        params: {
          description: "Positional (`?`, `$1`) as an array, or named (`$name`) as an object.",
          oneOf: [{ type: "array" }, { type: "object" }],
        },
      },
      additionalProperties: false,
    },
    Changes: {
      type: "object",
      required: ["success", "rows_affected"],
      properties: {
        success: { type: "boolean", const: true },
        rows_affected: { type: "integer", minimum: 0 },
        execution_time_ms: { type: "number" },
      },
    },
    DryRun: {
      type: "object",
      required: ["dry_run", "affected_rows"],
      properties: {
        dry_run: { type: "boolean", const: true },
        affected_rows: { type: "integer", minimum: 0 },
      },
    },
    Condition: {
      type: "object",
      required: ["column", "op"],
      properties: {
        column: { type: "string" },
        op: { type: "string", enum: Object.keys(OPERATORS) },
        value: {},
      },
    },
    Pagination: {
      type: "object",
      properties: {
        page: { type: "integer", description: "Pages by `page` (or `limit` alone) only." },
        offset: { type: "integer", description: "Pages by `offset` only: the rows skipped." },
        limit: { type: "integer", description: "The page size used (after clamping)." },
        total_rows: { type: "integer", description: "Left out with `count=none`." },
        total_pages: { type: "integer", description: "Left out with `count=none`." },
        has_more: { type: "boolean", description: "More rows follow this page." },
        limit_clamped: {
          type: "boolean",
          description: "Present (true) when `limit` was above `max_rows_per_page`.",
        },
        requested_limit: { type: "integer", description: "The `limit` asked for, when clamped." },
      },
    },
    Links: {
      type: "object",
      properties: Object.fromEntries(
        ["self", "first", "prev", "next", "last"].map((k) => [k, { type: "string" }]),
      ),
    },
  };
}

function catalogSchemas(): Record<string, unknown> {
  return {
    Column: {
      type: "object",
      required: ["name", "type", "nullable", "default", "primary_key"],
      properties: {
        name: { type: "string" },
        type: { type: "string", description: "DuckDB type, e.g. `DECIMAL(10,2)`." },
        nullable: { type: "boolean" },
        default: { type: ["string", "null"], description: "DEFAULT expression." },
        primary_key: { type: "boolean" },
      },
    },
    TableInfo: {
      type: "object",
      required: ["schema", "name", "kind", "columns", "primary_key", "row_count_estimate"],
      properties: {
        database: {
          type: "string",
          description: "The attached database (absent for the main database's tables).",
        },
        schema: { type: "string" },
        name: { type: "string" },
        kind: { type: "string", enum: ["table", "view"] },
        columns: { type: "array", items: { $ref: "#/components/schemas/Column" } },
        primary_key: { type: "array", items: { type: "string" } },
        row_count_estimate: {
          type: ["integer", "null"],
          description: "DuckDB's estimate; null for views.",
        },
      },
    },
    TableList: {
      type: "object",
      required: ["tables"],
      properties: {
        tables: { type: "array", items: { $ref: "#/components/schemas/TableInfo" } },
      },
    },
  };
}
