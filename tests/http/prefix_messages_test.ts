import { equal, ok } from "node:assert/strict";
import { ApiError, problemBody } from "../../lib/errors.ts";
import { sqlPath, startTestServer } from "../_helpers.ts";

Deno.test("problemBody() renders {prefix} as the configured route prefix", () => {
  const err = new ApiError("not_read_only", "Use POST {prefix}/query.");
  equal(problemBody(err, "r", "/api/v1").detail, "Use POST /api/v1/query.");
  equal(problemBody(err, "r", "").message, "Use POST /query.");
});

Deno.test("GET query refusals name the configured prefix, never a literal {prefix}", async () => {
  for (const [prefix, shown] of [["/api/v1", "/api/v1"], ["/", ""]]) {
    await using t = await startTestServer({ route_prefix: prefix });
    equal((await t.query("CREATE SEQUENCE s; CREATE TABLE w (i INTEGER)")).status, 200);
    // Refused from the statement type, and at run time (nextval writes the sequence).
    for (const sql of ["DELETE FROM w", "SELECT nextval('s')"]) {
      const r = await t.request(sqlPath(sql));
      equal(r.body.code, "not_read_only", sql);
      ok(!r.text.includes("{prefix}"), r.text);
      ok(r.body.detail.includes(`Use POST ${shown}/query.`), r.body.detail);
      equal(r.body.message, r.body.detail);
    }
  }
});
