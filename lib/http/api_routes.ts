/**
 * The REST interface `{prefix}/api/{table}`: GET reads, POST inserts, PUT updates, DELETE deletes.
 * Each handler reads like the pipeline: parse, authorize (before the table's existence is
 * checked, so a 404 never tells an unauthorized caller that a table exists), execute (catalog,
 * plan, SQL), encode. Registered from `app.ts` with one line. Every committed write appends one
 * event to its table's change feed (`_changes/<table>`) before it is answered, when feeds are on.
 * @module
 */

import type { Context, Hono } from "hono";
import { ApiError } from "../errors.ts";
import type { Operation } from "../auth/mod.ts";
import { createGuard, type Guard } from "../db/run.ts";
import { encodeRows, type FormatName, negotiateFormat, parseFormatName } from "../encode/mod.ts";
import {
  type AnswerCache,
  createTableApi,
  parseDeleteRequest,
  parseInsertRequest,
  parsePrefer,
  parseReadRequest,
  parseUpdateRequest,
  type TableCaller,
  type WritePreferences,
  type WriteResult,
} from "../query/mod.ts";
import { withChangeFeed } from "../streams/table_feed.ts";
import { type AppContext, type AppEnv, rowsOptions } from "./app.ts";
import { readJsonBody } from "./body.ts";
import { fallback } from "./endpoints.ts";
import { cacheSlotOf, respondAnswer, streamResponse } from "./respond.ts";
import { encodeOptionsOf, parseOutputOptions } from "./output.ts";

type Ctx = Context<AppEnv>;

/** Adds the `/api/{table}` routes to `app` (after authentication). */
export function registerApiRoutes(app: Hono<AppEnv>, ctx: AppContext, cache: AnswerCache): void {
  const { config, engine, auth } = ctx;
  const changes = ctx.streams?.changes ?? null;
  const tables = createTableApi(engine.pool, {
    maxRowsPerPage: config.max_rows_per_page,
    absoluteMaxRows: config.absolute_max_rows,
  });
  // The change feed decorates the table API: every committed write is recorded.
  const api = changes ? withChangeFeed(tables, changes) : tables;
  const path = `${config.route_prefix}/api/:table`;

  /** The table as written in the URL, after authorizing `ops` on it. */
  const authorized = (c: Ctx, ...ops: Operation[]): string => {
    const table = c.req.param("table") ?? "";
    for (const op of ops) auth.authorize(c.get("principal"), op, table);
    return table;
  };
  const guardOf = (c: Ctx): Guard => createGuard(config.query_timeout, c.req.raw.signal);
  const callerOf = (c: Ctx): TableCaller => ({
    owner: c.get("principal"),
    requestId: c.get("requestId"),
  });
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
    const output = parseOutputOptions(c.req.raw, config, { fileName: fileNameOf(table) });
    const request = parseReadRequest(table, url.searchParams);
    const answer = await api.read(request, guardOf(c), url.pathname, callerOf(c), {
      cap: output.cap,
      encode: encodeOptionsOf(output, engine.scratchDirectory),
      cache: cacheSlotOf(cache, engine.pool, c.req.raw, output),
    });
    return respondAnswer(answer, rowsOptions(ctx, c, output));
  });

  app.post(path, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, ...writeOps("c", prefer, c.req.query("on_conflict") !== undefined));
    const format = prefer.returning ? formatOf(c) : "json";
    const body = await readJsonBody(c.req.raw, config.max_body_size);
    const request = parseInsertRequest(table, new URL(c.req.url).searchParams, prefer, body);
    const result = await api.insert(request, guardOf(c), callerOf(c));
    return await answerWrite(ctx, c, result, 201, format, prefer);
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
    const result = await api.update(request, guardOf(c), callerOf(c));
    return await answerWrite(ctx, c, result, 200, format, prefer);
  });

  app.delete(path, async (c) => {
    const prefer = parsePrefer(c.req.header("prefer") ?? null);
    const table = authorized(c, ...writeOps("d", prefer));
    const format = prefer.returning ? formatOf(c) : "json";
    const request = parseDeleteRequest(table, new URL(c.req.url).searchParams, prefer);
    const result = await api.remove(request, guardOf(c), callerOf(c));
    return await answerWrite(ctx, c, result, 200, format, prefer);
  });

  registerFallbacks(app, config.route_prefix);
}

/** 405 for other methods on `/api/{table}`, 400 for `/api` without a table. */
function registerFallbacks(app: Hono<AppEnv>, prefix: string): void {
  app.all(
    `${prefix}/api/:table`,
    fallback((c: Ctx) => {
      throw new ApiError("method_not_allowed", `${c.req.method} is not allowed on /api/{table}.`, {
        headers: { allow: "GET, HEAD, POST, PUT, DELETE" },
      });
    }),
  );
  const noTable = fallback(() => {
    throw new ApiError("invalid_request", "Invalid path: table name required (/api/{table}).");
  });
  app.all(`${prefix}/api`, noTable);
  app.all(`${prefix}/api/`, noTable);
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

/** The download name of a table's rows: its name with anything odd replaced. */
function fileNameOf(table: string): string {
  return table.replace(/[^A-Za-z0-9._-]+/g, "_") || "rows";
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
  const encoded = await encodeRows(result.source, {
    format,
    cap: 0,
    json: { bigNumbers: "number" },
    csv: { delimiter: ",", nullMarker: "" },
    meta: { success: true, rows_affected: result.rowsAffected },
  });
  const response = streamResponse(encoded, {
    format,
    requestId: c.get("requestId"),
    log: ctx.log,
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
