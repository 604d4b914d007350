/**
 * Protocol header names and the security/CORS headers every response carries.
 * @module
 */

/** Protocol header names (lowercase). */
export const H = {
  nextOffset: "stream-next-offset",
  upToDate: "stream-up-to-date",
  closed: "stream-closed",
  cursor: "stream-cursor",
  seq: "stream-seq",
  ttl: "stream-ttl",
  expiresAt: "stream-expires-at",
  forkedFrom: "stream-forked-from",
  forkOffset: "stream-fork-offset",
  forkSubOffset: "stream-fork-sub-offset",
  sseEncoding: "stream-sse-data-encoding",
  producerId: "producer-id",
  producerEpoch: "producer-epoch",
  producerSeq: "producer-seq",
  producerExpectedSeq: "producer-expected-seq",
  producerReceivedSeq: "producer-received-seq",
} as const;

const ALLOW_HEADERS = [
  "content-type",
  "authorization",
  "if-none-match",
  H.seq,
  H.ttl,
  H.expiresAt,
  H.closed,
  H.forkedFrom,
  H.forkOffset,
  H.forkSubOffset,
  H.producerId,
  H.producerEpoch,
  H.producerSeq,
].join(", ");

const EXPOSE_HEADERS = [
  H.nextOffset,
  H.cursor,
  H.upToDate,
  H.closed,
  H.ttl,
  H.expiresAt,
  H.sseEncoding,
  H.producerEpoch,
  H.producerSeq,
  H.producerExpectedSeq,
  H.producerReceivedSeq,
  "etag",
  "location",
  "content-type",
  "content-encoding",
  "vary",
].join(", ");

/** Headers added to every response, errors and SSE included. */
export function baseHeaders(): Headers {
  return new Headers({
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "cross-origin",
    "access-control-allow-origin": "*",
    "access-control-expose-headers": EXPOSE_HEADERS,
  });
}

/** Headers for an OPTIONS (CORS preflight) response. */
export function preflightHeaders(): Headers {
  const h = baseHeaders();
  h.set("access-control-allow-methods", "GET, POST, PUT, DELETE, HEAD, OPTIONS");
  h.set("access-control-allow-headers", ALLOW_HEADERS);
  h.set("access-control-max-age", "86400");
  return h;
}
