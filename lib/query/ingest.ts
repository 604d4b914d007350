/**
 * Inserts from uploaded files (`POST {prefix}/api/{table}` with a CSV, NDJSON or Parquet body):
 * the file's columns are checked against the table like the keys of a JSON insert, DuckDB's own
 * reader (`read_csv`, `read_json`, `read_parquet`, on the private reader of `lib/db/upload.ts`)
 * reads it typed by the catalog's column types into a staging table of the request's connection,
 * and one `INSERT … SELECT` writes every row (with the same conflict handling, `RETURNING` and
 * change-feed capture as a JSON insert), or none.
 *
 * - CSV: the header row names the columns (`header=false`: the table's columns in order);
 *   `delimiter`, `null` (the NULL marker, default the empty field) and `header` as for CSV output.
 * - NDJSON: one JSON object per line; the columns are the keys found on any line (a key missing on
 *   a line reads as NULL).
 * - Parquet: the file's columns, cast to the table's types.
 *
 * A value that does not fit its column is a 400 `conversion_error` naming the line (row) and the
 * column; nothing is written.
 * @module
 */

import { ApiError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "../json.ts";
import type { ColumnInfo, TableInfo } from "../db/catalog.ts";
import type { Lease } from "../db/pool.ts";
import { type Guard, guarded, retryOnConflict } from "../db/run.ts";
import type { StageColumn, Uploads } from "../db/upload.ts";
import { quoteIdentifier, sqlString } from "../sql/mod.ts";
import { buildInsertFromSql } from "./build_sql.ts";
import {
  type InsertGroup,
  type InsertPlan,
  type InsertRequest,
  parseConflict,
  planConflict,
  requireWritable,
  type WritePreferences,
} from "./plan_write.ts";
import { findColumn, parseTableName, requireColumn, type TableRef } from "./_resolve.ts";
import { classifyType } from "./values.ts";

/** The file formats an insert may upload. */
export type UploadFormat = "csv" | "ndjson" | "parquet";

/**
 * A JSON array body handed to DuckDB's JSON reader (`json`) is read there only when that gives
 * exactly what the JSON insert would (see {@link jsonColumns}); otherwise staging throws this and
 * the caller inserts the body the JSON way. Nothing has been written then.
 */
export class NotForReader extends Error {}

/** How a CSV upload is spelled. */
export interface CsvInput {
  delimiter: string;
  /** The NULL marker (an empty field by default). */
  nullMarker: string;
  /** The first line names the columns. */
  header: boolean;
}

/** A parsed upload insert. */
export interface IngestRequest {
  table: TableRef;
  /** `json`: a JSON array body (see {@link NotForReader}). */
  format: UploadFormat | "json";
  /** The uploaded file (in the uploads directory). */
  file: string;
  csv: CsvInput;
  /** `json`: the body as parsed (checked before the reader reads the file). */
  rows?: readonly JsonValue[];
  returning: boolean;
  conflict: InsertRequest["conflict"];
}

/** Parses an upload insert: the table, `on_conflict`, `Prefer`, the format and its file. */
export function parseIngestRequest(
  table: string,
  params: URLSearchParams,
  prefer: WritePreferences,
  upload: {
    format: UploadFormat | "json";
    file: string;
    csv: CsvInput;
    rows?: readonly JsonValue[];
  },
): IngestRequest {
  return {
    table: parseTableName(table),
    ...upload,
    returning: prefer.returning,
    conflict: parseConflict(params, prefer),
  };
}

/** The name of the per-connection staging table of uploads. */
export const UPLOAD_STAGE = "duckserve_upload";

/** A file's columns: as named in the file, resolved in the table. */
interface FileColumn {
  name: string;
  column: ColumnInfo;
}

/**
 * Stages the rows of the upload on the lease's connection ({@link UPLOAD_STAGE}, columns
 * `c1..cN` of the table's types) and returns the insert plan of its columns and the row count.
 */
export async function stageUpload(
  uploads: Uploads,
  lease: Lease,
  guard: Guard,
  table: TableInfo,
  request: IngestRequest,
): Promise<{ plan: InsertPlan; group: InsertGroup; rows: number }> {
  requireWritable(table);
  let columns: FileColumn[];
  let rows: number;
  try {
    columns = request.format === "json"
      ? jsonColumns(table, request)
      : await fileColumns(uploads, table, request);
    const staged: StageColumn[] = columns.map((c, i) => ({
      name: `c${i + 1}`,
      type: c.column.type,
    }));
    const select = readerSql(request, columns, "typed");
    rows = await uploads.stage(lease, guard, select, UPLOAD_STAGE, staged).catch(async (err) => {
      throw await explainUpload(uploads, request, columns, err);
    });
  } catch (err) {
    if (err instanceof NotForReader) throw err;
    if (request.format === "json") throw new NotForReader("staging failed", { cause: err });
    throw err;
  }
  const group: InsertGroup = {
    columns: columns.map((c) => c.column),
    sql: [],
    rows: [],
    first: 0,
  };
  const conflict = planConflict(request.conflict, table);
  const plan: InsertPlan = {
    table,
    groups: [group],
    rowCount: rows,
    returning: request.returning,
    conflict,
  };
  return { plan, group, rows };
}

/** Runs the insert of the staged rows (retried on conflict). */
export function insertStaged(lease: Lease, guard: Guard, plan: InsertPlan, group: InsertGroup) {
  const sql = buildInsertFromSql(plan, group, UPLOAD_STAGE);
  return retryOnConflict(() => guarded(lease, guard, async () => (await lease.prepare(sql)).run()));
}

/** Drops the staging table; false when that failed (the connection is then replaced). */
export async function dropUploadStage(lease: Lease): Promise<boolean> {
  try {
    await lease.connection.run(`DROP TABLE IF EXISTS temp.main.${UPLOAD_STAGE}`);
    return true;
  } catch {
    return false;
  }
}

/** The file's columns, resolved in the table (400 for unknown or repeated columns). */
async function fileColumns(
  uploads: Uploads,
  table: TableInfo,
  request: IngestRequest,
): Promise<FileColumn[]> {
  let names: string[];
  const file = sqlString(request.file);
  const where = request.format === "csv" ? "the header row" : `the ${request.format} body`;
  if (request.format === "csv") {
    if (!request.csv.header) return table.columns.map((column) => ({ name: column.name, column }));
    const [first] = await uploads.rows(
      `SELECT * FROM read_csv(${file}, header = false, all_varchar = true, ` +
        `${csvDialect(request.csv)}) LIMIT 1`,
    ).catch((err) => Promise.reject(scrub(err, request)));
    names = (first ?? []).map((v) => v === null ? "" : String(v));
  } else if (request.format === "parquet") {
    const described = await uploads.rows(`DESCRIBE SELECT * FROM read_parquet(${file})`)
      .catch((err) => Promise.reject(scrub(err, request)));
    names = described.map((row) => String(row[0]));
  } else {
    names = await ndjsonKeys(uploads, request);
  }
  if (names.length === 0) {
    throw new ApiError("invalid_request", `The upload names no columns (${where} is empty).`);
  }
  const seen = new Set<ColumnInfo>();
  return names.map((name) => {
    const column = requireColumn(table, name, where);
    if (seen.has(column)) {
      throw new ApiError("invalid_request", `${where} names column "${column.name}" twice.`);
    }
    seen.add(column);
    return { name, column };
  });
}

/**
 * What DuckDB's JSON reader reads a column as: its own type where reading a JSON value of the
 * kinds {@link JSON_KINDS} allows gives what the JSON insert gives (integers, DOUBLE, BOOLEAN,
 * VARCHAR), else text (DATE, DECIMAL, UUID... from JSON strings, cast like the insert's text).
 */
function readAs(column: ColumnInfo): string {
  const kind = classifyType(column.type);
  if (kind === "integer" || kind === "boolean" || kind === "text") return column.type;
  if (column.type === "DOUBLE") return "DOUBLE";
  return "VARCHAR";
}

/**
 * Whether a parsed JSON value goes to a column through the reader the way the JSON insert takes
 * it (null always): safe integers for integer columns, numbers for DOUBLE, booleans for BOOLEAN,
 * strings for text and the types DuckDB casts from text (DATE, DECIMAL, UUID...). BLOB, JSON,
 * nested and FLOAT columns take the JSON insert's own rules (null: not through the reader).
 */
function readerTakes(column: ColumnInfo): ((value: unknown) => boolean) | null {
  const kind = classifyType(column.type);
  if (kind === "integer") return (v) => Number.isSafeInteger(v);
  if (column.type === "DOUBLE") return (v) => typeof v === "number";
  if (kind === "boolean") return (v) => typeof v === "boolean";
  if (kind === "text" || kind === "other") return (v) => typeof v === "string";
  return null;
}

/**
 * The columns of a JSON array body (parsed: `request.rows`) when DuckDB's reader gives exactly
 * what the JSON insert would: every element an object with the same keys (so no DEFAULT
 * differs), each key a column of the table once, every value null or of a kind the column takes
 * alike on both paths ({@link readerTakes}). Throws {@link NotForReader} otherwise.
 */
function jsonColumns(table: TableInfo, request: IngestRequest): FileColumn[] {
  const rows = request.rows ?? [];
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
  const first = rows[0];
  if (!isObject(first)) throw new NotForReader("not an array of objects");
  const keys = Object.keys(first);
  const columns = keys.map((name) => ({ name, column: findColumn(table, name) }));
  const takes = columns.map((c) => c.column && readerTakes(c.column));
  const distinct = new Set(columns.map((c) => c.column));
  if (!keys.length || distinct.size !== keys.length || takes.some((t) => !t)) {
    throw new NotForReader("columns");
  }
  for (const row of rows) {
    if (!isObject(row)) throw new NotForReader("not an object");
    let i = 0;
    for (const key in row) {
      const value = row[key];
      if (key !== keys[i] || (value !== null && !takes[i]!(value))) {
        throw new NotForReader("values");
      }
      i++;
    }
    if (i !== keys.length) throw new NotForReader("keys");
  }
  return columns as FileColumn[];
}

/** The keys of an NDJSON upload (every line must be a JSON object). */
async function ndjsonKeys(uploads: Uploads, request: IngestRequest): Promise<string[]> {
  const objects = `read_ndjson_objects(${sqlString(request.file)})`;
  const [[line]] = await uploads.rows(
    `SELECT min(n) FROM (SELECT row_number() OVER () AS n, json FROM ${objects}) ` +
      `WHERE json_type(json) IS DISTINCT FROM 'OBJECT'`,
  ).catch((err) => Promise.reject(scrub(err, request)));
  if (line !== null) {
    throw new ApiError("invalid_request", `Line ${line} of the NDJSON body is not a JSON object.`);
  }
  const keys = await uploads.rows(
    `SELECT k FROM (SELECT unnest(json_keys(json)) AS k, row_number() OVER () AS n ` +
      `FROM ${objects}) GROUP BY k ORDER BY min(n)`,
  );
  return keys.map((row) => String(row[0]));
}

/** `delim`, `quote`, `escape` and `nullstr` of a CSV upload. */
function csvDialect(csv: CsvInput): string {
  return `delim = ${sqlString(csv.delimiter)}, quote = '"', escape = '"', ` +
    `nullstr = ${sqlString(csv.nullMarker)}`;
}

/**
 * The reader's SELECT of the upload: `typed` reads each column as its table column's type (as
 * `c1..cN`); `raw` reads the values as the file has them (CSV and NDJSON as text), numbered
 * (`n`), to find a value that does not fit.
 */
function readerSql(request: IngestRequest, columns: FileColumn[], mode: "typed" | "raw"): string {
  const file = sqlString(request.file);
  const typed = mode === "typed";
  const struct = (names: string[]) =>
    `{${
      columns.map((c, i) =>
        `${sqlString(names[i])}: ${sqlString(typed ? c.column.type : "VARCHAR")}`
      )
        .join(", ")
    }}`;
  const positional = columns.map((_, i) => `c${i + 1}`);
  let from: string;
  let select: string[];
  if (request.format === "csv") {
    from = `read_csv(${file}, header = ${request.csv.header}, ${csvDialect(request.csv)}, ` +
      `auto_detect = false, columns = ${struct(positional)})`;
    select = positional.map((n) => quoteIdentifier(n));
  } else if (request.format === "ndjson") {
    const keys = columns.map((c) => c.name);
    from = `read_json(${file}, format = 'newline_delimited', records = true, ` +
      `columns = ${struct(keys)})`;
    select = keys.map((k, i) => `${quoteIdentifier(k)} AS c${i + 1}`);
  } else if (request.format === "json") {
    // Typed as the JSON insert types them: read as the column's type where the reader does what
    // the insert's cast does, else as text cast by the same CAST (see jsonColumns).
    const read = columns.map((c) => readAs(c.column));
    from = `read_json(${file}, format = 'array', records = true, columns = {${
      columns.map((c, i) => `${sqlString(c.name)}: ${sqlString(read[i])}`).join(", ")
    }})`;
    select = columns.map((c, i) =>
      read[i] === c.column.type
        ? `${quoteIdentifier(c.name)} AS c${i + 1}`
        : `CAST(${quoteIdentifier(c.name)} AS ${c.column.type}) AS c${i + 1}`
    );
  } else {
    from = `read_parquet(${file})`;
    select = columns.map((c, i) =>
      typed
        ? `CAST(${quoteIdentifier(c.name)} AS ${c.column.type}) AS c${i + 1}`
        : `${quoteIdentifier(c.name)} AS c${i + 1}`
    );
  }
  if (typed) return `SELECT ${select.join(", ")} FROM ${from}`;
  return `SELECT row_number() OVER () AS n, ${select.join(", ")} FROM ${from}`;
}

/**
 * The client's error for a failed read: a conversion error names the first line (row) and column
 * whose value does not fit, found by reading the file again as it is; other errors keep DuckDB's
 * first lines, without the private file's path.
 */
async function explainUpload(
  uploads: Uploads,
  request: IngestRequest,
  columns: FileColumn[],
  err: unknown,
): Promise<unknown> {
  if (!(err instanceof ApiError) || err.status >= 500) return err;
  const misfit = await firstMisfit(uploads, request, columns).catch(() => null);
  if (!misfit) return scrub(err, request);
  const [row, index, value] = misfit;
  const column = columns[index - 1].column;
  const line = row + (request.format === "csv" && request.csv.header ? 1 : 0);
  const where = request.format === "parquet" ? `row ${row}` : `line ${line}`;
  const extra = request.format === "parquet" ? { row } : { row, line };
  return new ApiError(
    "conversion_error",
    `${where}, column "${column.name}": ${JSON.stringify(value)} is not a valid ${column.type}.`,
    { extra: { column: column.name, ...extra } },
  );
}

/** The first `[row, column index, value]` whose value does not cast to its column's type. */
async function firstMisfit(
  uploads: Uploads,
  request: IngestRequest,
  columns: FileColumn[],
): Promise<[number, number, string] | null> {
  const fails = columns.map((c, i) =>
    `c${i + 1} IS NOT NULL AND TRY_CAST(c${i + 1} AS ${c.column.type}) IS NULL`
  );
  const which = `CASE ${fails.map((f, i) => `WHEN ${f} THEN ${i + 1}`).join(" ")} END`;
  const value = `CASE ${
    fails.map((f, i) => `WHEN ${f} THEN CAST(c${i + 1} AS VARCHAR)`).join(" ")
  } END`;
  const rows = await uploads.rows(
    `SELECT n, ${which}, ${value} FROM (${readerSql(request, columns, "raw")}) ` +
      `WHERE ${fails.map((f) => `(${f})`).join(" OR ")} ORDER BY n LIMIT 1`,
  );
  if (rows.length === 0) return null;
  return [Number(rows[0][0]), Number(rows[0][1]), String(rows[0][2])];
}

/** `err` with the upload's private path replaced by "the body" and the reader's advice cut. */
function scrub(err: unknown, request: IngestRequest): unknown {
  if (!(err instanceof ApiError)) return err;
  const message = err.message.split(request.file).join("the body").split("\n\n")[0].trim();
  return new ApiError(err.code, message, { extra: err.extra, cause: err });
}
