/**
 * What a paged read says about itself: the `pagination` member, the `_links` member and the
 * RFC 8288 `Link` header (with `links=true`), `next_cursor`, and the headers that carry the same
 * facts for formats without an envelope (`X-Total-Count`, `X-Next-Cursor`, `X-Limit-Clamped`).
 * Links are relative to the request path and keep every other query parameter as sent.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { pageLinks } from "./pagination.ts";
 * const links = pageLinks("/duckdb/api/users", [["page", "2"], ["limit", "10"]], 10, 2, 10);
 * equal(links.next, "/duckdb/api/users?limit=10&page=3&links=true");
 * ```
 * @module
 */

import type { ReadPlan } from "./plan_read.ts";

/** What executing a paged read found out. */
export interface PageOutcome {
  /** Rows on this page. */
  rows: number;
  /** Matching rows in all (null when not counted). */
  total: number | null;
  /** More rows follow this page. */
  hasMore: boolean;
  /** Cursor for the next page (null at the end, or when the order is not total). */
  nextCursor: string | null;
}

/** Envelope members and headers of a paged read. */
export interface PageMeta {
  meta: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Query parameters links set themselves. */
const LINK_PARAMS = new Set(["page", "limit", "links", "after", "offset"]);

function href(path: string, query: readonly [string, string][], extra: [string, string][]): string {
  const kept = query.filter(([k]) => !LINK_PARAMS.has(k));
  return `${path}?${new URLSearchParams([...kept, ...extra]).toString()}`;
}

/** Offset-page links: self, first, prev (page > 1), next (page < total pages), last (pages > 0). */
export function pageLinks(
  path: string,
  query: readonly [string, string][],
  limit: number,
  page: number,
  totalPages: number | null,
  hasMore = totalPages !== null && page < totalPages,
): Record<string, string> {
  const at = (p: number) =>
    href(path, query, [["limit", String(limit)], ["page", String(p)], ["links", "true"]]);
  const links: Record<string, string> = { self: at(page), first: at(1) };
  if (page > 1) links.prev = at(page - 1);
  if (totalPages !== null ? page < totalPages : hasMore) links.next = at(page + 1);
  if (totalPages !== null && totalPages > 0) links.last = at(totalPages);
  return links;
}

/**
 * Links of pages by `offset`: self, first (offset 0), prev (offset > 0), next (more rows follow),
 * last (the count is known and non-zero: the page of this walk that holds the last row).
 */
export function offsetLinks(
  path: string,
  query: readonly [string, string][],
  limit: number,
  offset: number,
  total: number | null,
  hasMore: boolean,
): Record<string, string> {
  const at = (o: number) =>
    href(path, query, [["limit", String(limit)], ["offset", String(o)], ["links", "true"]]);
  const links: Record<string, string> = { self: at(offset), first: at(0) };
  if (offset > 0) links.prev = at(Math.max(0, offset - limit));
  if (hasMore) links.next = at(offset + limit);
  if (total !== null && total > 0) {
    links.last = at(
      offset < total
        ? offset + Math.floor((total - 1 - offset) / limit) * limit
        : Math.max(0, total - limit),
    );
  }
  return links;
}

/** Cursor-page links: self, first, next (when more rows follow). */
export function cursorLinks(
  path: string,
  query: readonly [string, string][],
  limit: number,
  after: string | null,
  nextCursor: string | null,
): Record<string, string> {
  const at = (cursor: string | null) =>
    href(path, query, [
      ["limit", String(limit)],
      ...(cursor === null ? [] : [["after", cursor] as [string, string]]),
      ["links", "true"],
    ]);
  const links: Record<string, string> = { self: at(after), first: at(null) };
  if (nextCursor !== null) links.next = at(nextCursor);
  return links;
}

/** `<url>; rel="name", ...` (RFC 8288). */
export function linkHeader(links: Record<string, string>): string {
  return Object.entries(links).map(([rel, url]) => `<${url}>; rel="${rel}"`).join(", ");
}

/** The members and headers of a paged read (`page` or `cursor` mode). */
export function pageMeta(
  plan: ReadPlan,
  outcome: PageOutcome,
  request: { path: string; query: readonly [string, string][]; after: string | null },
): PageMeta {
  const mode = plan.mode;
  if (mode.kind === "all") return { meta: {}, headers: {} };
  const pagination: Record<string, unknown> = {};
  const headers: Record<string, string> = {};
  const totalPages = outcome.total === null ? null : Math.ceil(outcome.total / mode.limit);
  if (mode.kind === "page" && mode.byOffset) pagination.offset = mode.offset;
  else if (mode.kind === "page") pagination.page = mode.page;
  pagination.limit = mode.limit;
  if (outcome.total !== null) {
    pagination.total_rows = outcome.total;
    pagination.total_pages = totalPages;
    headers["x-total-count"] = String(outcome.total);
  }
  pagination.has_more = outcome.hasMore;
  if (plan.requestedLimit !== null) {
    pagination.limit_clamped = true;
    pagination.requested_limit = plan.requestedLimit;
    headers["x-limit-clamped"] = `${plan.requestedLimit} -> ${mode.limit}`;
  }
  const meta: Record<string, unknown> = { pagination };
  if (plan.links) {
    const links = mode.kind === "cursor"
      ? cursorLinks(request.path, request.query, mode.limit, request.after, outcome.nextCursor)
      : mode.byOffset
      ? offsetLinks(
        request.path,
        request.query,
        mode.limit,
        mode.offset,
        outcome.total,
        outcome.hasMore,
      )
      : pageLinks(request.path, request.query, mode.limit, mode.page, totalPages, outcome.hasMore);
    meta._links = links;
    headers.link = linkHeader(links);
  }
  if (plan.cursorKeys) {
    meta.next_cursor = outcome.nextCursor;
    if (outcome.nextCursor !== null) headers["x-next-cursor"] = outcome.nextCursor;
  }
  return { meta, headers };
}
