/**
 * The on-disk log record codec. A stream's log file is `FILE_MAGIC` followed by frames:
 *
 * ```
 * u32 bodyLength | u32 crc32c(body) | body
 * body = u8 type | u32 metaLength | meta (UTF-8 JSON) | payload bytes
 * ```
 *
 * All integers are little-endian. A record is the unit of atomicity: data, producer state,
 * Stream-Seq and the closed flag of one append live in the same record, so a torn write can never
 * separate them. Pure functions only.
 * @module
 */

import { crc32c } from "./crc32.ts";

/** Eight bytes at the start of every log file. */
export const FILE_MAGIC: Uint8Array = new TextEncoder().encode("DSLOG001");
/** Size of the frame header (length + checksum). */
export const FRAME_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 5;
/** Refuse frames larger than this when reading (guards against garbage lengths). */
export const MAX_FRAME_BYTES = 1 << 30;

/** Fork metadata persisted with a created stream. */
export interface ForkMeta {
  /** Source instance id. */
  src: string;
  /** Fork offset position in the source. */
  pos: number;
  /** Sub-offset used at creation (0 when absent). */
  sub: number;
  /** Whether Stream-Fork-Offset was given explicitly (for idempotent PUT comparison). */
  explicit: boolean;
}

/** Metadata of a CREATE record. */
export interface CreateMeta {
  id: string;
  path: string;
  ct: string;
  ttl: number | null;
  exp: number | null;
  /** TTL / Expires-At as requested (null when inherited or absent), for idempotent PUT. */
  reqTtl: number | null;
  reqExp: number | null;
  closed: boolean;
  fork: ForkMeta | null;
  /** Message lengths of each initial append unit. */
  units: number[][];
  ts: number;
}

/** Metadata of an APPEND record (also used for close-only, with no units). */
export interface AppendMeta {
  units: number[][];
  /** Producer tuple `[id, epoch, seq]` accepted by this record. */
  prod?: [string, number, number];
  /** Stream-Seq accepted by this record. */
  sseq?: string;
  /** This record closes the stream. */
  closed?: true;
  ts: number;
}

/** A decoded log record. */
export type LogRecord =
  | { type: "create"; meta: CreateMeta; payload: Uint8Array }
  | { type: "append"; meta: AppendMeta; payload: Uint8Array }
  | { type: "delete" }
  | { type: "soft_delete" };

const TYPE_CODES = { create: 1, append: 2, delete: 3, soft_delete: 4 } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An encoded frame plus where its payload starts inside it. */
export interface EncodedFrame {
  bytes: Uint8Array;
  payloadOffset: number;
}

/** Encodes one record as a frame. */
export function encodeRecord(record: LogRecord): EncodedFrame {
  const meta = record.type === "create" || record.type === "append"
    ? encoder.encode(JSON.stringify(record.meta))
    : new Uint8Array(0);
  const payload = record.type === "create" || record.type === "append"
    ? record.payload
    : new Uint8Array(0);
  const bodyLength = BODY_FIXED_BYTES + meta.length + payload.length;
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + bodyLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, bodyLength, true);
  bytes[8] = TYPE_CODES[record.type];
  view.setUint32(9, meta.length, true);
  bytes.set(meta, 13);
  const payloadOffset = 13 + meta.length;
  bytes.set(payload, payloadOffset);
  view.setUint32(4, crc32c(bytes.subarray(FRAME_HEADER_BYTES)), true);
  return { bytes, payloadOffset };
}

/** Reads the body length from a frame header, or null if it is implausible. */
export function readFrameLength(header: Uint8Array): number | null {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const length = view.getUint32(0, true);
  return length < BODY_FIXED_BYTES || length > MAX_FRAME_BYTES ? null : length;
}

/**
 * Decodes a frame body after checking it against the header's checksum. Returns null for a
 * corrupt or torn frame. `payloadOffset` is relative to the start of the body.
 */
export function decodeBody(
  header: Uint8Array,
  body: Uint8Array,
): { record: LogRecord; payloadOffset: number } | null {
  const hview = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (crc32c(body) !== hview.getUint32(4, true)) return null;
  return decodeTrustedBody(body);
}

/** Length of the type + meta prefix of a body, given its first 5 bytes. */
export function bodyPrefixLength(first5: Uint8Array): number {
  return BODY_FIXED_BYTES +
    new DataView(first5.buffer, first5.byteOffset, first5.byteLength).getUint32(1, true);
}

/**
 * Decodes a body without checking the checksum (used at start-up for files a clean shutdown
 * vouched for). `body` may stop after the meta; the payload is then empty.
 */
export function decodeTrustedBody(
  body: Uint8Array,
): { record: LogRecord; payloadOffset: number } | null {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const type = body[0];
  const metaLength = view.getUint32(1, true);
  if (BODY_FIXED_BYTES + metaLength > body.length) return null;
  const payloadOffset = BODY_FIXED_BYTES + metaLength;
  try {
    if (type === TYPE_CODES.delete) return { record: { type: "delete" }, payloadOffset };
    if (type === TYPE_CODES.soft_delete) return { record: { type: "soft_delete" }, payloadOffset };
    const meta = JSON.parse(decoder.decode(body.subarray(BODY_FIXED_BYTES, payloadOffset)));
    const payload = body.subarray(payloadOffset);
    if (type === TYPE_CODES.create) {
      return { record: { type: "create", meta, payload }, payloadOffset };
    }
    if (type === TYPE_CODES.append) {
      return { record: { type: "append", meta, payload }, payloadOffset };
    }
  } catch {
    return null;
  }
  return null;
}
