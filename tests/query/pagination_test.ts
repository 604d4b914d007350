import { deepEqual, equal } from "node:assert/strict";
import { cursorLinks, linkHeader, pageLinks, pageMeta } from "../../lib/query/pagination.ts";
import { parseReadRequest, planRead } from "../../lib/query/plan_read.ts";
import { ADULTS, USERS } from "./_fixtures.ts";

const P = "/duckdb/api/users";

Deno.test("pageLinks() gives self and first always, prev, next and last when they exist", () => {
  deepEqual(pageLinks(P, [["page", "2"], ["limit", "10"], ["links", "true"]], 10, 2, 10), {
    self: `${P}?limit=10&page=2&links=true`,
    first: `${P}?limit=10&page=1&links=true`,
    prev: `${P}?limit=10&page=1&links=true`,
    next: `${P}?limit=10&page=3&links=true`,
    last: `${P}?limit=10&page=10&links=true`,
  });
  deepEqual(Object.keys(pageLinks(P, [], 10, 1, 0)), ["self", "first"]);
  deepEqual(Object.keys(pageLinks(P, [], 10, 3, 3)), ["self", "first", "prev", "last"]);
  deepEqual(Object.keys(pageLinks(P, [], 10, 1, null, true)), ["self", "first", "next"]);
});

Deno.test("pageLinks() keeps the other parameters as sent, in order", () => {
  const links = pageLinks(
    P,
    [["filter", "age:gt:18"], ["page", "1"], ["sort", "name:asc"]],
    5,
    1,
    2,
  );
  equal(links.next, `${P}?filter=age%3Agt%3A18&sort=name%3Aasc&limit=5&page=2&links=true`);
});

Deno.test("cursorLinks() and linkHeader() follow RFC 8288", () => {
  const links = cursorLinks(P, [["after", "abc"]], 5, "abc", "def");
  deepEqual(links, {
    self: `${P}?limit=5&after=abc&links=true`,
    first: `${P}?limit=5&links=true`,
    next: `${P}?limit=5&after=def&links=true`,
  });
  equal(
    linkHeader({ self: "/a?x=1", next: "/a?x=2" }),
    '</a?x=1>; rel="self", </a?x=2>; rel="next"',
  );
});

Deno.test("pageMeta() reports pagination, clamping, links and the next cursor", () => {
  const limits = { maxRowsPerPage: 10, absoluteMaxRows: 100 };
  const plan = planRead(
    parseReadRequest("users", new URLSearchParams("page=2&limit=50&links=true")),
    USERS,
    limits,
  );
  const { meta, headers } = pageMeta(
    plan,
    { rows: 10, total: 35, hasMore: true, nextCursor: "c" },
    {
      path: P,
      query: [["page", "2"], ["limit", "50"], ["links", "true"]],
      after: null,
    },
  );
  deepEqual(meta.pagination, {
    page: 2,
    limit: 10,
    total_rows: 35,
    total_pages: 4,
    has_more: true,
    limit_clamped: true,
    requested_limit: 50,
  });
  equal((meta._links as Record<string, string>).last, `${P}?limit=10&page=4&links=true`);
  equal(meta.next_cursor, "c");
  deepEqual(
    [headers["x-total-count"], headers["x-limit-clamped"], headers["x-next-cursor"]],
    ["35", "50 -> 10", "c"],
  );
  equal(headers.link.includes('rel="last"'), true);
  const uncounted = planRead(
    parseReadRequest("v", new URLSearchParams("limit=5&count=none")),
    ADULTS,
    limits,
  );
  const m = pageMeta(uncounted, { rows: 5, total: null, hasMore: true, nextCursor: null }, {
    path: P,
    query: [],
    after: null,
  });
  deepEqual(m.meta, { pagination: { page: 1, limit: 5, has_more: true } });
  deepEqual(m.headers, {});
});
