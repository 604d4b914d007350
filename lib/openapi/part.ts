/**
 * What a feature contributes to the OpenAPI document besides its endpoint rows: its tags, the
 * parameter and header components its rows name, the content of the body kinds it owns, and the
 * prefix its endpoints sit under when that is not `route_prefix`. The streams feature describes
 * itself this way (`lib/streams/openapi_part.ts`); the generic document code knows none of it.
 * @module
 */

import type { Config } from "../config.ts";

/** An OpenAPI `content` object: media type to schema. */
export type Content = Record<string, { schema: unknown }>;

/** A tag of the document. */
export interface Tag {
  name: string;
  description?: string;
}

/** A server entry of the document or of a path item. */
export interface Server {
  url: string;
  description?: string;
}

/** A header component and the HTTP header it documents. */
export interface HeaderPart {
  /** The HTTP header name (`Stream-Next-Offset`). */
  header: string;
  /** The `components/headers` entry. */
  component: unknown;
}

/** Endpoints registered relative to a prefix of their own (outside `route_prefix`). */
export interface BasePart {
  /** The prefix of their paths, from the server root. */
  prefix(config: Config): string;
  /** Whether an operation (by HTTP method) is served without a key. */
  isPublic(config: Config, method: string): boolean;
  /** The path items' `servers`: where their paths are written from. */
  servers: Server[];
}

/** Everything one feature adds to the document. */
export interface DocumentPart {
  /** Tags of the feature's operations (after the generic tags, before the per-table tags). */
  tags?: Tag[];
  /** `components/parameters` entries its endpoint rows name. */
  parameters?: Record<string, unknown>;
  /** `components/headers` entries its success responses name, by component name. */
  headers?: Record<string, HeaderPart>;
  /** Response content of the success body kinds the feature owns (`stream`, `sse`). */
  bodies?: Record<string, Content>;
  /** Request body content by the schema name of a row's `requestBody` (`stream:body`). */
  requestBodies?: Record<string, Content>;
  /** Endpoint bases the feature owns, by the rows' `base` (`streams`). */
  bases?: Record<string, BasePart>;
}
