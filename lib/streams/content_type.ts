/**
 * Content-type helpers: normalization for comparison, JSON-mode and SSE-encoding detection.
 * @module
 */

/** The content type a stream gets when PUT carries none. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The media type of a Content-Type value: before `;`, trimmed, lowercased. */
export function mediaType(contentType: string): string {
  return contentType.split(";")[0].trim().toLowerCase();
}

/**
 * Normalizes a Content-Type for storage and echo: lowercased media type, parameters kept as given.
 * Returns null when there is no usable media type.
 */
export function normalizeContentType(raw: string | null): string | null {
  if (raw === null) return null;
  const mt = mediaType(raw);
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mt)) return null;
  const semi = raw.indexOf(";");
  if (semi < 0) return mt;
  const params = raw.slice(semi + 1).trim();
  return params ? `${mt}; ${params}` : mt;
}

/** True when two content types denote the same media type. */
export function sameMediaType(a: string, b: string): boolean {
  return mediaType(a) === mediaType(b);
}

/** True for JSON-mode streams (`application/json`, any parameters). */
export function isJsonType(contentType: string): boolean {
  return mediaType(contentType) === "application/json";
}

/** True when SSE carries the payload as text (text/* and JSON); otherwise it is base64. */
export function isSseTextType(contentType: string): boolean {
  const mt = mediaType(contentType);
  return mt.startsWith("text/") || mt === "application/json";
}
