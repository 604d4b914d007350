/**
 * Forks: a stream created with `Stream-Forked-From` starts with its source's data up to a fork
 * offset (plus, with a sub-offset, the first bytes or messages of the source's next append) and
 * reads the source chain below that offset. This module holds the fork rules: resolving and
 * checking a fork request against its source (content type, offset on a message boundary,
 * sub-offset inside the next append, TTL inheritance), comparing fork configurations for an
 * idempotent PUT, and the reference counting that keeps a deleted source's data while forks need
 * it (soft delete) and releases the chain once the last fork is gone.
 * @module
 */

import { ApiError } from "../errors.ts";
import { DEFAULT_CONTENT_TYPE, sameMediaType } from "./content_type.ts";
import type { ForkLink, StreamInstance } from "./model.ts";
import { isBoundary, messageEnds, type ReadPlan, unitAt } from "./read_layout.ts";
import type { ForkRequest, PutRequest } from "./request.ts";

/** A create's settings once its fork (if any) is resolved. */
export interface ResolvedCreate {
  /** The fork source; null for a plain create. */
  source: StreamInstance | null;
  contentType: string;
  /** Where the new stream's own data starts (the fork offset, or 0). */
  base: number;
  /** The sub-offset prefix to copy from the source; null without a sub-offset. */
  prefixPlan: ReadPlan | null;
  ttlSeconds: number | null;
  expiresAtMs: number | null;
}

/**
 * Resolves a PUT's fork against its `source` (as looked up by path, if found): the content type,
 * fork offset, sub-offset prefix and TTL the new stream gets. Throws the protocol's errors.
 */
export function resolveCreate(req: PutRequest, source: StreamInstance | undefined): ResolvedCreate {
  const plain: ResolvedCreate = {
    source: null,
    contentType: req.contentType ?? DEFAULT_CONTENT_TYPE,
    base: 0,
    prefixPlan: null,
    ttlSeconds: req.ttlSeconds,
    expiresAtMs: req.expiresAtMs,
  };
  if (!req.fork) return plain;
  if (!source || !source.committed) {
    throw new ApiError("fork_source_not_found", "Fork source stream not found");
  }
  if (source.state !== "live") {
    throw new ApiError("fork_source_gone", "Fork source stream was deleted");
  }
  if (req.contentType !== null && !sameMediaType(req.contentType, source.contentType)) {
    throw new ApiError("content_type_mismatch", "Fork content type differs from the source's");
  }
  const base = req.fork.offset ?? source.tail;
  if (base > source.tail || !isBoundary(source, base)) {
    throw new ApiError(
      "fork_offset_invalid",
      "Stream-Fork-Offset is beyond the source tail or not a message boundary",
    );
  }
  const inherit = plain.ttlSeconds === null && plain.expiresAtMs === null;
  return {
    source,
    contentType: req.contentType ?? source.contentType,
    base,
    prefixPlan: req.fork.sub > 0 ? planSubOffset(source, base, req.fork.sub) : null,
    ttlSeconds: inherit ? source.ttlSeconds : plain.ttlSeconds,
    expiresAtMs: inherit ? source.expiresAtMs : plain.expiresAtMs,
  };
}

/** Plans the sub-offset prefix: the first `sub` bytes / messages of the unit at `pos`. */
function planSubOffset(source: StreamInstance, pos: number, sub: number): ReadPlan {
  const bad = (why: string) => new ApiError("fork_sub_offset_invalid", why);
  const seg = unitAt(source, pos);
  if (!seg) throw bad("No append unit follows the fork offset");
  let end: number;
  if (seg.unit.lens) {
    const ends = messageEnds(seg.unit).filter((e) => e > pos && e <= seg.to);
    if (sub > ends.length) throw bad("Stream-Fork-Sub-Offset exceeds the message count");
    end = ends[sub - 1];
  } else {
    if (sub > Math.min(seg.unit.end, seg.to) - pos) {
      throw bad("Stream-Fork-Sub-Offset exceeds the unit length");
    }
    end = pos + sub;
  }
  return {
    from: pos,
    next: end,
    segments: [{ inst: seg.inst, unit: seg.unit, begin: pos, end }],
    upToDate: false,
    closedAtEnd: false,
  };
}

/** The fork link of a new instance forked from `source` at `pos` per `fork`. */
export function forkLink(source: StreamInstance, fork: ForkRequest, pos: number): ForkLink {
  return { source, pos, sub: fork.sub, explicit: fork.offset !== null };
}

/**
 * The content type an identical PUT to the existing `inst` would ask for: the request's, the
 * fork's (inherited from the source), or the default.
 */
export function wantedContentType(req: PutRequest, inst: StreamInstance): string {
  return req.contentType ?? (req.fork && inst.fork ? inst.contentType : DEFAULT_CONTENT_TYPE);
}

/** True when a PUT asks for the fork configuration `inst` was created with (or both none). */
export function sameForkConfig(req: PutRequest, inst: StreamInstance): boolean {
  if ((req.fork === null) !== (inst.fork === null)) return false;
  if (!req.fork || !inst.fork) return true;
  const sameSource = req.fork.from === inst.fork.source.path;
  const sameOffset = req.fork.offset === null
    ? !inst.fork.explicit
    : req.fork.offset === inst.fork.pos;
  return sameSource && sameOffset && req.fork.sub === inst.fork.sub;
}

/**
 * Releases the hold a hard-deleted `inst` had on its fork source. Each soft-deleted source whose
 * last fork this was becomes deleted, down the chain; those are returned, nearest first, for the
 * caller to forget and drop.
 */
export function releaseForkSources(inst: StreamInstance): StreamInstance[] {
  const freed: StreamInstance[] = [];
  for (let source = inst.fork?.source; source; source = source.fork?.source) {
    source.forkRefs--;
    if (source.forkRefs !== 0 || source.state !== "soft_deleted") break;
    source.state = "deleted";
    freed.push(source);
  }
  return freed;
}
