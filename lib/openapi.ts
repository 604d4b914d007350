/**
 * The OpenAPI 3.1 document of a running duckserve, as a pure function of the live catalog, the
 * configuration and the registered endpoints. Everything in it comes from a registry: paths from
 * the endpoint rows the app registered (`lib/http/endpoints.ts`), content types from the format
 * registry (`lib/encode/formats.ts`), error responses from `ERROR_CODES`, filter operators from
 * their table, and one path plus one component schema per table from the catalog. The Durable
 * Streams endpoints (when `streams` is on) sit at the server root, outside `route_prefix`: their
 * path item names the full path (`/v1/stream/{path}`) with its own `servers` entry (`/`).
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { buildOpenApi } from "./openapi.ts";
 * import { ENDPOINTS } from "./http/endpoints.ts";
 * import { loadConfig } from "./config.ts";
 * const config = await loadConfig({ env: {} });
 * const table = {
 *   schema: "main", name: "users", kind: "table" as const, primaryKey: ["id"], estimatedRows: 0,
 *   columns: [{ name: "id", type: "INTEGER", nullable: false, default: null, primaryKey: true }],
 * };
 * const doc = buildOpenApi([table], config, ENDPOINTS);
 * ok("/api/users" in doc.paths);
 * equal(doc.servers[0].url, "/duckdb");
 * ```
 * @module
 */

import type { Config } from "./config.ts";
import { ERROR_CODES, type ErrorCode } from "./errors.ts";
import type { Operation } from "./auth/mod.ts";
import type { TableInfo } from "./db/catalog.ts";
import { FORMATS } from "./encode/formats.ts";
import { OPERATORS } from "./query/filters.ts";
import { columnSchema, type JsonSchema } from "./json_schema.ts";
import {
  type Endpoint,
  type HttpMethod,
  isPublicRoute,
  type SuccessBody,
} from "./http/endpoints.ts";
import { VERSION } from "./version.ts";

/** An OpenAPI document (the parts this module writes). */
export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  servers: { url: string; description?: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  security?: Record<string, string[]>[];
}

/** Options of {@link buildOpenApi}. */
export interface OpenApiOptions {
  /** Whether the caller may do `op` on `table` (per-table paths); default: everything. */
  can?: (op: Operation, table: TableInfo) => boolean;
  /** File names served under `/docs/{asset}`. */
  docAssets?: readonly string[];
}

/** `users` for `main.users`, `sales.orders` otherwise: how requests name a table. */
export function tableDisplayName(table: TableInfo): string {
  return table.schema === "main" ? table.name : `${table.schema}.${table.name}`;
}

const METHOD_KEYS: Record<HttpMethod, string> = {
  GET: "get",
  POST: "post",
  PUT: "put",
  DELETE: "delete",
  PATCH: "patch",
  HEAD: "head",
  OPTIONS: "options",
};

const COMMON_ERRORS: readonly ErrorCode[] = ["internal_error", "unavailable"];
const AUTH_ERRORS: readonly ErrorCode[] = ["unauthorized", "forbidden", "too_many_requests"];

/**
 * Builds the document: `catalog` is the live catalog, `routes` the endpoints the app registered
 * (`documentRoutes(app.routes).endpoints`), `options.can` filters the per-table paths.
 */
export function buildOpenApi(
  catalog: readonly TableInfo[],
  config: Config,
  routes: readonly Endpoint[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  const can = options.can ?? (() => true);
  const secured = config.auth_enabled;
  const tables = tableNames(catalog);
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = { ...baseSchemas() };
  const usedTables = new Set<TableInfo>();

  for (const endpoint of routes) {
    const methods = endpoint.method === "ALL" ? endpoint.documentAs ?? ["GET"] : [endpoint.method];
    const streams = endpoint.base === "streams";
    const key = streams ? `${config.streams_prefix}${endpoint.path}` : endpoint.path;
    for (const method of methods) {
      const isPublic = streams
        ? config.streams_auth === "none" || method === "OPTIONS"
        : isPublicRoute(endpoint.route);
      const operation = buildOperation(endpoint, null, { secured, isPublic, options });
      const item = paths[key] ??= {};
      // Outside route_prefix: the path is written from the server root.
      if (streams) item.servers = [{ url: "/", description: "The server root (streams_prefix)" }];
      item[METHOD_KEYS[method]] = operation;
      if (!endpoint.tableOp) continue;
      for (const [table, names] of tables) {
        if (!can(endpoint.tableOp, table)) continue;
        usedTables.add(table);
        const path = endpoint.path.replace("{table}", encodeURIComponent(names.display));
        (paths[path] ??= {})[METHOD_KEYS[method]] = buildOperation(endpoint, names, {
          secured,
          isPublic,
          options,
        });
      }
    }
  }
  for (const [table, names] of tables) {
    // A model per table the caller uses through a path or may read.
    if (!usedTables.has(table) && !can("r", table)) continue;
    schemas[names.row] = rowSchema(table);
    schemas[names.insert] = insertSchema(table);
  }

  const tags = [
    { name: "Probes", description: "Health, liveness and readiness; no key needed." },
    { name: "Documentation", description: "This document and the API reference page." },
    { name: "Schema", description: "Tables, columns and keys the key may read." },
    { name: "Raw SQL", description: "SQL in, rows or changes out." },
    { name: "Tables", description: "REST access to any table: `/api/{table}`." },
    {
      name: "Streams",
      description: "Durable Streams at `streams_prefix` (outside `route_prefix`): durable, " +
        "offset-addressed byte and JSON streams, and the table change feeds `_changes/<table>`.",
    },
    ...[...tables].filter(([t]) => usedTables.has(t)).map(([t, names]) => ({
      name: names.display,
      description: `${t.kind === "view" ? "View" : "Table"} \`${t.schema}.${t.name}\`` +
        (t.kind === "table" ? ` (about ${t.estimatedRows} rows)` : ""),
    })),
  ].filter((tag) =>
    Object.values(paths).some((item) =>
      Object.values(item).some((op) => (op as { tags?: string[] }).tags?.includes(tag.name))
    )
  );

  const document: OpenApiDocument = {
    openapi: "3.1.0",
    info: {
      title: "duckserve",
      version: VERSION,
      description: "DuckDB behind a REST API, raw SQL and API keys. Errors are RFC 9457 " +
        "`application/problem+json` bodies with a stable `code` (see the `ErrorCode` schema) " +
        "and the `request_id` also sent as `X-Request-ID`." + tableSummary(catalog, tables, can),
    },
    servers: [{ url: config.route_prefix || "/", description: "This server" }],
    tags,
    paths,
    components: {
      schemas,
      parameters: parameters(config, options.docAssets ?? []),
      headers: {
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
        ...streamHeaders(),
      },
      securitySchemes: {
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
      },
    },
  };
  if (secured) document.security = [{ apiKey: [] }, { bearer: [] }];
  return document;
}

/** The info paragraph naming the tables the caller may read. */
function tableSummary(
  catalog: readonly TableInfo[],
  names: Map<TableInfo, TableNames>,
  can: (op: Operation, table: TableInfo) => boolean,
): string {
  const readable = catalog.filter((t) => can("r", t)).map((t) => `\`${names.get(t)!.display}\``);
  return readable.length
    ? `\n\nTables and views you may read: ${readable.join(", ")}.`
    : "\n\nNo tables are listed: send an API key to see the tables it may read.";
}

/** Component and path names of a table. */
interface TableNames {
  display: string;
  row: string;
  insert: string;
}

/** Component names the fixed schemas use (table schemas pick others). */
let baseSchemaNames: ReadonlySet<string> | null = null;

function tableNames(catalog: readonly TableInfo[]): Map<TableInfo, TableNames> {
  baseSchemaNames ??= new Set(Object.keys(baseSchemas()));
  const taken = new Set(baseSchemaNames);
  const unique = (wanted: string) => {
    const base = wanted.replace(/[^A-Za-z0-9._-]/g, "_") || "_";
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const names = new Map<TableInfo, TableNames>();
  for (const table of catalog) {
    const display = tableDisplayName(table);
    names.set(table, { display, row: unique(display), insert: unique(`${display}.insert`) });
  }
  return names;
}

interface OperationContext {
  secured: boolean;
  isPublic: boolean;
  options: OpenApiOptions;
}

function buildOperation(
  endpoint: Endpoint,
  table: TableNames | null,
  ctx: OperationContext,
): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [name, component] of Object.entries(endpoint.pathParameters ?? {})) {
    if (table && name === "table") continue;
    parameters.push(ref("parameters", component));
  }
  for (const name of endpoint.parameters ?? []) parameters.push(ref("parameters", name));

  const operation: Record<string, unknown> = {
    tags: [table ? table.display : endpoint.tag],
    summary: table ? `${endpoint.summary}: ${table.display}` : endpoint.summary,
    operationId: table ? `${endpoint.operationId}.${table.display}` : endpoint.operationId,
  };
  if (endpoint.description) operation.description = endpoint.description;
  if (parameters.length) operation.parameters = parameters;
  if (endpoint.requestBody) {
    const { schema } = endpoint.requestBody;
    operation.requestBody = {
      description: endpoint.requestBody.description,
      required: endpoint.requestBody.required,
      content: schema === "stream:body"
        ? STREAM_BODY
        : { "application/json": { schema: requestSchema(schema, table) } },
    };
  }
  const responses: Record<string, unknown> = {};
  for (const success of endpoint.responses) {
    const headers: Record<string, unknown> = { "X-Request-ID": ref("headers", "RequestId") };
    if (mentionsRows(success.body)) headers["X-Truncated"] = ref("headers", "Truncated");
    for (const name of success.headers ?? []) headers[STREAM_HEADERS[name]] = ref("headers", name);
    const content = successContent(success.body, table);
    responses[String(success.status)] = {
      description: success.description,
      headers,
      ...(Object.keys(content).length ? { content } : {}),
    };
  }
  const errors = new Set<ErrorCode>([...endpoint.errors, ...COMMON_ERRORS]);
  if (ctx.secured && !ctx.isPublic) { for (const code of AUTH_ERRORS) errors.add(code); }
  Object.assign(responses, errorResponses([...errors]));
  operation.responses = responses;
  if (ctx.secured && ctx.isPublic) operation.security = [];
  return operation;
}

function mentionsRows(body: SuccessResponse["body"]): boolean {
  return body.kind === "rows" || (body.kind === "oneOf" && body.bodies.some(mentionsRows));
}

type SuccessResponse = Endpoint["responses"][number];

function successContent(
  body: SuccessResponse["body"],
  table: TableNames | null,
): Record<string, { schema: unknown }> {
  if (body.kind === "oneOf") {
    const content: Record<string, { schema: unknown }> = {};
    for (const part of body.bodies) {
      for (const [type, media] of Object.entries(successContent(part, table))) {
        const existing = content[type];
        if (!existing) content[type] = media;
        else {
          const alternatives = (existing.schema as { oneOf?: unknown[] }).oneOf ??
            [existing.schema];
          content[type] = { schema: { oneOf: [...alternatives, media.schema] } };
        }
      }
    }
    return content;
  }
  return simpleContent(body, table);
}

function simpleContent(
  body: SuccessBody,
  table: TableNames | null,
): Record<string, { schema: unknown }> {
  switch (body.kind) {
    case "json":
      return { "application/json": { schema: ref("schemas", body.schema) } };
    case "openapi":
      return {
        "application/json": {
          schema: { type: "object", description: "An OpenAPI 3.1 document." },
        },
      };
    case "html":
      return { "text/html": { schema: { type: "string" } } };
    case "empty":
      return {};
    case "stream":
      return {
        "application/json": {
          schema: { type: "array", description: "A JSON stream: its messages, in order." },
        },
        "*/*": {
          schema: {
            type: "string",
            format: "binary",
            description: "Any other stream: its bytes, in its own content type.",
          },
        },
      };
    case "sse":
      return {
        "text/event-stream": {
          schema: {
            type: "string",
            description: "`event: data` (the messages; base64 for binary streams when " +
              "`Stream-SSE-Data-Encoding: base64`) and `event: control` " +
              '(`{"streamNextOffset", "streamCursor", "upToDate", "streamClosed"}`).',
          },
        },
      };
    case "asset":
      return {
        "text/javascript": { schema: { type: "string" } },
        "text/css": { schema: { type: "string" } },
      };
    case "rows": {
      const content: Record<string, { schema: unknown }> = {};
      for (const format of FORMATS) {
        const mime = format.mimeTypes[0];
        content[mime] = {
          schema: format.name === "json"
            ? rowsEnvelope(table ? ref("schemas", table.row) : { type: "object" })
            : isText(mime)
            ? { type: "string", description: `${format.name.toUpperCase()} text` }
            : { type: "string", format: "binary", contentMediaType: mime },
        };
      }
      return content;
    }
  }
}

function isText(mime: string): boolean {
  return mime.startsWith("text/") || mime.includes("json");
}

function rowsEnvelope(item: unknown): JsonSchema {
  return {
    type: "object",
    required: ["data"],
    properties: {
      data: { type: "array", items: item as JsonSchema },
      pagination: ref("schemas", "Pagination") as JsonSchema,
      _links: ref("schemas", "Links") as JsonSchema,
      next_cursor: {
        type: ["string", "null"],
        description: "Opaque cursor for `after=` (keyset pagination).",
      },
      truncated: { type: "boolean", description: "The row cap cut the result." },
      total_available: { type: "integer", description: "All rows, when truncated." },
      message: { type: "string" },
    },
  };
}

function requestSchema(name: string, table: TableNames | null): unknown {
  if (name === "table:insert") {
    const one = table ? ref("schemas", table.insert) : { type: "object" };
    return { oneOf: [one, { type: "array", minItems: 1, items: one }] };
  }
  if (name === "table:update") {
    return {
      type: "object",
      required: ["where", "set"],
      properties: {
        where: {
          description: "Equality conditions as an object, or an array of conditions (ANDed).",
          oneOf: [
            { type: "object", minProperties: 1 },
            { type: "array", minItems: 1, items: ref("schemas", "Condition") },
          ],
        },
        set: table
          ? { ...ref("schemas", table.row), description: "Columns to set." }
          : { type: "object", minProperties: 1, description: "Columns to set." },
      },
    };
  }
  return ref("schemas", name);
}

function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    if (!codes.includes(code)) continue;
    const status = ERROR_CODES[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const headers: Record<string, unknown> = { "X-Request-ID": ref("headers", "RequestId") };
    if (status === 503 || status === 429) headers["Retry-After"] = ref("headers", "RetryAfter");
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\`: ${ERROR_CODES[code][1]}`).join("\n\n"),
      headers,
      content: { "application/problem+json": { schema: ref("schemas", "Problem") } },
    };
  }
  return responses;
}

function ref(kind: string, name: string): { $ref: string } {
  return { $ref: `#/components/${kind}/${name}` };
}

function rowSchema(table: TableInfo): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const column of table.columns) properties[column.name] = columnDoc(column);
  return {
    type: "object",
    description: `A row of ${table.kind} \`${table.schema}.${table.name}\`` +
      (table.primaryKey.length ? `; primary key (${table.primaryKey.join(", ")})` : "") +
      ". Every column is present unless `select=` chose fewer.",
    properties,
    "x-primary-key": table.primaryKey,
  };
}

function insertSchema(table: TableInfo): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const column of table.columns) {
    properties[column.name] = columnDoc(column);
    if (!column.nullable && column.default === null) required.push(column.name);
  }
  return {
    type: "object",
    description: `A new row of \`${table.schema}.${table.name}\`: omitted columns get their ` +
      "DEFAULT (or NULL); unknown columns are refused.",
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function columnDoc(column: TableInfo["columns"][number]): JsonSchema {
  const schema = columnSchema(column.type, column.nullable);
  const notes = [
    schema.description ?? column.type,
    column.primaryKey ? "primary key" : "",
    column.default !== null ? `default ${column.default}` : "",
  ].filter((s) => s !== "");
  return {
    ...schema,
    description: notes.join("; "),
    "x-duckdb-type": column.type,
    ...(column.primaryKey ? { "x-primary-key": true } : {}),
  };
}

function parameters(config: Config, assets: readonly string[]): Record<string, unknown> {
  const formatNames = FORMATS.map((f) => f.name);
  const operators = Object.entries(OPERATORS).map(([name, op]) =>
    `| \`${name}\` | ${op.sql} | ${op.description} |`
  ).join("\n");
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
    filter: {
      name: "filter",
      in: "query",
      description: "Conditions `column:op:value`, comma-separated, all ANDed (the parameter may " +
        "repeat). The value is everything after the second `:`; `\\,` `\\:` `\\|` `\\\\` " +
        "escape `,` `:` `|` `\\` in names and values. Operators:\n\n" +
        "| op | SQL | meaning |\n| --- | --- | --- |\n" + operators,
      schema: { type: "string" },
      example: "age:gte:18,name:like:A%25",
    },
    sort: {
      name: "sort",
      in: "query",
      description: "`column[:asc|desc]`, comma-separated.",
      schema: { type: "string" },
      example: "created_at:desc,id",
    },
    select: {
      name: "select",
      in: "query",
      description: "Columns to return, comma-separated.",
      schema: { type: "string" },
    },
    page: {
      name: "page",
      in: "query",
      description: "Page number (from 1); turns on pagination.",
      schema: { type: "integer", minimum: 1 },
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
    ...streamParameters(),
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

function baseSchemas(): Record<string, unknown> {
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
        page: { type: "integer", description: "Offset pages only (not with `after`)." },
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

/** Request body of stream creates and appends: any content type; JSON streams take JSON. */
const STREAM_BODY = {
  "application/json": {
    schema: {
      description: "JSON streams: one message, or an array appending one message per element.",
    },
  },
  "*/*": { schema: { type: "string", format: "binary" } },
};

/** Response header components of the streams protocol: component name to header name. */
const STREAM_HEADERS: Record<string, string> = {
  Location: "Location",
  ETag: "ETag",
  StreamNextOffset: "Stream-Next-Offset",
  StreamUpToDate: "Stream-Up-To-Date",
  StreamCursor: "Stream-Cursor",
  StreamClosed: "Stream-Closed",
  StreamTtl: "Stream-TTL",
  StreamExpiresAt: "Stream-Expires-At",
  ProducerEpoch: "Producer-Epoch",
  ProducerSeq: "Producer-Seq",
};

function streamHeaders(): Record<string, unknown> {
  const text = (description: string) => ({ description, schema: { type: "string" } });
  return {
    Location: text("The new stream's URL."),
    ETag: text("Names the stream instance and the range served (for `If-None-Match`)."),
    StreamNextOffset: text("Where to read next: the offset after the data served (opaque)."),
    StreamUpToDate: {
      description: "`true` when the answer reaches the stream's tail.",
      schema: { type: "string", enum: ["true"] },
    },
    StreamCursor: text("Echo as `cursor=` on the next live read (CDN cache busting)."),
    StreamClosed: {
      description: "`true` when the stream is closed (no more data will come).",
      schema: { type: "string", enum: ["true"] },
    },
    StreamTtl: text("The stream's sliding time to live in seconds."),
    StreamExpiresAt: text("The stream's absolute expiry (RFC 3339)."),
    ProducerEpoch: text("The idempotent producer's epoch the server holds."),
    ProducerSeq: text("The highest sequence number accepted from the producer."),
  };
}

function streamParameters(): Record<string, unknown> {
  const header = (name: string, description: string, schema: unknown = { type: "string" }) => ({
    name,
    in: "header",
    description,
    schema,
  });
  return {
    streamPath: {
      name: "path",
      in: "path",
      required: true,
      description: "The stream's path below `streams_prefix`; it may hold `/` (`orders/eu`, " +
        "percent-encoded or not) and is case-sensitive. `_changes/<table>` is a table's " +
        "read-only change feed.",
      schema: { type: "string" },
    },
    offset: {
      name: "offset",
      in: "query",
      description: "Where to start: `-1` (the beginning), `now` (the tail), or a " +
        "`Stream-Next-Offset` from an earlier answer. Required for live reads.",
      schema: { type: "string" },
    },
    live: {
      name: "live",
      in: "query",
      description: "`long-poll` waits for data; `sse` streams Server-Sent Events.",
      schema: { type: "string", enum: ["long-poll", "sse"] },
    },
    cursor: {
      name: "cursor",
      in: "query",
      description: "The `Stream-Cursor` of the previous live answer.",
      schema: { type: "string" },
    },
    ifNoneMatch: header("If-None-Match", "An earlier `ETag`: 304 when the data is the same."),
    streamTtl: header("Stream-TTL", "Sliding time to live in seconds (not with an expiry).", {
      type: "integer",
      minimum: 0,
    }),
    streamExpiresAt: header("Stream-Expires-At", "Absolute expiry, RFC 3339 (not with a TTL).", {
      type: "string",
      format: "date-time",
    }),
    streamClosed: header("Stream-Closed", "`true` creates the stream closed, or closes it.", {
      type: "string",
      enum: ["true"],
    }),
    streamForkedFrom: header(
      "Stream-Forked-From",
      "Path (under `streams_prefix`) of a stream to fork: the new stream starts with its data.",
    ),
    streamForkOffset: header("Stream-Fork-Offset", "Fork at this offset of the source."),
    streamForkSubOffset: header(
      "Stream-Fork-Sub-Offset",
      "Also take this many bytes (JSON: messages) of the next append at the fork offset.",
      { type: "integer", minimum: 0 },
    ),
    streamSeq: header("Stream-Seq", "A writer sequence that must increase (byte-wise)."),
    producerId: header("Producer-Id", "Idempotent producer: its id (with epoch and seq)."),
    producerEpoch: header("Producer-Epoch", "Idempotent producer: its epoch.", {
      type: "integer",
      minimum: 0,
    }),
    producerSeq: header("Producer-Seq", "Idempotent producer: the append's sequence number.", {
      type: "integer",
      minimum: 0,
    }),
  };
}
