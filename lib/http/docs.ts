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

/** A file served under `{prefix}/docs/`. */
interface Asset {
  contentType: string;
  text: string;
}

/** Every asset of the page by file name. */
export const DOC_ASSETS: Readonly<Record<string, Asset>> = {
  "swagger-ui-bundle.js": { contentType: "text/javascript; charset=utf-8", text: swaggerJs },
  "swagger-ui.css": { contentType: "text/css; charset=utf-8", text: swaggerCss },
  "docs.js": { contentType: "text/javascript; charset=utf-8", text: initJs },
  "docs.css": { contentType: "text/css; charset=utf-8", text: pageCss },
};

/** The page's Content-Security-Policy: nothing but this origin (Swagger UI needs inline styles). */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": DOCS_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

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
  const prepared = new Map<string, Promise<PreparedAsset>>();
  const prepare = (name: string, asset: Asset) => {
    let entry = prepared.get(name);
    if (!entry) prepared.set(name, entry = prepareAsset(asset));
    return entry;
  };

  return {
    page: () =>
      new Response(html, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-cache",
          ...SECURITY_HEADERS,
        },
      }),
    async asset(name, request) {
      const asset = Object.hasOwn(DOC_ASSETS, name) ? DOC_ASSETS[name] : undefined;
      if (!asset) throw new ApiError("route_not_found", `No documentation asset "${name}".`);
      const { etag, gzip } = await prepare(name, asset);
      const headers: Record<string, string> = {
        "content-type": asset.contentType,
        "cache-control": "no-cache",
        etag,
        vary: "accept-encoding",
        "x-content-type-options": "nosniff",
      };
      if (matchesEtag(request.headers.get("if-none-match"), etag)) {
        return new Response(null, { status: 304, headers });
      }
      if (/\bgzip\b/i.test(request.headers.get("accept-encoding") ?? "")) {
        return new Response(gzip.slice(), {
          headers: { ...headers, "content-encoding": "gzip" },
        });
      }
      return new Response(asset.text, { headers });
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

/** An asset's ETag and gzip body, computed on first use. */
interface PreparedAsset {
  etag: string;
  gzip: Uint8Array;
}

async function prepareAsset(asset: Asset): Promise<PreparedAsset> {
  const bytes = new TextEncoder().encode(asset.text);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const etag = `"${
    Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }"`;
  const gzip = new Uint8Array(
    await new Response(
      new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  return { etag, gzip };
}

function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => t.trim() === etag || t.trim() === "*");
}
