/**
 * What the execution stage hands the response layer for rows: an encoded body (its first bytes
 * read, so every failure up to there was thrown as an `ApiError`), or a finished answer from the
 * answer cache (`answer_cache.ts`). No lease crosses this line: whatever holds a connection is
 * behind the body's producer, which frees it when it ends or is cancelled.
 * @module
 */

import type { EncodedBody } from "../encode/mod.ts";

/** A finished answer as the answer cache keeps it: status, headers and the exact body bytes. */
export interface StoredAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array<ArrayBuffer>;
  /** Rows in the body, when they were counted. */
  rows?: number;
}

/** Rows encoded for the client, ready to be sent. */
export interface BodyAnswer extends EncodedBody {
  kind: "body";
  /** Headers the answer brings (Link, X-Total-Count, X-Truncated of CRUD reads). */
  headers?: Record<string, string>;
  /** Call once the headers are decided, before streaming (lifts the query deadline). */
  onStreaming?: () => void;
  /** May the answer cache keep it (reads of base tables whose rows were all in memory)? */
  cacheable?: boolean;
  /** Set by the answer cache: give it the finished answer (status, headers, body bytes). */
  keep?: (answer: StoredAnswer) => void;
}

/** An answer the answer cache had. */
export interface CachedAnswer {
  kind: "stored";
  stored: StoredAnswer;
}

/**
 * The client's copy is current (its `If-None-Match` matched `etag`): answered with 304 and no
 * body, without running the read.
 */
export interface NotModifiedAnswer {
  kind: "not_modified";
  etag: string;
}

/** An answer with rows. */
export type Answer = (BodyAnswer | CachedAnswer | NotModifiedAnswer) & {
  /** The answer's strong validator, for deterministic reads (`validators.ts`). */
  etag?: string;
};

/** A body answer of `encoded` whose deadline `onStreaming` lifts. */
export function bodyAnswer(
  encoded: EncodedBody,
  extra: Omit<BodyAnswer, keyof EncodedBody | "kind"> = {},
): BodyAnswer {
  return { kind: "body", ...encoded, ...extra };
}
