/**
 * The REST interface `{prefix}/api/{table}`: GET reads, POST inserts, PUT updates, DELETE deletes.
 * Each handler reads like the pipeline: parse, authorize (before the table's existence is
 * checked, so a 404 never tells an unauthorized caller that a table exists), execute (catalog,
 * plan, SQL), encode. Registered from `app.ts` with one line.
 * @module
 */

import type { Context, Hono } from "hono";
import { ApiError } from "../errors.ts";
import type { Operation } from "../auth/mod.ts";
import { createGuard, type Guard } from "../db/run.ts";
import { type FormatName, negotiateFormat, parseFormatName } from "../encode/formats.ts";
import { parseReadRequest } from "../query/plan_read.ts";
import {
  parseDeleteRequest,
  parseInsertRequest,
  parsePrefer,
  parseUpdateRequest,
  type WritePreferences,
} from "../query/plan_write.ts";
import { createTableApi, type ReadResult, type WriteResult } from "../query/table_api.ts";
import type { AppContext, AppEnv } from "./app.ts";
import { readJsonBody } from "./body.ts";
import { fallback } from "./endpoints.ts";
import { respondRows } from "./respond.ts";

type Ctx = Context<AppEnv>;

/** Adds the `/api/{table}` routes to `app` (after authentication). */
export function registerApiRoutes(app: Hono<AppEnv>, ctx: AppContext): void {
  const { config, engine, auth } = ctx;
  const api = createTableApi(engine.pool, {
    maxRowsPerPage: config.max_rows_per_page,
    absoluteMaxRows: config.absolute_max_rows,
  });
  const path = `${config.route_prefix}/api/:table`;
  const allow = { allow: "GET, HEAD, POST, PUT, DELETE" };

  /** The table as written in the URL, after authorizing `ops` on it. */
  const authorized = (c: Ctx, ...ops: Operation[]): string => {
    const table = c.req.param("table") ?? "";
    for (const op of ops) auth.authorize(c.get("principal"), op, table);
    return table;
  };
  const guardOf = (c: Ctx): Guard => createGuard(config.query_timeout, c.req.raw.signal);
  const formatOf = (c: Ctx): FormatName => {
    const explicit = c.req.query("format");
    return negotiateFormat(
      explicit ? parseFormatName(explicit) : null,
      c.req.header("accept") ?? null,
    );
  };

  app.get(path, async (c) => {
    const table = authorized(c, "r");
    const url = new URL(c.req.url);
    const request = parseReadRequest(table, url.searchParams);
    const format = formatOf(c);
    const guard = guardOf(c);
    return await answerRows(ctx, c, await api.read(request, guard, url.pathname), format, guard);
  });

  app.post(path, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, ...writeOps("c", prefer, c.req.query("on_conflict") !== undefined));
    const format = prefer.returning ? formatOf(c) : "json";
    const body = await readJsonBody(c.req.raw, config.max_body_size);
    const request = parseInsertRequest(table, new URL(c.req.url).searchParams, prefer, body);
    return await answerWrite(ctx, c, await api.insert(request, guardOf(c)), 201, format, prefer);
  });

  app.put(path, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, ...writeOps("u", prefer));
    const format = prefer.returning ? formatOf(c) : "json";
    const request = parseUpdateRequest(
      table,
      prefer,
      await readJsonBody(c.req.raw, config.max_body_size),
    );
    return await answerWrite(ctx, c, await api.update(request, guardOf(c)), 200, format, prefer);
  });

  app.delete(path, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, ...writeOps("d", prefer));
    const format = prefer.returning ? formatOf(c) : "json";
    const request = parseDeleteRequest(table, new URL(c.req.url).searchParams, prefer);
    return await answerWrite(ctx, c, await api.remove(request, guardOf(c)), 200, format, prefer);
  });

  app.all(
    path,
    fallback((c: Ctx) => {
      throw new ApiError("method_not_allowed", `${c.req.method} is not allowed on /api/{table}.`, {
        headers: allow,
      });
    }),
  );
  const noTable = fallback(() => {
    throw new ApiError("invalid_request", "Invalid path: table name required (/api/{table}).");
  });
  app.all(`${config.route_prefix}/api`, noTable);
  app.all(`${config.route_prefix}/api/`, noTable);
}

/**
 * The operations a write needs: its own, plus `u` when an upsert may update existing rows and `r`
 * when the written rows come back (`Prefer: return=representation`).
 */
function writeOps(op: Operation, prefer: WritePreferences, onConflict = false): Operation[] {
  const ops: Operation[] = [op];
  const merges = prefer.resolution === "merge" || (onConflict && prefer.resolution === null);
  if (op === "c" && merges) ops.push("u");
  if (prefer.returning) ops.push("r");
  return ops;
}

/** Streams read rows in the negotiated format. */
function answerRows(
  ctx: AppContext,
  c: Ctx,
  result: ReadResult,
  format: FormatName,
  guard: Guard,
): Promise<Response> {
  return respondRows(result.source, {
    format,
    cap: 0,
    requestId: c.get("requestId"),
    log: ctx.log,
    json: { bigNumbers: "number" },
    csv: { delimiter: ",", nullMarker: "" },
    meta: result.meta,
    headers: result.headers,
    totalRows: result.totalRows,
    onStreaming: () => {
      guard.deadline = Infinity;
    },
  });
}

async function answerWrite(
  ctx: AppContext,
  c: Ctx,
  result: WriteResult,
  status: 200 | 201,
  format: FormatName,
  prefer: WritePreferences,
): Promise<Response> {
  if (result.kind === "dry_run") {
    return c.json({ dry_run: true, affected_rows: result.affectedRows }, 200);
  }
  if (result.kind === "changed") {
    return c.json({ success: true, rows_affected: result.rowsAffected }, status);
  }
  const response = await respondRows(result.source, {
    format,
    cap: 0,
    requestId: c.get("requestId"),
    log: ctx.log,
    json: { bigNumbers: "number" },
    csv: { delimiter: ",", nullMarker: "" },
    meta: { success: true, rows_affected: result.rowsAffected },
    headers: {
      "preference-applied": [
        "return=representation",
        ...(prefer.resolution === "merge" ? ["resolution=merge-duplicates"] : []),
        ...(prefer.resolution === "ignore" ? ["resolution=ignore-duplicates"] : []),
      ].join(", "),
    },
  });
  return new Response(response.body, { status, headers: response.headers });
}
