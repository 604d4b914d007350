/**
 * One OpenAPI operation from one endpoint row (generic, or once per table for a table
 * operation): parameters, request body, success responses with their headers and content (rows
 * in every registered format), and the error responses grouped by status. Content of body kinds
 * a feature owns, its request bodies and header names come from the document parts.
 * @module
 */

import { ERROR_CODES, type ErrorCode } from "../errors.ts";
import { FORMATS } from "../encode/formats.ts";
import type { Endpoint, SuccessBody } from "./endpoint.ts";
import type { JsonSchema } from "./json_schema.ts";
import type { Content } from "./part.ts";
import { type TableNames, tableParameterName } from "./tables.ts";

/** What an operation needs besides its row. */
export interface OperationContext {
  /** Keys are required (`auth_enabled`). */
  secured: boolean;
  /** The operation is served without a key. */
  isPublic: boolean;
  /** HTTP header names of the parts' header components. */
  headerNames: Record<string, string>;
  /** Content of the body kinds the parts own. */
  bodies: Record<string, Content>;
  /** Request body content the parts own, by schema name. */
  requestBodies: Record<string, Content>;
}

const COMMON_ERRORS: readonly ErrorCode[] = ["internal_error", "unavailable"];
const AUTH_ERRORS: readonly ErrorCode[] = ["unauthorized", "forbidden", "too_many_requests"];

type SuccessResponse = Endpoint["responses"][number];

/** The operation of `endpoint`, for `table` when it is one table's copy of a table operation. */
export function buildOperation(
  endpoint: Endpoint,
  table: TableNames | null,
  ctx: OperationContext,
): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [name, component] of Object.entries(endpoint.pathParameters ?? {})) {
    if (table && name === "table") continue;
    parameters.push(ref("parameters", component));
  }
  for (const name of endpoint.parameters ?? []) {
    // A table's read takes the parameter with that table's example (what "Try it out" sends).
    const own = table && endpoint.tableOp === "r" && Object.hasOwn(table.examples, name);
    parameters.push(ref("parameters", own ? tableParameterName(table, name) : name));
  }

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
      content: Object.hasOwn(ctx.requestBodies, schema)
        ? ctx.requestBodies[schema]
        : { "application/json": { schema: requestSchema(schema, table) } },
    };
    for (const type of endpoint.requestBody.files ?? []) {
      (operation.requestBody as { content: Record<string, unknown> }).content[type] = {
        schema: { type: "string", contentMediaType: type },
      };
    }
  }
  const responses: Record<string, unknown> = {};
  for (const success of endpoint.responses) {
    responses[String(success.status)] = successResponse(success, table, ctx);
  }
  const errors = new Set<ErrorCode>([...endpoint.errors, ...COMMON_ERRORS]);
  if (ctx.secured && !ctx.isPublic) { for (const code of AUTH_ERRORS) errors.add(code); }
  Object.assign(responses, errorResponses([...errors]));
  operation.responses = responses;
  if (ctx.secured && ctx.isPublic) operation.security = [];
  return operation;
}

function successResponse(
  success: SuccessResponse,
  table: TableNames | null,
  ctx: OperationContext,
): Record<string, unknown> {
  const headers: Record<string, unknown> = { "X-Request-ID": ref("headers", "RequestId") };
  if (mentionsRows(success.body)) headers["X-Truncated"] = ref("headers", "Truncated");
  for (const name of success.headers ?? []) headers[ctx.headerNames[name]] = ref("headers", name);
  const content = successContent(success.body, table, ctx);
  return {
    description: success.description,
    headers,
    ...(Object.keys(content).length ? { content } : {}),
  };
}

function mentionsRows(body: SuccessResponse["body"]): boolean {
  return body.kind === "rows" || (body.kind === "oneOf" && body.bodies.some(mentionsRows));
}

function successContent(
  body: SuccessResponse["body"],
  table: TableNames | null,
  ctx: OperationContext,
): Content {
  if (body.kind !== "oneOf") return simpleContent(body, table, ctx);
  const content: Content = {};
  for (const part of body.bodies) {
    for (const [type, media] of Object.entries(simpleContent(part, table, ctx))) {
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

function simpleContent(
  body: SuccessBody,
  table: TableNames | null,
  ctx: OperationContext,
): Content {
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
    case "text":
      return { "text/plain": { schema: { type: "string" } } };
    case "empty":
      return {};
    case "asset":
      return {
        "text/javascript": { schema: { type: "string" } },
        "text/css": { schema: { type: "string" } },
      };
    case "rows":
      return rowsContent(table);
    default: {
      if (!Object.hasOwn(ctx.bodies, body.kind)) {
        throw new Error(`no document part describes "${body.kind}" bodies`);
      }
      return ctx.bodies[body.kind];
    }
  }
}

/** A row set in every registered format: the JSON envelope, text, or binary. */
function rowsContent(table: TableNames | null): Content {
  const content: Content = {};
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
