/**
 * Pages and assets served from the program (the docs page, the dashboard): their text is
 * imported as modules, so `deno compile` embeds it; the pages' Content-Security-Policy allows
 * nothing but this origin; an asset answers with an ETag (304 on `If-None-Match`) and, when the
 * client accepts it, a gzip body computed once.
 * @module
 */

/** A file embedded in the program, served under a fixed name. */
export interface EmbeddedAsset {
  /** Its `Content-Type`. */
  contentType: string;
  /** Its text (a text import). */
  text: string;
}

/** The directives every embedded page shares: nothing but this origin. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
];

/**
 * The answer of an embedded HTML page: revalidated on every load, locked down by its
 * Content-Security-Policy (the shared directives plus `extraCsp`), never sniffed, no referrer.
 */
export function pageResponse(html: string, extraCsp: readonly string[] = []): Response {
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-cache",
      "content-security-policy": [...CSP, ...extraCsp].join("; "),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
  });
}

/** Serves one embedded asset by name: `undefined` when there is no such asset. */
export type AssetServer = (name: string, request: Request) => Promise<Response | undefined>;

/** An asset's ETag and gzip body, computed on first use. */
interface PreparedAsset {
  etag: string;
  gzip: Uint8Array;
}

/**
 * The server of `assets` by file name: each answers with its ETag (304 when `If-None-Match`
 * matches) and a gzip body when the client accepts gzip; digests and gzip bodies are computed
 * on first use and kept.
 */
export function createAssetServer(assets: Readonly<Record<string, EmbeddedAsset>>): AssetServer {
  const prepared = new Map<string, Promise<PreparedAsset>>();
  return async function serveAsset(name, request) {
    const asset = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!asset) return undefined;
    let entry = prepared.get(name);
    if (!entry) prepared.set(name, entry = prepareAsset(asset));
    const { etag, gzip } = await entry;
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
      return new Response(gzip.slice(), { headers: { ...headers, "content-encoding": "gzip" } });
    }
    return new Response(asset.text, { headers });
  };
}

async function prepareAsset(asset: EmbeddedAsset): Promise<PreparedAsset> {
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
