/**
 * The registry of output formats, one row each: name, MIME types, file extension, the JS encoder,
 * and when DuckDB's own writer (`COPY … TO`) produces it instead; and content negotiation: an
 * explicit format (path suffix or `format=`) wins, else `Accept` with q-values; `*\/*` or no
 * Accept gives JSON; an Accept nothing can satisfy is a 406 listing what is available.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { negotiateFormat } from "./formats.ts";
 * equal(negotiateFormat(null, "text/csv;q=0.5, application/json"), "json");
 * equal(negotiateFormat(null, "application/parquet"), "parquet");
 * equal(negotiateFormat("csv", "application/json"), "csv");
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import type { Column } from "../db/rows.ts";
import { createArrowEncoder } from "./arrow.ts";
import { createCsvEncoder, type CsvOptions } from "./csv.ts";
import { createJsonEncoder, createNdjsonEncoder } from "./json.ts";
import type { CopyFormat } from "./sql_render.ts";
import type { StreamEncoder } from "./stream_encoder.ts";
import type { JsonValueOptions } from "./value_text.ts";

/** An output format's name. */
export type FormatName = "json" | "csv" | "ndjson" | "parquet" | "arrow";

/** What the registry knows of a format. */
export interface FormatInfo {
  name: FormatName;
  /** MIME types accepted in `Accept`; the first is sent as Content-Type. */
  mimeTypes: readonly string[];
  /** Content-Type header value sent. */
  contentType: string;
  extension: string;
  /** Binary formats are never re-encoded as text; Parquet is already compressed. */
  compressible: boolean;
  /**
   * The JS encoder of result chunks; null for Parquet, which DuckDB's writer always produces
   * (from the chunks when the statement cannot be copied).
   */
  encoder: ((columns: readonly Column[], options: EncoderOptions) => StreamEncoder) | null;
  /**
   * When DuckDB writes the answer of a SELECT itself (`COPY … TO`, several times faster):
   * `always`, `uncapped` (uncapped reads and exports; capped reads keep the exact truncation
   * envelope of the JS encoder) or `never`.
   */
  copy: "always" | "uncapped" | "never";
}

/** The value options every encoder is created with. */
export interface EncoderOptions {
  json: JsonValueOptions;
  csv: CsvOptions;
}

/** Every format, in preference order for `*\/*`. */
export const FORMATS: readonly FormatInfo[] = [
  {
    name: "json",
    mimeTypes: ["application/json"],
    contentType: "application/json",
    extension: "json",
    compressible: true,
    encoder: (columns, options) => createJsonEncoder(columns, options.json),
    copy: "uncapped",
  },
  {
    name: "csv",
    mimeTypes: ["text/csv"],
    contentType: "text/csv; charset=utf-8",
    extension: "csv",
    compressible: true,
    encoder: (columns, options) => createCsvEncoder(columns, options.csv),
    copy: "always",
  },
  {
    name: "ndjson",
    mimeTypes: ["application/x-ndjson", "application/ndjson", "application/jsonl"],
    contentType: "application/x-ndjson",
    extension: "ndjson",
    compressible: true,
    encoder: (columns, options) => createNdjsonEncoder(columns, options.json),
    copy: "always",
  },
  {
    name: "parquet",
    // the reference module's type first; the IANA-registered one is echoed when asked for
    mimeTypes: ["application/parquet", "application/vnd.apache.parquet"],
    contentType: "application/parquet",
    extension: "parquet",
    compressible: false,
    encoder: null,
    copy: "always",
  },
  {
    name: "arrow",
    mimeTypes: ["application/vnd.apache.arrow.stream"],
    contentType: "application/vnd.apache.arrow.stream",
    extension: "arrow",
    compressible: true,
    encoder: (columns) => createArrowEncoder(columns),
    copy: "never",
  },
];

/** Looks a format up by name. */
export function formatInfo(name: FormatName): FormatInfo {
  return FORMATS.find((f) => f.name === name)!;
}

/**
 * The format DuckDB's writer produces for a SELECT answered in `format` with row cap `cap` (0:
 * none), or null when the JS encoders answer.
 */
export function copyFormatFor(
  format: FormatName,
  cap: number,
  isExport: boolean,
): CopyFormat | null {
  const copy = formatInfo(format).copy;
  if (copy === "always" || (copy === "uncapped" && (cap === 0 || isExport))) {
    return format as CopyFormat;
  }
  return null;
}

/**
 * The Content-Type to send for `format`: one of its MIME types that `accept` names exactly (the
 * highest q wins, e.g. `application/vnd.apache.parquet`), else the format's default.
 */
export function contentTypeFor(format: FormatName, accept: string | null): string {
  const info = formatInfo(format);
  if (!accept || info.mimeTypes.length < 2) return info.contentType;
  let best: { mime: string; q: number } | null = null;
  for (const item of parseAccept(accept)) {
    if (item.q > 0 && info.mimeTypes.includes(item.type) && (!best || item.q > best.q)) {
      best = { mime: item.type, q: item.q };
    }
  }
  return best && best.mime !== info.mimeTypes[0] ? best.mime : info.contentType;
}

/** Parses `format=` or a path suffix; throws `invalid_request` for an unknown one. */
export function parseFormatName(value: string): FormatName {
  const found = FORMATS.find((f) => f.name === value.toLowerCase());
  if (!found) {
    throw new ApiError(
      "invalid_request",
      `Unknown format "${value}": expected one of ${FORMATS.map((f) => f.name).join(", ")}.`,
    );
  }
  return found.name;
}

interface AcceptItem {
  type: string;
  q: number;
  order: number;
}

function parseAccept(header: string): AcceptItem[] {
  return header.split(",").map((part, order) => {
    const [type, ...params] = part.trim().split(";").map((s) => s.trim());
    let q = 1;
    for (const param of params) {
      const m = /^q=([0-9.]+)$/i.exec(param);
      if (m) q = Number(m[1]);
    }
    return { type: type.toLowerCase(), q: Number.isFinite(q) ? q : 0, order };
  }).filter((item) => item.type !== "");
}

function matches(range: string, mime: string): number {
  if (range === mime) return 3;
  if (range === "*/*") return 1;
  const [type, sub] = range.split("/");
  if (sub === "*" && mime.startsWith(`${type}/`)) return 2;
  return 0;
}

/**
 * Chooses the output format: `explicit` (suffix or `format=`) wins; otherwise the best match of
 * `accept` by q-value, then specificity, then order. Throws 406 when nothing acceptable exists.
 */
export function negotiateFormat(explicit: FormatName | null, accept: string | null): FormatName {
  if (explicit) return explicit;
  if (!accept || accept.trim() === "") return "json";
  const items = parseAccept(accept);
  let best: { format: FormatName; q: number; specificity: number; order: number } | null = null;
  for (const format of FORMATS) {
    for (const mime of format.mimeTypes) {
      // the most specific range matching this mime decides its q
      let chosen: { q: number; specificity: number; order: number } | null = null;
      for (const item of items) {
        const specificity = matches(item.type, mime);
        if (specificity > 0 && (!chosen || specificity > chosen.specificity)) {
          chosen = { q: item.q, specificity, order: item.order };
        }
      }
      if (!chosen || chosen.q <= 0) continue;
      if (
        !best || chosen.q > best.q ||
        (chosen.q === best.q && chosen.specificity > best.specificity) ||
        (chosen.q === best.q && chosen.specificity === best.specificity &&
          chosen.order < best.order)
      ) {
        best = { format: format.name, ...chosen };
      }
    }
  }
  if (!best) {
    throw new ApiError(
      "not_acceptable",
      `Cannot produce any of "${accept}". Available: ${
        FORMATS.flatMap((f) => f.mimeTypes).join(", ")
      }.`,
      { extra: { available: FORMATS.flatMap((f) => f.mimeTypes) } },
    );
  }
  return best.format;
}
