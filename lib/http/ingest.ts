/**
 * File bodies of `POST {prefix}/api/{table}`: `text/csv`, `application/x-ndjson` and
 * `application/vnd.apache.parquet` (besides JSON). The body streams to a file in the server's
 * private uploads directory (never wholly in memory, never reachable by user SQL; see
 * `lib/db/upload.ts`), limited by `max_upload_size` (413 beyond), and is removed when the request
 * ends. The CSV query parameters `delimiter`, `null` and `header` read as for CSV output.
 * @module
 */

import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Uploads } from "../db/upload.ts";
import {
  type CsvInput,
  NotForReader,
  parseIngestRequest,
  parseInsertRequest,
  type TableApi,
  type TableCaller,
  type UploadFormat,
  type WritePreferences,
  type WriteResult,
} from "../query/mod.ts";
import type { Guard } from "../db/run.ts";
import { decodeBody, hasLongNumber, parseJsonBody, readBody } from "./body.ts";
import { parseDelimiter, parseNullMarker } from "./output.ts";
import type { Context } from "hono";
import type { AppContext, AppEnv } from "./context.ts";

const FORMATS: Record<string, UploadFormat> = {
  "text/csv": "csv",
  "application/csv": "csv",
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "application/jsonl": "ndjson",
  "application/vnd.apache.parquet": "parquet",
  "application/x-parquet": "parquet",
};

/** The media types of file bodies, as documented. */
export const UPLOAD_TYPES: readonly string[] = [
  "text/csv",
  "application/x-ndjson",
  "application/vnd.apache.parquet",
];

/** The query parameters of a CSV body (documented with the output's). */
export const UPLOAD_PARAMETERS: readonly string[] = ["delimiter", "null", "header"];

/** The upload format of a request's `Content-Type`, or null for a JSON body. */
export function uploadFormatOf(contentType: string | undefined): UploadFormat | null {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return FORMATS[type] ?? null;
}

/** The CSV spelling of an upload from the query string. */
export function csvInputOf(params: URLSearchParams): CsvInput {
  const delimiter = parseDelimiter(params.get("delimiter"));
  const nullMarker = parseNullMarker(params.get("null"), delimiter);
  const header = params.get("header");
  if (header !== null && !/^(1|0|true|false|yes|no|)$/i.test(header)) {
    throw new ApiError("invalid_request", `Invalid header=${header}: expected true or false.`);
  }
  return { delimiter, nullMarker, header: header === null || /^(1|true|yes|)$/i.test(header) };
}

function tooLarge(max: number): ApiError {
  return new ApiError(
    "payload_too_large",
    `The request body is larger than max_upload_size (${max} bytes).`,
  );
}

/** Smallest JSON body handed to DuckDB's JSON reader (smaller ones: one statement per group). */
export const READER_MIN_BYTES = 64 * 1024;

/** What an insert of a POST body needs: the table API, the table as written, and the run. */
export interface BodyInsert {
  api: TableApi;
  table: string;
  params: URLSearchParams;
  prefer: WritePreferences;
  guard: Guard;
  caller: TableCaller;
  /** Told which path a JSON body took (`reader`: DuckDB's JSON reader), and why not. */
  onPath?: (path: "reader" | "insert", why?: string) => void;
}

/**
 * Inserts a JSON body (`max_body_size`). A large array whose numbers a double holds exactly goes
 * to DuckDB's JSON reader with the catalog's column types, when that gives exactly what the JSON
 * insert gives (else, with nothing written, the JSON insert runs: see `NotForReader`).
 */
export async function insertJson(
  request: Request,
  uploads: Uploads,
  config: Config,
  insert: BodyInsert,
): Promise<WriteResult> {
  const { api, table, params, prefer, guard, caller } = insert;
  const bytes = await readBody(request, config.max_body_size);
  const text = decodeBody(bytes);
  const body = parseJsonBody(text);
  const bulk = bytes.byteLength >= READER_MIN_BYTES && Array.isArray(body) && !uploads.refusal;
  if (bulk && hasLongNumber(text)) insert.onPath?.("insert", "a number a double may not hold");
  else if (bulk) {
    const path = uploads.path("json");
    try {
      await Deno.writeFile(path, bytes, { createNew: true, mode: 0o600 });
      const csv = { delimiter: ",", nullMarker: "", header: true };
      const upload = { format: "json" as const, file: path, csv, rows: body };
      const result = await api.ingest(
        parseIngestRequest(table, params, prefer, upload),
        guard,
        caller,
      );
      insert.onPath?.("reader");
      return result;
    } catch (err) {
      if (!(err instanceof NotForReader)) throw err;
      insert.onPath?.("insert", err.message);
    } finally {
      await Deno.remove(path).catch(() => {});
    }
  }
  return await api.insert(parseInsertRequest(table, params, prefer, body), guard, caller);
}

/**
 * Inserts the rows of a POST body: JSON ({@link insertJson}), or a CSV, NDJSON or Parquet file
 * (`max_upload_size`) read by DuckDB's readers. `onPath` of the insert is set to log which path a
 * JSON body took.
 */
export function insertBody(
  ctx: AppContext,
  c: Context<AppEnv>,
  insert: Omit<BodyInsert, "onPath">,
): Promise<WriteResult> {
  const { config, engine, log } = ctx;
  const upload = uploadFormatOf(c.req.header("content-type"));
  const request = c.req.raw;
  if (!upload) {
    const onPath = (path: string, why?: string) =>
      log.debug("json_insert_path", { request_id: c.get("requestId"), path, why });
    return insertJson(request, engine.uploads, config, { ...insert, onPath });
  }
  return withUploadedFile(request, engine.uploads, upload, config, (file) => {
    const csv = csvInputOf(insert.params);
    const parsed = parseIngestRequest(insert.table, insert.params, insert.prefer, {
      format: upload,
      file,
      csv,
    });
    return insert.api.ingest(parsed, insert.guard, insert.caller);
  });
}

/**
 * Runs `work` with the body of `request` saved as a file of `uploads` (the file is removed after,
 * whatever happens); 413 beyond `config.max_upload_size`, 400 for an empty body.
 */
export async function withUploadedFile<T>(
  request: Request,
  uploads: Uploads,
  format: UploadFormat,
  config: Config,
  work: (file: string) => Promise<T>,
): Promise<T> {
  if (uploads.refusal) {
    throw new ApiError("unavailable", "This server takes no file bodies: see its start-up log.");
  }
  const max = config.max_upload_size;
  if (Number(request.headers.get("content-length") ?? NaN) > max) throw tooLarge(max);
  const path = uploads.path(format);
  try {
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    let size = 0;
    try {
      if (request.body) {
        for await (const piece of request.body) {
          size += piece.byteLength;
          if (size > max) throw tooLarge(max);
          for (let at = 0; at < piece.byteLength;) {
            at += await file.write(piece.subarray(at));
          }
        }
      }
    } finally {
      file.close();
    }
    if (size === 0) throw new ApiError("invalid_request", "The request body is empty.");
    return await work(path);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
