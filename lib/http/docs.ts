/**
 * `GET {prefix}/docs`: the interactive API reference (Swagger UI) over `{prefix}/openapi.json`,
 * served entirely from the program: Swagger UI's script and style sheet are text imports of the
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
import { ApiError } from "../errors.ts";
import { VERSION } from "../version.ts";

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
  const base = `${options.prefix}/docs`;
  const config = JSON.stringify({
    spec: `${options.prefix}/openapi.json`,
    auth: options.authEnabled,
  })
    .replaceAll("<", "\\u003c");
  const html = `<!doctype html>
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
  const prepared = new Map<string, Promise<{ etag: string; gzip: Uint8Array }>>();
  const prepare = (name: string, asset: Asset) => {
    let entry = prepared.get(name);
    if (!entry) {
      entry = (async () => {
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
      })();
      prepared.set(name, entry);
    }
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

function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => t.trim() === etag || t.trim() === "*");
}
