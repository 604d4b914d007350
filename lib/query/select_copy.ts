/**
 * The path of `run_select.ts` where DuckDB writes the answer itself: `COPY (select) TO` a named
 * pipe (`lib/db/export.ts`), the SELECT wrapped so values render by the JS encoders' rules
 * (`lib/encode/sql_render.ts`), for the formats the registry gives DuckDB's writer. A capped read
 * first counts at most cap+1 rows to know whether the cap cuts. The query deadline covers
 * everything before the answer is handed on; a disconnect stops the export; a cancel interrupts
 * it (before the first byte the request answers `query_canceled`; once streaming began, a CSV or
 * NDJSON body ends with a last line saying so, other formats break off); the run's end releases
 * the connection.
 * @module
 */

import { type CopyRun, startCopy } from "../db/export.ts";
import { uniqueColumnNames } from "../db/rows.ts";
import { canceledError, guarded } from "../db/run.ts";
import type { ApiError } from "../errors.ts";
import {
  asSubquery,
  copyBody,
  copyFormatFor,
  JSON_ENVELOPE_HEAD,
  jsonEnvelopeTail,
  planCopy,
  readAhead,
  truncationMeta,
} from "../encode/mod.ts";
import { type Answer, bodyAnswer } from "./answer.ts";
import {
  bindPlan,
  type HeldLease,
  releaseHeld,
  type SelectOptions,
  type SelectShape,
} from "./_select.ts";

/**
 * Answers through DuckDB's writer when the format allows and the statement can be wrapped;
 * null when the JS encoders must answer instead (they then report the real error, if any).
 */
export async function runCopy(
  held: HeldLease,
  shape: SelectShape,
  options: SelectOptions,
): Promise<Answer | null> {
  const { lease, guard, plan } = held;
  const format = copyFormatFor(options.format, options.cap, options.export ?? false);
  const copy = format && planCopy(plan.sql, shape.types, uniqueColumnNames(shape.names), format, {
    json: options.json,
    csv: options.csv,
  });
  if (!copy) return null;
  let truncated = false;
  let run: CopyRun;
  try {
    truncated = options.cap > 0 && await exceedsCap(held, options.cap);
    const select = truncated ? `${copy.select} LIMIT ${Math.trunc(options.cap)}` : copy.select;
    run = await startCopy(lease, select, copy.options, {
      directory: options.scratchDirectory!,
      params: plan.params,
      bind: plan.bind,
    });
  } catch {
    // The wrapped statement did not prepare (a statement that cannot be a subquery, or a
    // rendering this engine rejects): the JS encoders answer instead, with the real error if any.
    return null;
  }
  held.owned = false; // from here on, the run's end releases

  // The deadline covers everything before the first byte; a disconnect stops the export.
  const remaining = guard.deadline - performance.now();
  const timer = Number.isFinite(remaining)
    ? setTimeout(() => run.interrupt("timeout"), Math.max(remaining, 0))
    : undefined;
  const onAbort = () => void run.cancel();
  guard.signal?.addEventListener("abort", onAbort, { once: true });
  if (guard.signal?.aborted) onAbort();
  const onCancel = () => run.interrupt("canceled", canceledError(guard.cancel));
  guard.cancel?.addEventListener("abort", onCancel, { once: true });
  if (guard.cancel?.aborted) onCancel();
  guard.lease = lease;
  let streaming = false;

  const envelope = format === "json";
  const rows = { count: 0 };
  const body = copyBody(run, {
    prefix: envelope ? JSON_ENVELOPE_HEAD : undefined,
    joinLines: envelope,
    suffix: envelope
      ? () => jsonEnvelopeTail(truncationMeta(options.meta, truncated, options.cap))
      : undefined,
    lastLine: format === "csv" || format === "ndjson"
      ? (err) => streaming ? canceledLine(err) : null
      : undefined,
    // Rows sent so far (`GET {prefix}/queries`): the lines, less CSV's header.
    onLines: (n) =>
      rows.count = Math.max(0, n - (format === "csv" && options.csv?.header !== false ? 1 : 0)),
    onEnd: async (ok) => {
      clearTimeout(timer);
      guard.signal?.removeEventListener("abort", onAbort);
      guard.cancel?.removeEventListener("abort", onCancel);
      await releaseHeld(held, !ok);
    },
  });
  run.done.then((count) => rows.count = count, () => {});
  const encoded = { ...await readAhead(body, truncated, "duckdb"), rows };
  return bodyAnswer(encoded, {
    onStreaming: () => {
      streaming = true;
      clearTimeout(timer);
      guard.deadline = Infinity;
    },
  });
}

/**
 * The last line of a CSV or NDJSON export canceled mid-stream: the problem's members as one JSON
 * object (`{"error":"query_canceled",...}`); null for any other failure (the body breaks off).
 */
function canceledLine(err: ApiError): string | null {
  if (err.code !== "query_canceled") return null;
  return JSON.stringify({ error: err.code, status: err.status, detail: err.message, ...err.extra });
}

/** Counts at most cap+1 rows of the plan: true when the cap cuts the result. */
async function exceedsCap({ lease, guard, plan }: HeldLease, cap: number): Promise<boolean> {
  const counter = await guarded(
    lease,
    guard,
    () =>
      lease.connection.prepare(
        `SELECT count(*) FROM (SELECT 1 FROM ${asSubquery(plan.sql)} AS q LIMIT ${cap + 1}) AS c`,
      ),
  );
  try {
    bindPlan(counter, plan);
    const reader = await guarded(lease, guard, () => counter.runAndReadAll());
    return Number(reader.getRows()[0][0]) > cap;
  } finally {
    counter.destroySync();
  }
}
