/**
 * The documentation feature: `GET {prefix}/openapi.json` (the OpenAPI document of the routes the
 * app registered, built per request from the live catalog) and `GET {prefix}/docs`, the
 * interactive API reference (Swagger UI) over it, served entirely from the program: Swagger UI's script and style sheet are text imports of the
 * pinned `swagger-ui-dist` package, so `deno compile` embeds them and the page needs no network
 * beyond this server (its Content-Security-Policy forbids anything else). The page asks for an
 * API key, keeps it in `sessionStorage`, fetches the document with it (so it lists the tables
 * that key may use) and pre-authorizes "Try it out" with it.
 * @module
 */

import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import swaggerJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import initJs from "./docs/init.js" with { type: "text" };
import pageCss from "./docs/page.css" with { type: "text" };
import type { Context } from "hono";
import { ApiError } from "../errors.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import { createGuard } from "../db/run.ts";
import { type ApiRoutes, buildOpenApi, type DocumentPart, type Endpoint } from "../openapi/mod.ts";
import { VERSION } from "../version.ts";
import { type AppContext, type AppEnv, remoteAddressOf } from "./context.ts";
import { createAssetServer, type EmbeddedAsset, pageResponse } from "./embedded.ts";
import { createFeature, documentRoutes, type Feature, type RegisteredRoute } from "./feature.ts";
import { allowed, loadCatalog } from "./schema.ts";

const OPENAPI: Endpoint = {
  method: "GET",
  route: "/openapi.json",
  path: "/openapi.json",
  public: true,
  operationId: "openapi",
  tag: "Documentation",
  summary: "This OpenAPI 3.1 document",
  description: "Generated per request from the live catalog. Without a key it lists no " +
    "tables when authentication is on (unless `public_schema` is true); with a key, the tables " +
    "and operations that key may use.",
  responses: [{
    status: 200,
    description: "The OpenAPI document.",
    body: { kind: "openapi" },
  }],
  errors: [],
};

const DOCS: Endpoint = {
  method: "GET",
  route: "/docs",
  path: "/docs",
  public: true,
  operationId: "docs",
  tag: "Documentation",
  summary: "Interactive API reference (Swagger UI, served from the binary)",
  responses: [{ status: 200, description: "The page.", body: { kind: "html" } }],
  errors: [],
};

const DOCS_ASSET: Endpoint = {
  method: "GET",
  route: "/docs/:asset",
  path: "/docs/{asset}",
  public: true,
  pathParameters: { asset: "asset" },
  operationId: "docsAsset",
  tag: "Documentation",
  summary: "A script or style sheet of the API reference page",
  responses: [{ status: 200, description: "The asset.", body: { kind: "asset" } }],
  errors: ["route_not_found"],
};

/**
 * The documentation routes (relative to the route prefix); `routes` lists what the whole app
 * registered (read once, at the first request for the document), `parts` what the features add
 * to the document besides their rows.
 */
export function docsRoutes(
  ctx: AppContext,
  routes: () => readonly RegisteredRoute[],
  parts: readonly DocumentPart[],
): Feature {
  const { config, engine, auth } = ctx;
  const feature = createFeature();
  const docs = createDocs({ prefix: config.route_prefix, authEnabled: config.auth_enabled });
  let documented: ApiRoutes | null = null;
  feature.route(OPENAPI, async (c) => {
    const principal = optionalPrincipal(c, auth, config.auth_enabled);
    const catalog = await loadCatalog(
      engine.pool,
      createGuard(config.query_timeout, c.req.raw.signal),
    );
    documented ??= { endpoints: documentRoutes(routes()).endpoints, parts };
    return c.json(buildOpenApi(catalog, config, documented, {
      // A key sees what it may use; callers without one no table, unless public_schema says so.
      can: principal !== null
        ? (op, table) => allowed(auth, principal, op, table)
        : () => config.public_schema,
      docAssets: Object.keys(DOC_ASSETS),
    }));
  });
  feature.route(DOCS, () => docs.page());
  feature.route(DOCS_ASSET, (c) => docs.asset(c.req.param("asset") ?? "", c.req.raw));
  return feature;
}

/**
 * The caller of a public endpoint that serves more to a key (openapi.json): authenticated when
 * it sent credentials (a bad key is still 401) or when auth is off; `null` when anonymous.
 */
function optionalPrincipal(
  c: Context<AppEnv>,
  auth: Auth,
  authEnabled: boolean,
): Principal | null {
  const request = c.req.raw;
  const credentials = request.headers.has("x-api-key") ||
    /^bearer\s/i.test(request.headers.get("authorization") ?? "");
  if (authEnabled && !credentials) return null;
  const principal = auth.authenticate(request, remoteAddressOf(c), c.get("requestId"));
  c.set("principal", principal);
  return principal;
}

/** Every asset of the page by file name (served under `{prefix}/docs/`). */
export const DOC_ASSETS: Readonly<Record<string, EmbeddedAsset>> = {
  "swagger-ui-bundle.js": { contentType: "text/javascript; charset=utf-8", text: swaggerJs },
  "swagger-ui.css": { contentType: "text/css; charset=utf-8", text: swaggerCss },
  "docs.js": { contentType: "text/javascript; charset=utf-8", text: initJs },
  "docs.css": { contentType: "text/css; charset=utf-8", text: pageCss },
};

/** What the page's Content-Security-Policy adds for Swagger UI: its inline fonts. */
const DOCS_CSP = ["font-src 'self' data:"];

/** Options of {@link createDocs}. */
export interface DocsOptions {
  /** The route prefix (`""` for none). */
  prefix: string;
  /** Whether the server requires keys (the page says so). */
  authEnabled: boolean;
}

/** The docs page handlers. */
export interface Docs {
  /** The HTML page. */
  page(): Response;
  /** One asset; 404 `route_not_found` for an unknown name; 304 when `If-None-Match` matches. */
  asset(name: string, request: Request): Promise<Response>;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Builds the page once for `options`; asset digests and gzip bodies are computed on first use. */
export function createDocs(options: DocsOptions): Docs {
  const html = pageHtml(options);
  const serveAsset = createAssetServer(DOC_ASSETS);
  return {
    page: () => pageResponse(html, DOCS_CSP),
    async asset(name, request) {
      const response = await serveAsset(name, request);
      if (!response) throw new ApiError("route_not_found", `No documentation asset "${name}".`);
      return response;
    },
  };
}

/** The page for `options`. */
function pageHtml(options: DocsOptions): string {
  const base = `${options.prefix}/docs`;
  const config = JSON.stringify({
    spec: `${options.prefix}/openapi.json`,
    auth: options.authEnabled,
  })
    .replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>duckserve API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(base)}/swagger-ui.css">
<link rel="stylesheet" href="${escapeHtml(base)}/docs.css">
</head>
<body>
<header id="duckserve-bar">
<strong>duckserve ${escapeHtml(VERSION)}</strong>
<form id="key-form">
<label for="api-key">API key</label>
<input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false">
<button type="submit">Use key</button>
<button type="button" id="forget-key">Forget</button>
</form>
<span id="status" role="status"></span>
</header>
<main id="swagger-ui"></main>
<script id="duckserve-config" type="application/json">${config}</script>
<script src="${escapeHtml(base)}/swagger-ui-bundle.js"></script>
<script src="${escapeHtml(base)}/docs.js"></script>
</body>
</html>
`;
}
