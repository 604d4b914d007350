/**
 * What a create or an append writes, and the checks on what it brings: the new instance and the
 * meta of its create record, the messages of a body (JSON streams: one per value, one array level
 * flattened) checked against the stream's content type, `Stream-Seq` ordering, and the refusal
 * of appends to a closed stream.
 * @module
 */

import { ApiError } from "../errors.ts";
import { isJsonType, sameMediaType } from "./content_type.ts";
import { forkLink, type ResolvedCreate } from "./forks.ts";
import { H } from "./http_headers.ts";
import { parseJsonMessages } from "./json_mode.ts";
import { freshRuntime, type StreamInstance, type Unit } from "./model.ts";
import { formatOffset } from "./offsets.ts";
import type { CreateMeta } from "./record.ts";
import type { PutRequest } from "./request.ts";

/** A new, not yet committed instance at `path` per a resolved create. */
export function newInstance(
  path: string,
  req: PutRequest,
  resolved: ResolvedCreate,
  now: number,
): StreamInstance {
  const { source, base } = resolved;
  return {
    id: randomId(),
    path,
    contentType: resolved.contentType,
    json: isJsonType(resolved.contentType),
    ttlSeconds: resolved.ttlSeconds,
    expiresAtMs: resolved.expiresAtMs,
    reqTtl: req.ttlSeconds,
    reqExp: req.expiresAtMs,
    createdMs: now,
    fork: source && req.fork ? forkLink(source, req.fork, base) : null,
    base,
    lastAccessMs: now,
    state: "live",
    committed: false,
    units: [],
    tail: base,
    closed: false,
    pendingTail: base,
    pendingClosed: req.closed,
    ...freshRuntime(),
  };
}

/** The create record's meta of a new instance. */
export function createMeta(
  inst: StreamInstance,
  req: PutRequest,
  units: Unit[],
  now: number,
): CreateMeta {
  return {
    id: inst.id,
    path: inst.path,
    ct: inst.contentType,
    ttl: inst.ttlSeconds,
    exp: inst.expiresAtMs,
    reqTtl: req.ttlSeconds,
    reqExp: req.expiresAtMs,
    closed: req.closed,
    fork: inst.fork
      ? {
        src: inst.fork.source.id,
        pos: inst.fork.pos,
        sub: inst.fork.sub,
        explicit: inst.fork.explicit,
      }
      : null,
    units: units.map((u) => u.lens ?? [u.end - u.start]),
    ts: now,
  };
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The messages of a create's body (one unit): JSON streams flatten one array level. */
export function createGroups(body: Uint8Array, json: boolean): Uint8Array[][] {
  if (body.length === 0) return [];
  if (!json) return [[body]];
  const parsed = parseJsonMessages(body, true);
  if (!parsed.ok) throw new ApiError("invalid_json", "Body is not valid JSON");
  return parsed.messages.length > 0 ? [parsed.messages] : [];
}

/** The messages of an append's body (one unit), checked against the stream's content type. */
export function appendGroups(
  inst: StreamInstance,
  contentType: string | null,
  body: Uint8Array,
): Uint8Array[][] {
  if (body.length === 0) return [];
  if (!sameMediaType(contentType!, inst.contentType)) {
    throw new ApiError("content_type_mismatch", `Stream content type is ${inst.contentType}`);
  }
  if (!inst.json) return [[body]];
  const parsed = parseJsonMessages(body, false);
  if (!parsed.ok) {
    throw parsed.reason === "empty_array"
      ? new ApiError("empty_json_array", "Appending an empty JSON array is invalid")
      : new ApiError("invalid_json", "Body is not valid JSON");
  }
  return [parsed.messages];
}

/** Refuses a `Stream-Seq` that does not increase (byte-wise) over the stream's last one. */
export function checkStreamSeq(inst: StreamInstance, seq: string | null): void {
  if (seq === null || inst.lastStreamSeq === null || seq > inst.lastStreamSeq) return;
  throw new ApiError("seq_conflict", "Stream-Seq must increase", {
    headers: { [H.nextOffset]: formatOffset(inst.pendingTail) },
  });
}

/** The refusal of an append to a closed stream. */
export function closedError(inst: StreamInstance): ApiError {
  return new ApiError("stream_closed", "Stream is closed", {
    headers: { [H.closed]: "true", [H.nextOffset]: formatOffset(inst.pendingTail) },
  });
}
