/**
 * The OpenAPI 3.1 document of a running duckserve, as a pure function of the live catalog, the
 * configuration and what the app registered. Everything in it comes from a registry: paths from
 * the endpoint rows each HTTP feature registered with its routes (`lib/http/feature.ts`), content
 * types from the format registry (`lib/encode/formats.ts`), error responses from `ERROR_CODES`,
 * filter operators from their table, one path plus one component schema per table from the
 * catalog, and what a feature adds from the document part it was mounted with. The Durable
 * Streams endpoints (when `streams` is on) sit at the server root, outside `route_prefix`: their
 * path item names the full path (`/v1/stream/{path}`) with its own `servers` entry (`/`), as the
 * streams part says (`lib/streams/openapi_part.ts`). This folder imports no feature.
 *
 * | module           | job                                                                 |
 * | ---------------- | ------------------------------------------------------------------- |
 * | `endpoint.ts`    | `Endpoint`: one endpoint row (registration and documentation)       |
 * | `document.ts`    | paths, tags, info, the components put together                      |
 * | `operations.ts`  | one operation from one endpoint row: parameters, bodies, responses  |
 * | `tables.ts`      | per-table names, row and insert schemas, the readable-tables note   |
 * | `components.ts`  | the static components: schemas, parameters, headers, security      |
 * | `part.ts`        | `DocumentPart`: what a feature contributes                          |
 * | `json_schema.ts` | DuckDB column types to JSON Schema                                  |
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { buildOpenApi, type Endpoint } from "./mod.ts";
 * import { loadConfig } from "../config.ts";
 * const config = await loadConfig({ env: {}, flags: { database_path: ":memory:" } });
 * const table = {
 *   schema: "main", name: "users", kind: "table" as const, primaryKey: ["id"], estimatedRows: 0,
 *   columns: [{ name: "id", type: "INTEGER", nullable: false, default: null, primaryKey: true }],
 * };
 * const read: Endpoint = {
 *   method: "GET", route: "/api/:table", path: "/api/{table}", operationId: "readRows",
 *   tag: "Tables", tableOp: "r", summary: "Read rows", errors: [],
 *   responses: [{ status: 200, description: "The rows.", body: { kind: "rows" } }],
 * };
 * const doc = buildOpenApi([table], config, { endpoints: [read], parts: [] });
 * ok("/api/users" in doc.paths);
 * equal(doc.servers[0].url, "/duckdb");
 * ```
 * @module
 */

import type { Config } from "../config.ts";
import type { TableInfo } from "../db/catalog.ts";
import { buildDocument, type OpenApiDocument, type OpenApiOptions } from "./document.ts";
import { parameters } from "./components.ts";
import type { Endpoint } from "./endpoint.ts";
import type { DocumentPart } from "./part.ts";

export type { OpenApiDocument, OpenApiOptions } from "./document.ts";
export type { Endpoint, HttpMethod, SuccessBody, SuccessResponse } from "./endpoint.ts";
export type { DocumentPart } from "./part.ts";
export { tableDisplayName } from "./tables.ts";

/** What the app registered: its endpoint rows, and the document parts of its features. */
export interface ApiRoutes {
  endpoints: readonly Endpoint[];
  /** The features' document parts, in mount order. */
  parts: readonly DocumentPart[];
}

/**
 * Builds the document: `catalog` is the live catalog, `routes` what the app registered
 * (`documentRoutes(app.routes)` in `lib/http`), `options.can` filters the per-table paths.
 */
export function buildOpenApi(
  catalog: readonly TableInfo[],
  config: Config,
  routes: ApiRoutes,
  options: OpenApiOptions = {},
): OpenApiDocument {
  return buildDocument(catalog, config, routes.endpoints, routes.parts, options);
}

/**
 * The query parameters an endpoint row documents, as clients write them (`rowOffset` is
 * `offset`): what the endpoint accepts, so the document and the check of unknown parameters
 * cannot disagree. Only the generic parameter components are known here.
 */
export function queryParameterNames(endpoint: Endpoint, config: Config): string[] {
  const components = parameters(config, [], {}) as Record<string, { in: string; name: string }>;
  return (endpoint.parameters ?? []).flatMap((key) => {
    if (!Object.hasOwn(components, key)) {
      throw new Error(`${endpoint.operationId}: no generic parameter component "${key}"`);
    }
    return components[key].in === "query" ? [components[key].name] : [];
  });
}
