/**
 * The document itself: paths from the registered endpoint rows (one operation per documented
 * method, plus one per table for table operations; operations grouped by tag in tag order,
 * whatever order the features were mounted in), tags, info, the per-table component schemas and
 * the components of the generic code and of the features' document parts.
 * @module
 */

import type { Config } from "../config.ts";
import type { Operation } from "../permissions.ts";
import type { TableInfo } from "../db/catalog.ts";
import type { Endpoint, HttpMethod } from "./endpoint.ts";
import { VERSION } from "../version.ts";
import { baseSchemas, headers, parameters, securitySchemes, TAGS } from "./components.ts";
import { buildOperation, type OperationContext } from "./operations.ts";
import type { BasePart, Content, DocumentPart, Server, Tag } from "./part.ts";
import {
  insertSchema,
  rowSchema,
  type TableNames,
  tableNames,
  tableParameters,
  tableSummary,
  tableTag,
} from "./tables.ts";

/** An OpenAPI document (the parts this module writes). */
export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  servers: Server[];
  tags: Tag[];
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  security?: Record<string, string[]>[];
}

/** Options of the document. */
export interface OpenApiOptions {
  /** Whether the caller may do `op` on `table` (per-table paths); default: everything. */
  can?: (op: Operation, table: TableInfo) => boolean;
  /** File names served under `/docs/{asset}`. */
  docAssets?: readonly string[];
}

type Can = (op: Operation, table: TableInfo) => boolean;
type Paths = Record<string, Record<string, unknown>>;

const METHOD_KEYS: Record<HttpMethod, string> = {
  GET: "get",
  POST: "post",
  PUT: "put",
  DELETE: "delete",
  PATCH: "patch",
  HEAD: "head",
  OPTIONS: "options",
};

/** The document parts merged, in order. */
interface Parts {
  tags: Tag[];
  parameters: Record<string, unknown>;
  headers: Record<string, unknown>;
  headerNames: Record<string, string>;
  bodies: Record<string, Content>;
  requestBodies: Record<string, Content>;
  bases: Record<string, BasePart>;
}

/**
 * Builds the document: `catalog` is the live catalog, `routes` the endpoints the app registered,
 * `parts` what the features contribute, `options.can` filters the per-table paths.
 */
export function buildDocument(
  catalog: readonly TableInfo[],
  config: Config,
  routes: readonly Endpoint[],
  parts: readonly DocumentPart[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  const can = options.can ?? (() => true);
  const merged = mergeParts(parts);
  const schemas: Record<string, unknown> = { ...baseSchemas() };
  const tables = tableNames(catalog, new Set(Object.keys(schemas)));
  const usedTables = new Set<TableInfo>();
  const paths: Paths = {};
  for (const endpoint of inTagOrder(routes, [...TAGS, ...merged.tags])) {
    addEndpoint(paths, endpoint, { config, tables, can, parts: merged, usedTables });
  }
  const parameterComponents = parameters(config, options.docAssets ?? [], merged.parameters);
  for (const [table, names] of tables) {
    // A model per table the caller uses through a path or may read.
    if (!usedTables.has(table) && !can("r", table)) continue;
    schemas[names.row] = rowSchema(table);
    schemas[names.insert] = insertSchema(table);
    // The parameters its read path refers to, with its own examples.
    if (usedTables.has(table) && can("r", table)) {
      Object.assign(parameterComponents, tableParameters(names, parameterComponents));
    }
  }
  const tableTags = [...tables].filter(([t]) => usedTables.has(t)).map(([t, n]) => tableTag(t, n));
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
    tags: usedTags([...TAGS, ...merged.tags, ...tableTags], paths),
    paths,
    components: {
      schemas,
      parameters: parameterComponents,
      headers: { ...headers(), ...merged.headers },
      securitySchemes: securitySchemes(),
    },
  };
  if (config.auth_enabled) document.security = [{ apiKey: [] }, { bearer: [] }];
  return document;
}

/** What adding one endpoint needs. */
interface EndpointContext {
  config: Config;
  tables: Map<TableInfo, TableNames>;
  can: Can;
  parts: Parts;
  /** Tables that got a path so far (filled in). */
  usedTables: Set<TableInfo>;
}

/** Adds the operations of one endpoint row (and its per-table copies) to `paths`. */
function addEndpoint(paths: Paths, endpoint: Endpoint, ctx: EndpointContext): void {
  const { config, parts } = ctx;
  const methods = endpoint.method === "ALL" ? endpoint.documentAs ?? ["GET"] : [endpoint.method];
  const base = baseOf(endpoint, parts);
  const key = base ? `${base.prefix(config)}${endpoint.path}` : endpoint.path;
  for (const method of methods) {
    const operationContext: OperationContext = {
      secured: config.auth_enabled,
      isPublic: base ? base.isPublic(config, method) : endpoint.public === true,
      headerNames: parts.headerNames,
      bodies: parts.bodies,
      requestBodies: parts.requestBodies,
    };
    const operation = buildOperation(endpoint, null, operationContext);
    const item = paths[key] ??= {};
    // Outside route_prefix: the path is written from where the base says.
    if (base) item.servers = base.servers.map((server) => ({ ...server }));
    item[METHOD_KEYS[method]] = operation;
    if (!endpoint.tableOp) continue;
    for (const [table, names] of ctx.tables) {
      if (!ctx.can(endpoint.tableOp, table)) continue;
      ctx.usedTables.add(table);
      const path = endpoint.path.replace("{table}", encodeURIComponent(names.display));
      (paths[path] ??= {})[METHOD_KEYS[method]] = buildOperation(endpoint, names, operationContext);
    }
  }
}

/** The base part of an endpoint outside `route_prefix`; none for the route prefix. */
function baseOf(endpoint: Endpoint, parts: Parts): BasePart | null {
  if (endpoint.base === undefined || endpoint.base === "route") return null;
  if (!Object.hasOwn(parts.bases, endpoint.base)) {
    throw new Error(`no document part describes the "${endpoint.base}" endpoints`);
  }
  return parts.bases[endpoint.base];
}

/** `routes` grouped by tag in the order of `tags` (a stable sort; unknown tags last). */
function inTagOrder(routes: readonly Endpoint[], tags: readonly Tag[]): Endpoint[] {
  const rank = (endpoint: Endpoint) => {
    const index = tags.findIndex((tag) => tag.name === endpoint.tag);
    return index < 0 ? tags.length : index;
  };
  return [...routes].sort((a, b) => rank(a) - rank(b));
}

/** The tags some operation of `paths` uses, in order. */
function usedTags(tags: readonly Tag[], paths: Paths): Tag[] {
  return tags.filter((tag) =>
    Object.values(paths).some((item) =>
      Object.values(item).some((op) => (op as { tags?: string[] }).tags?.includes(tag.name))
    )
  ).map((tag) => ({ ...tag }));
}

function mergeParts(parts: readonly DocumentPart[]): Parts {
  const merged: Parts = {
    tags: [],
    parameters: {},
    headers: {},
    headerNames: {},
    bodies: {},
    requestBodies: {},
    bases: {},
  };
  for (const part of parts) {
    merged.tags.push(...part.tags ?? []);
    Object.assign(merged.parameters, part.parameters);
    for (const [name, { header, component }] of Object.entries(part.headers ?? {})) {
      merged.headers[name] = component;
      merged.headerNames[name] = header;
    }
    Object.assign(merged.bodies, part.bodies);
    Object.assign(merged.requestBodies, part.requestBodies);
    Object.assign(merged.bases, part.bases);
  }
  return merged;
}
