/**
 * The app that answers while the database is being opened: `{prefix}/livez` is 200, everything
 * else (readyz included) is 503 `unavailable` with `Retry-After`.
 * @module
 */

import { Hono } from "hono";
import type { Config } from "../config.ts";
import { renderProblem } from "../errors.ts";
import type { Lifecycle } from "../lifecycle.ts";
import { requestIdOf } from "./app.ts";
import { answerLivez, notReady } from "./probes.ts";

/** Builds the start-up app for `config`. */
export function createStartingApp(config: Config, lifecycle: Lifecycle): Hono {
  const app = new Hono();
  app.onError((err, c) => renderProblem(err, requestIdOf(c.req.header("x-request-id"))));
  app.get(`${config.route_prefix}/livez`, (c) => {
    c.header("x-request-id", requestIdOf(c.req.header("x-request-id")));
    return answerLivez(c, lifecycle);
  });
  app.all("*", () => {
    throw notReady(lifecycle);
  });
  return app;
}
