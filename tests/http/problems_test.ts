import { deepEqual, equal } from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../lib/http/mod.ts";
import { renderErrors } from "../../lib/http/problems.ts";
import { ApiError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { consume } from "../_helpers.ts";

Deno.test("renderErrors() renders every error once: problem+json, 5xx logged, feature headers added", async () => {
  const lines: string[] = [];
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("requestId", "r-2");
    await next();
  });
  app.onError(renderErrors(createLogger("debug", (line) => lines.push(line))));
  app.get("/bug", () => {
    throw new Error("boom");
  });
  app.get("/stream", (c) => {
    c.set("problemHeaders", () => new Headers({ "access-control-allow-origin": "*" }));
    throw new ApiError("stream_not_found");
  });
  const bug = await consume(await app.request("/bug"));
  deepEqual([bug.status, bug.body.code, bug.body.request_id], [500, "internal_error", "r-2"]);
  equal(bug.headers.get("access-control-allow-origin"), null);
  const failed = lines.map((l) => JSON.parse(l)).filter((l) => l.event === "request_failed");
  deepEqual(failed.map((l) => [l.request_id, l.code]), [["r-2", "internal_error"]]);
  const stream = await consume(await app.request("/stream"));
  deepEqual([stream.status, stream.body.code], [404, "stream_not_found"]);
  equal(stream.headers.get("access-control-allow-origin"), "*");
  equal(stream.headers.get("content-type"), "application/problem+json");
  equal(lines.length, 1, "a 4xx is not logged as a failure");
});
