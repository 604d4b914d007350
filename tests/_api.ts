/**
 * Helpers for `/api/{table}` tests: JSON requests against a running test server, every body read.
 * @module
 */

import { equal } from "node:assert/strict";
import type { Reply, TestServer } from "./_helpers.ts";

/** Requests against `{prefix}/api/...`. */
export interface ApiClient {
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  put(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  del(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** Sends a raw text body (for exact numbers). */
  send(
    method: string,
    path: string,
    text: string,
    headers?: Record<string, string>,
  ): Promise<Reply>;
  /** Runs raw SQL and fails loudly when it does not succeed. */
  sql(sql: string): Promise<Reply>;
  /** `SELECT count(*)` of a table through raw SQL. */
  count(table: string): Promise<number>;
}

/** An {@link ApiClient} for `t`. */
export function api(t: TestServer): ApiClient {
  const send = (
    method: string,
    path: string,
    text?: string,
    headers: Record<string, string> = {},
  ) =>
    t.request(`/api/${path}`, {
      method,
      headers: text === undefined ? headers : { "content-type": "application/json", ...headers },
      body: text,
    });
  return {
    get: (path, headers) => send("GET", path, undefined, headers),
    post: (path, body, headers) => send("POST", path, JSON.stringify(body), headers),
    put: (path, body, headers) => send("PUT", path, JSON.stringify(body), headers),
    del: (path, headers) => send("DELETE", path, undefined, headers),
    send: (method, path, text, headers) => send(method, path, text, headers),
    async sql(sql) {
      const r = await t.query(sql);
      equal(r.status, 200, `SQL failed: ${r.text}`);
      return r;
    },
    async count(table) {
      const r = await t.query(`SELECT count(*)::INTEGER AS n FROM ${table}`);
      equal(r.status, 200, `count failed: ${r.text}`);
      return r.body.data[0].n;
    },
  };
}

/** The `id` of every row of a JSON reply, in order. */
// deno-lint-ignore no-explicit-any
export function ids(reply: Reply, key = "id"): any[] {
  // deno-lint-ignore no-explicit-any
  return reply.body.data.map((row: any) => row[key]);
}
