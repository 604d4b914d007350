/**
 * The JSON streams the server writes itself (table change feeds under `_changes/`): created on
 * first use as `application/json` without a TTL, appended one already-serialized message at a
 * time, never confused with a stream of another content type at the same path.
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { ApiError } from "../errors.ts";
import type { StreamInstance } from "./model.ts";
import type { StreamStore } from "./store.ts";

/** How the server creates the JSON streams it writes itself (change feeds): no TTL, open. */
export const SYSTEM_JSON_STREAM = {
  contentType: "application/json",
  ttlSeconds: null,
  expiresAtMs: null,
  closed: false,
  fork: null,
} as const;

const encoder = new TextEncoder();

/** Refuses an instance that is live but not a JSON stream. */
export function requireJsonStream(inst: StreamInstance, path: string): void {
  if (inst.state === "live" && !inst.json) {
    throw new ApiError("content_type_mismatch", `${path} is not a JSON stream`);
  }
}

/**
 * System append of one already-serialized JSON message: creates the stream (application/json,
 * no TTL) when missing. Returns the new tail offset once durable.
 */
export async function appendSystemJson(
  store: StreamStore,
  path: string,
  message: Uint8Array,
): Promise<string> {
  // wrap in an array so a message that is itself an array stays one message
  const body = concatBytes([encoder.encode("["), message, encoder.encode("]")]);
  for (;;) {
    const existing = store.lookup(path);
    if (!existing) {
      const created = await store.create(path, SYSTEM_JSON_STREAM, body);
      if (created.created) return created.nextOffset;
      continue; // someone else created it first: append to theirs
    }
    requireJsonStream(existing, path);
    const out = await store.append(path, {
      contentType: "application/json",
      closed: false,
      streamSeq: null,
      producer: null,
    }, body);
    return out.nextOffset;
  }
}

/** Creates an empty system JSON stream at `path` unless a stream is there. */
export async function ensureJsonStream(store: StreamStore, path: string): Promise<void> {
  const existing = store.lookup(path);
  if (existing) return requireJsonStream(existing, path);
  try {
    await store.create(path, SYSTEM_JSON_STREAM, new Uint8Array(0));
  } catch (e) {
    // created concurrently with another configuration: the stream exists, which is enough
    if (!(e instanceof ApiError && e.code === "stream_exists")) throw e;
  }
}
