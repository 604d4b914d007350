import { deepEqual, equal } from "node:assert/strict";
import type { JsonValue } from "../../lib/http/body.ts";
import {
  parseDeleteRequest,
  parseInsertRequest,
  parsePrefer,
  parseUpdateRequest,
  planDelete,
  planInsert,
  planUpdate,
} from "../../lib/query/plan_write.ts";
import { ADULTS, code, LOG, USERS } from "./_fixtures.ts";

const insertRequest = (body: JsonValue, query = "", prefer = "") =>
  parseInsertRequest("users", new URLSearchParams(query), parsePrefer(prefer), body);

Deno.test("parsePrefer() reads return and resolution, ignoring anything else", () => {
  deepEqual(parsePrefer(null), { returning: false, resolution: null });
  deepEqual(parsePrefer("Return=Representation; x=1, resolution=ignore-duplicates, tx=commit"), {
    returning: true,
    resolution: "ignore",
  });
  deepEqual(parsePrefer("return=minimal"), { returning: false, resolution: null });
});

Deno.test("parseInsertRequest() takes an object or a non-empty array of objects", () => {
  deepEqual(insertRequest({ a: 1 }).rows, [{ a: 1 }]);
  equal(insertRequest([{ a: 1 }, { b: 2 }]).many, true);
  code(() => insertRequest([]), "invalid_request", /no rows/);
  code(() => insertRequest([{ a: 1 }, 2]), "invalid_request", /Row 1/);
  code(() => insertRequest("x"), "invalid_request", /JSON object/);
  code(() => insertRequest(null), "invalid_request");
  deepEqual(insertRequest({}, "on_conflict=a,b\\,c").conflict, {
    target: ["a", "b,c"],
    action: "update",
  });
  deepEqual(insertRequest({}, "", "resolution=ignore-duplicates").conflict, {
    target: null,
    action: "nothing",
  });
  equal(insertRequest({}).conflict, null);
});

Deno.test("planInsert() groups consecutive rows with the same columns, in table order", () => {
  const plan = planInsert(
    insertRequest([{ name: "a", id: 1 }, { ID: 2, name: "b" }, { name: "c" }, {}, {}]),
    USERS,
  );
  deepEqual(
    plan.groups.map((g) => [g.columns.map((c) => c.name), g.rows, g.first]),
    [
      [["id", "name"], [[1, "a"], [2, "b"]], 0],
      [["name"], [["c"]], 2],
      [[], [[], []], 3],
    ],
  );
  equal(plan.rowCount, 5);
});

Deno.test("planInsert() refuses unknown or repeated columns, bad values and views", () => {
  code(
    () => planInsert(insertRequest({ name: "a", nope: 1 }), USERS),
    "unknown_column",
    /"nope" in the body/,
  );
  code(
    () => planInsert(insertRequest([{ id: 1 }, { 'x"); DROP TABLE users; --': 1 }]), USERS),
    "unknown_column",
    /row 1/,
  );
  code(
    () => planInsert(insertRequest({ name: "a", NAME: "b" }), USERS),
    "invalid_request",
    /twice/,
  );
  code(
    () => planInsert(insertRequest([{ id: 1 }, { id: 1.5 }]), USERS),
    "conversion_error",
    /row 1, column "id"/,
  );
  code(() => planInsert(insertRequest({ id: 1 }), ADULTS), "method_not_allowed", /view/);
  code(
    () => planInsert(insertRequest({ msg: "x" }, "", "resolution=merge-duplicates"), LOG),
    "invalid_request",
    /no primary key/,
  );
  code(
    () => planInsert(insertRequest({ id: 1 }, "on_conflict=zzz"), USERS),
    "unknown_column",
    /on_conflict/,
  );
});

Deno.test("parseUpdateRequest() needs a non-empty where and set and nothing else", () => {
  const parse = (body: JsonValue) => parseUpdateRequest("users", parsePrefer(null), body);
  code(() => parse({ set: { a: 1 } }), "where_required");
  code(() => parse({ where: {}, set: { a: 1 } }), "where_required");
  code(() => parse({ where: [], set: { a: 1 } }), "where_required");
  code(() => parse({ where: { id: 1 } }), "invalid_request", /SET clause is required/);
  code(() => parse({ where: { id: 1 }, set: {} }), "invalid_request", /SET clause is required/);
  code(() => parse({ where: { id: 1 }, set: { a: 1 }, limit: 1 }), "invalid_request", /"limit"/);
  code(() => parse([1]), "invalid_request");
  deepEqual(parse({ where: { id: 1 }, set: { name: "x" } }).set, { name: "x" });
});

Deno.test("planUpdate() types set values and where conditions by their columns", () => {
  const plan = planUpdate(
    parseUpdateRequest("users", parsePrefer(null), { where: { id: 7 }, set: { big: 2n ** 62n } }),
    USERS,
  );
  deepEqual(plan.set.map((s) => [s.column.name, s.value]), [[
    "big",
    { sql: "CAST(? AS BIGINT)", params: [2n ** 62n] },
  ]]);
  deepEqual(plan.where, [{ sql: `"id" = CAST(? AS INTEGER)`, params: [7] }]);
  code(
    () =>
      planUpdate(
        parseUpdateRequest("users", parsePrefer(null), { where: { id: 1 }, set: { zz: 1 } }),
        USERS,
      ),
    "unknown_column",
    /in set/,
  );
  code(
    () =>
      planUpdate(
        parseUpdateRequest("v", parsePrefer(null), { where: { id: 1 }, set: { id: 1 } }),
        ADULTS,
      ),
    "method_not_allowed",
  );
});

Deno.test("parseDeleteRequest() needs where; dry_run takes true, 1, false or 0", () => {
  const parse = (q: string) =>
    parseDeleteRequest("users", new URLSearchParams(q), parsePrefer(null));
  code(() => parse(""), "where_required", /\?where=column:operator:value/);
  code(() => parse("where="), "where_required");
  code(() => parse("where=id:eq:1&dry_run=yes"), "invalid_request", /dry_run/);
  deepEqual(
    [parse("where=id:eq:1&dry_run=1").dryRun, parse("where=id:eq:1&dry_run=false").dryRun],
    [
      true,
      false,
    ],
  );
  equal(parse("where=a:eq:1&where=b:eq:2").where.length, 2);
  const plan = planDelete(parse("where=id:in:1|2&dry_run=true"), USERS);
  deepEqual([plan.dryRun, plan.returning, plan.where[0].params], [true, false, [1n, 2n]]);
});
