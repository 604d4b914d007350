// CORS (issue 13): preflight before authentication, allowed origins only, exposed headers.
import { equal, match, ok } from "node:assert/strict";
import { startAuthServer, startTestServer } from "../_helpers.ts";

const ORIGIN = "https://app.example";

Deno.test("a preflight from an allowed origin is 204 before authentication", async () => {
  await using t = await startAuthServer({
    flags: { cors_origins: ORIGIN, cors_headers: "X-Custom", cors_max_age: "5m" },
  });
  const r = await t.request("/query", {
    method: "OPTIONS",
    headers: {
      origin: ORIGIN,
      "access-control-request-method": "POST",
      "access-control-request-headers": "x-api-key, content-type",
    },
  });
  equal(r.status, 204);
  equal(r.text, "");
  equal(r.headers.get("access-control-allow-origin"), ORIGIN);
  match(r.headers.get("access-control-allow-methods")!, /POST/);
  const allowed = r.headers.get("access-control-allow-headers")!;
  for (const h of ["x-api-key", "content-type", "authorization", "x-custom"]) {
    ok(allowed.includes(h), `${h} in ${allowed}`);
  }
  equal(r.headers.get("access-control-max-age"), "300");
  equal(r.headers.get("access-control-allow-credentials"), null);

  const other = await t.request("/query", {
    method: "OPTIONS",
    headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
  });
  equal(other.headers.get("access-control-allow-origin"), null);
  equal(other.headers.get("access-control-allow-methods"), null);
  ok(other.status >= 400, "no preflight answer for other origins");
});

Deno.test("answers to an allowed origin carry the CORS headers, errors included; others none", async () => {
  await using t = await startAuthServer({ flags: { cors_origins: `${ORIGIN},http://b.test` } });
  const ok200 = await t.query("SELECT 1 AS one", undefined, {
    ...t.as(t.keys.admin),
    origin: ORIGIN,
  });
  equal(ok200.status, 200);
  equal(ok200.headers.get("access-control-allow-origin"), ORIGIN);
  const exposed = ok200.headers.get("access-control-expose-headers")!;
  for (const h of ["x-request-id", "x-truncated", "link", "etag", "ratelimit"]) {
    ok(exposed.includes(h), `${h} exposed`);
  }
  match(ok200.headers.get("vary") ?? "", /Origin/);
  const denied = await t.query("SELECT 1", undefined, { origin: ORIGIN });
  equal(denied.status, 401);
  equal(denied.headers.get("access-control-allow-origin"), ORIGIN, "the browser may read the 401");
  const foreign = await t.query("SELECT 1 AS one", undefined, {
    ...t.as(t.keys.admin),
    origin: "https://evil.example",
  });
  equal(foreign.status, 200);
  equal(foreign.headers.get("access-control-allow-origin"), null);
});

Deno.test("cors_origins * allows any origin without credentials; no cors_origins sends nothing", async () => {
  {
    await using t = await startTestServer({ cors_origins: "*" });
    const r = await t.request("/livez", { headers: { origin: "https://any.example" } });
    equal(r.headers.get("access-control-allow-origin"), "*");
    equal(r.headers.get("access-control-allow-credentials"), null);
  }
  {
    await using t = await startTestServer();
    const r = await t.request("/livez", { headers: { origin: "https://any.example" } });
    equal(r.headers.get("access-control-allow-origin"), null);
  }
});
