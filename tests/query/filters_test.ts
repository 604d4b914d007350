import { deepEqual, equal } from "node:assert/strict";
import { JsonNumber } from "../../lib/http/body.ts";
import {
  OPERATORS,
  parseFilter,
  parseWhereBody,
  planCondition,
  splitEscaped,
  unescapeValue,
} from "../../lib/query/filters.ts";
import { code, USERS } from "./_fixtures.ts";

Deno.test("parseFilter() splits conditions on commas and keeps colons in values", () => {
  deepEqual(parseFilter("age:gt:18,t:eq:12:30:00", "filter"), [
    { column: "age", op: "gt", values: [{ text: "18" }], source: "filter age:gt:18" },
    { column: "t", op: "eq", values: [{ text: "12:30:00" }], source: "filter t:eq:12:30:00" },
  ]);
  deepEqual(parseFilter("", "filter"), []);
});

Deno.test("parseFilter() resolves the escapes \\, \\: \\| \\\\ in columns and values", () => {
  const [c] = parseFilter("a\\:b\\,c:in:x\\,y|p\\|q|r\\\\|C:\\temp", "filter");
  equal(c.column, "a:b,c");
  deepEqual(c.values, [{ text: "x,y" }, { text: "p|q" }, { text: "r\\" }, { text: "C:\\temp" }]);
  const [d] = parseFilter("name:eq:O'Brien\\, Jr.", "where");
  deepEqual(d.values, [{ text: "O'Brien, Jr." }]);
  deepEqual(splitEscaped("a\\,b,c", ","), ["a\\,b", "c"]);
  equal(unescapeValue("\\n\\,"), "\\n,");
});

Deno.test("parseFilter() reads in/nin lists, is keywords, and operators case-insensitively", () => {
  const [a, b, c, d] = parseFilter(
    "s:in:a|b,s:NIN:c,x:is:null,x:is:NotNull",
    "filter",
  );
  deepEqual([a.op, a.values], ["in", [{ text: "a" }, { text: "b" }]]);
  deepEqual([b.op, b.values], ["nin", [{ text: "c" }]]);
  deepEqual([c.op, c.keyword, c.values], ["is", "null", []]);
  deepEqual([d.op, d.keyword], ["is", "notnull"]);
});

Deno.test("parseFilter() rejects malformed conditions and unknown operators with bad_filter", () => {
  code(() => parseFilter("age", "filter"), "bad_filter", /expected column:operator:value/);
  code(() => parseFilter("age:gt", "filter"), "bad_filter", /"age:gt"/);
  code(() => parseFilter("a:eq:1,", "filter"), "bad_filter", /empty condition/);
  code(() => parseFilter(":eq:1", "filter"), "bad_filter");
  code(
    () => parseFilter("age:between:1", "filter"),
    "bad_filter",
    /Invalid operator "between".*eq, ne/,
  );
  code(() => parseFilter("x:is:nothing", "where"), "bad_filter", /null or notnull/);
});

Deno.test("parseWhereBody() reads the object form (null means IS NULL) and the array form", () => {
  deepEqual(parseWhereBody({ id: 1, gone: null }), [
    { column: "id", op: "eq", values: [{ json: 1 }], source: "where.id" },
    { column: "gone", op: "is", values: [], keyword: "null", source: "where.gone" },
  ]);
  deepEqual(
    parseWhereBody([{ column: "age", op: "in", value: [1, 2n] }, { column: "n", value: "x" }]),
    [
      { column: "age", op: "in", values: [{ json: 1 }, { json: 2n }], source: "where[0]" },
      { column: "n", op: "eq", values: [{ json: "x" }], source: "where[1]" },
    ],
  );
  deepEqual(parseWhereBody([{ column: "d", op: "is", value: "notnull" }])[0].keyword, "notnull");
  code(() => parseWhereBody("id=1"), "bad_filter", /object/);
  code(() => parseWhereBody(new JsonNumber("1.5")), "bad_filter");
  code(
    () => parseWhereBody([{ column: "a", op: "in", value: 1 }]),
    "bad_filter",
    /non-empty array/,
  );
  code(() => parseWhereBody([{ column: "a", op: "zz", value: 1 }]), "bad_filter", /zz/);
  code(
    () => parseWhereBody([{ column: "a", op: "eq", value: 1, extra: 1 }]),
    "bad_filter",
    /extra/,
  );
  code(() => parseWhereBody([{ op: "eq", value: 1 }]), "bad_filter", /column/);
  code(() => parseWhereBody([{ column: "a", op: "eq", value: null }]), "bad_filter", /is/);
});

Deno.test("planCondition() types every value by its column and quotes the column", () => {
  const plan = (f: string) => planCondition(parseFilter(f, "filter")[0], USERS);
  deepEqual(plan("age:gt:18"), { sql: `"age" > CAST(? AS INTEGER)`, params: [18n] });
  deepEqual(plan("big:eq:9007199254740993"), {
    sql: `"big" = CAST(? AS BIGINT)`,
    params: [9007199254740993n],
  });
  deepEqual(plan("name:ne:O'Brien"), { sql: `"name" <> ?`, params: ["O'Brien"] });
  deepEqual(plan("price:gte:10.05"), {
    sql: `"price" >= CAST(? AS DECIMAL(10,2))`,
    params: ["10.05"],
  });
  deepEqual(plan("born:lt:2024-01-01"), {
    sql: `"born" < CAST(? AS DATE)`,
    params: ["2024-01-01"],
  });
  deepEqual(plan("active:eq:true"), { sql: `"active" = CAST(? AS BOOLEAN)`, params: [true] });
  deepEqual(plan("score:lte:1.5"), { sql: `"score" <= CAST(? AS DOUBLE)`, params: [1.5] });
  deepEqual(plan("age:in:1|2|3"), {
    sql: `"age" IN (CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER))`,
    params: [1n, 2n, 3n],
  });
  deepEqual(plan("uid:nin:a"), { sql: `"uid" NOT IN (CAST(? AS UUID))`, params: ["a"] });
  deepEqual(plan("name:like:J%"), { sql: `"name" LIKE ?`, params: ["J%"] });
  deepEqual(plan("age:ilike:1%"), { sql: `CAST("age" AS VARCHAR) ILIKE ?`, params: ["1%"] });
  deepEqual(plan("seen:is:null"), { sql: `"seen" IS NULL`, params: [] });
  deepEqual(plan("seen:is:notnull"), { sql: `"seen" IS NOT NULL`, params: [] });
  deepEqual(plan("ORDER:eq:x"), { sql: `"order" = ?`, params: ["x"] });
  deepEqual(plan("raw:eq:AAE="), { sql: `"raw" = from_base64(?)`, params: ["AAE="] });
});

Deno.test("planCondition() refuses unknown columns and values that can never fit", () => {
  const plan = (f: string) => planCondition(parseFilter(f, "filter")[0], USERS);
  code(() => plan(`nope";DROP TABLE users;--:eq:1`), "unknown_column", /Unknown column/);
  code(() => plan("age:gt:5.5"), "conversion_error", /filter age:gt:5.5.*INTEGER.*"age"/);
  code(() => plan("age:eq:99999999999"), "conversion_error", /out of range/);
  code(() => plan("age:in:1|x"), "conversion_error", /"x"/);
});

Deno.test("OPERATORS has one row per operator, each building its SQL", () => {
  deepEqual(Object.keys(OPERATORS), [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "like",
    "ilike",
    "in",
    "nin",
    "is",
  ]);
  const v = { sql: "?", params: [1n] };
  const sqls = Object.entries(OPERATORS).map(([, row]) => row.build(`"c"`, [v, v], "null").sql);
  deepEqual(sqls, [
    `"c" = ?`,
    `"c" <> ?`,
    `"c" > ?`,
    `"c" >= ?`,
    `"c" < ?`,
    `"c" <= ?`,
    `"c" LIKE ?`,
    `"c" ILIKE ?`,
    `"c" IN (?, ?)`,
    `"c" NOT IN (?, ?)`,
    `"c" IS NULL`,
  ]);
});
