/**
 * Query management: every request that runs statements gets its guard from {@link queryGuard},
 * which registers the query (`lib/ops/queries.ts`) under the request id until the answer's last
 * byte, with a cancel signal. `GET {prefix}/queries` lists the running queries (an admin key sees
 * all, another key its own); `DELETE {prefix}/queries/{request_id}` cancels one (admins: any;
 * other keys: their own; 404 `query_not_found` for an id that is not running, 403 for another
 * key's query) and answers 202: the canceled request answers 409 `query_canceled` when no byte
 * was sent yet, a CSV or NDJSON export under way ends with a last line saying so. A client picks
 * its own `X-Request-ID` to cancel its query from a second connection.
 * @module
 */

import type { Context } from "hono";
import type { Principal } from "../auth/mod.ts";
import { createGuard, type Guard, progressOf } from "../db/run.ts";
import { ApiError } from "../errors.ts";
import type { QueryKind } from "../events.ts";
import type { DocumentPart, Endpoint } from "../openapi/mod.ts";
import { type Ops, presentedSecret, renderSql, type RunningQuery, viewOf } from "../ops/mod.ts";
import { isAdmin } from "./admin.ts";
import { type AppContext, type AppEnv, noteQuery } from "./context.ts";
import { createFeature, type Feature } from "./feature.ts";

const LIST: Endpoint = {
  method: "GET",
  route: "/queries",
  path: "/queries",
  operationId: "listQueries",
  tag: "Operations",
  summary: "The running queries",
  description: "Every request running statements, from its first statement to its answer's " +
    "last byte: request id, key, route, start, SQL (as `log_sql` shows it), rows sent so far " +
    "and DuckDB's progress. An admin key sees all of them, another key its own.",
  responses: [{
    status: 200,
    description: "The running queries, oldest first.",
    body: { kind: "json", schema: "RunningQueries" },
  }],
  errors: [],
};

const CANCEL: Endpoint = {
  method: "DELETE",
  route: "/queries/:request_id",
  path: "/queries/{request_id}",
  pathParameters: { request_id: "request_id" },
  operationId: "cancelQuery",
  tag: "Operations",
  summary: "Cancel a running query",
  description: "Interrupts the query of that request id (admin keys: any; other keys: their " +
    "own). The canceled request answers 409 `query_canceled` if it sent no byte yet; a CSV or " +
    'NDJSON export under way ends with a last line `{"error":"query_canceled",…}`, other ' +
    "formats break off. Send your own `X-Request-ID` with a query to be able to cancel it.",
  responses: [{
    status: 202,
    description: "Cancel requested.",
    body: { kind: "json", schema: "QueryCancel" },
  }],
  errors: ["query_not_found", "forbidden"],
};

/** The path parameter of the cancel endpoint, for the OpenAPI document. */
export function queriesDocumentPart(): DocumentPart {
  return {
    parameters: {
      request_id: {
        name: "request_id",
        in: "path",
        required: true,
        description: "The request id of the query (its `X-Request-ID`).",
        schema: { type: "string" },
      },
    },
  };
}

/**
 * Notes the request as running a query of `kind` (`noteQuery`) and returns its guard: the
 * query is listed (`GET {prefix}/queries`) and cancelable until the request is over. A
 * `deadline` already running (from when the body arrived) is kept.
 */
export function queryGuard(
  ctx: AppContext,
  c: Context<AppEnv>,
  kind: QueryKind,
  sql: string | null = null,
  inPath = false,
  deadline?: number,
): Guard {
  noteQuery(c, kind, sql, inPath);
  const cancel = new AbortController();
  const guard = createGuard(ctx.config.query_timeout, c.req.raw.signal, cancel.signal);
  if (deadline !== undefined) guard.deadline = deadline;
  const record = c.get("record");
  const ops = ctx.ops;
  if (!ops || !record) return guard;
  const requestId = c.get("requestId");
  const principal = c.get("principal") as Principal | undefined;
  const prefix = ctx.config.route_prefix;
  const headers = c.req.raw.headers;
  const query: RunningQuery = {
    requestId,
    keyId: ctx.config.auth_enabled ? principal?.keyId ?? null : null,
    role: ctx.config.auth_enabled ? principal?.role ?? null : null,
    route: c.req.routePath,
    kind,
    time: Date.now(),
    started: performance.now(),
    sql: () => renderSql(sql, ops.sqlMode(), presentedSecret(headers)),
    rows: () => record.rows?.count ?? null,
    progress: () => progressOf(guard),
    cancel() {
      query.canceled = true;
      cancel.abort(
        new ApiError(
          "query_canceled",
          `The query of request ${requestId} was canceled (DELETE ${prefix}/queries/${requestId}).`,
          { extra: { request_id: requestId } },
        ),
      );
    },
  };
  const remove = ops.queries.add(query);
  const previous = record.onDone;
  record.onDone = () => {
    remove();
    previous?.();
  };
  return guard;
}

/** The query management routes (relative to the route prefix, behind the key check). */
export function queryRoutes(ctx: AppContext, ops: Ops): Feature {
  const feature = createFeature();
  const mine = (principal: Principal | undefined, query: RunningQuery) =>
    isAdmin(ctx.auth, principal) || (principal !== undefined && query.keyId === principal.keyId);
  feature.route(LIST, (c) => {
    const principal = c.get("principal");
    const now = performance.now();
    const queries = ops.queries.list().filter((q) => mine(principal, q)).map((q) => viewOf(q, now));
    return c.json({ queries }, 200, { "cache-control": "no-store" });
  });
  feature.route(CANCEL, (c) => {
    const principal = c.get("principal");
    const id = c.req.param("request_id") ?? "";
    const found = ops.queries.find(id);
    if (found.length === 0) {
      throw new ApiError("query_not_found", `No running query has request id ${id}.`);
    }
    const allowed = found.filter((q) => mine(principal, q));
    if (allowed.length === 0) {
      throw new ApiError("forbidden", "Forbidden: this query belongs to another key.");
    }
    for (const query of allowed) query.cancel();
    return c.json({ status: "canceling", request_id: id, canceled: allowed.length }, 202);
  });
  return feature;
}
