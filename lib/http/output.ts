/**
 * What a request asks of its rows' representation, read once from the request and the config:
 * the format (path suffix > `format=` > `Accept`), export or not (and so which row cap applies),
 * CSV and JSON options, the download file name, and the compression the client accepts.
 *
 * Query parameters: `format`, `download=1`, `delimiter` (one character or `tab`), `null` (CSV
 * NULL marker), `header=false` (CSV without header row), `big_numbers=string|number` (JSON).
 * @module
 */

import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import {
  type BigNumberMode,
  contentTypeFor,
  type CsvOptions,
  type EncodeOptions,
  formatInfo,
  type FormatName,
  type JsonValueOptions,
  negotiateFormat,
  parseFormatName,
} from "../encode/mod.ts";
import { type Encoding, negotiateEncoding } from "./compress.ts";

/** The representation options of one response. */
export interface OutputOptions {
  format: FormatName;
  /** The Content-Type to send (an alias the client asked for, or the format's own). */
  contentType: string;
  /** Most rows to send; 0 for no cap (`max_export_rows` for exports, else `absolute_max_rows`). */
  cap: number;
  /** An export: a format other than JSON, or `download=1`. */
  export: boolean;
  json: JsonValueOptions;
  csv: CsvOptions;
  /** `Content-Disposition`, when one is sent. */
  disposition?: { type: "inline" | "attachment"; fileName: string };
  /** The coding to compress with (when the body is large enough), or none. */
  encoding: Encoding | null;
  /** Smallest body compressed, in bytes. */
  compressMinSize: number;
}

/** Where the request came from, for defaults. */
export interface OutputContext {
  /** Format named by the path (`/query/{sql}/result.{fmt}`). */
  suffix?: FormatName | null;
  /** Base name of a downloaded file (`result`, or the table name). */
  fileName: string;
  /** Always send `Content-Disposition` (GET query result URLs). */
  alwaysDisposition?: boolean;
}

/** The query parameters {@link parseOutputOptions} reads besides `format` (documented per endpoint). */
export const OUTPUT_PARAMETERS: readonly string[] = [
  "download",
  "delimiter",
  "null",
  "header",
  "big_numbers",
];

const TRUE = new Set(["1", "true", "yes"]);
const FALSE = new Set(["0", "false", "no"]);

function flag(params: URLSearchParams, name: string): boolean | null {
  const value = params.get(name);
  if (value === null) return null;
  if (TRUE.has(value.toLowerCase()) || value === "") return true;
  if (FALSE.has(value.toLowerCase())) return false;
  throw new ApiError("invalid_request", `Invalid ${name}=${value}: expected true or false.`);
}

/** Parses `delimiter=`: one character (not a quote, CR or LF), or `tab`. */
export function parseDelimiter(value: string | null): string {
  if (value === null || value === "") return ",";
  const delimiter = value.toLowerCase() === "tab" ? "\t" : value;
  if ([...delimiter].length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new ApiError(
      "invalid_request",
      `Invalid delimiter=${JSON.stringify(value)}: expected one character (not a quote or ` +
        "line break), or tab.",
    );
  }
  return delimiter;
}

/** Parses `null=` (CSV's NULL marker, empty by default) for CSV with `delimiter`. */
export function parseNullMarker(value: string | null, delimiter: string): string {
  const nullMarker = value ?? "";
  if (/["\r\n]/.test(nullMarker) || nullMarker.includes(delimiter) || nullMarker.length > 64) {
    throw new ApiError(
      "invalid_request",
      `Invalid null=${JSON.stringify(nullMarker)}: the NULL marker must be at most 64 ` +
        "characters without quotes, line breaks or the delimiter.",
    );
  }
  return nullMarker;
}

/** Reads the output options of `request` under `config`. */
export function parseOutputOptions(
  request: Request,
  config: Config,
  context: OutputContext,
): OutputOptions {
  const params = new URL(request.url).searchParams;
  const formatParam = params.get("format");
  const explicit = context.suffix ?? (formatParam ? parseFormatName(formatParam) : null);
  const format = negotiateFormat(explicit, request.headers.get("accept"));
  const download = flag(params, "download") ?? false;
  const isExport = download || format !== "json";

  const delimiter = parseDelimiter(params.get("delimiter"));
  const nullMarker = parseNullMarker(params.get("null"), delimiter);
  const bigNumbersParam = params.get("big_numbers");
  if (bigNumbersParam !== null && bigNumbersParam !== "number" && bigNumbersParam !== "string") {
    throw new ApiError(
      "invalid_request",
      `Invalid big_numbers=${bigNumbersParam}: expected number or string.`,
    );
  }
  const bigNumbers = (bigNumbersParam ?? config.json_big_numbers) as BigNumberMode;

  const info = formatInfo(format);
  const attach = download || (format !== "json" && format !== "ndjson");
  const disposition = attach || context.alwaysDisposition
    ? {
      type: attach ? "attachment" as const : "inline" as const,
      fileName: `${context.fileName}.${info.extension}`,
    }
    : undefined;

  return {
    format,
    contentType: contentTypeFor(format, request.headers.get("accept")),
    cap: isExport ? config.max_export_rows : config.absolute_max_rows,
    export: isExport,
    json: { bigNumbers },
    csv: { delimiter, nullMarker, header: flag(params, "header") ?? true },
    disposition,
    encoding: config.compression ? negotiateEncoding(request.headers.get("accept-encoding")) : null,
    compressMinSize: config.compression_min_size,
  };
}

/** How the execution stage encodes the rows of `output` (DuckDB's pipes in `scratchDirectory`). */
export function encodeOptionsOf(output: OutputOptions, scratchDirectory?: string): EncodeOptions {
  const { format, cap, json, csv } = output;
  return { format, cap, json, csv, export: output.export, scratchDirectory };
}

/**
 * What tells two representations of the same rows apart, for the answer cache: everything in
 * `output` that changes the bytes or headers sent, one per line (no part can hold a line break:
 * MIME types and codings come from registries, the CSV delimiter and NULL marker refuse them, file
 * names are sanitized).
 */
export function representationKey(output: OutputOptions): string {
  const { csv, disposition } = output;
  return `${output.format}\n${output.contentType}\n${output.cap}\n${output.export}\n` +
    `${output.json.bigNumbers}\n${csv.delimiter}\n${csv.nullMarker}\n${csv.header}\n` +
    `${disposition?.type}\n${disposition?.fileName}\n${output.encoding}`;
}

/** A `Content-Disposition` value with an ASCII fallback and an RFC 8187 UTF-8 name. */
export function contentDisposition(type: "inline" | "attachment", fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  if (ascii === fileName) return `${type}; filename="${fileName}"`;
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
