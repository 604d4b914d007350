/**
 * The app that answers while the database is being opened: `{prefix}/livez` is 200, everything
 * else (readyz included) is 503 `unavailable` with `Retry-After`, rendered by the one error
 * renderer (not logged: nothing is wrong yet).
 * @module
 */

import { Hono } from "hono";
import type { Config } from "../config.ts";
import type { Lifecycle } from "../lifecycle.ts";
import { type AppEnv, requestIdOf } from "./context.ts";
import { answerLivez, notReady } from "./probes.ts";
import { renderErrors } from "./problems.ts";

/** Builds the start-up app for `config`. */
export function createStartingApp(config: Config, lifecycle: Lifecycle): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(renderErrors());
  app.get(`${config.route_prefix}/livez`, (c) => {
    c.header("x-request-id", requestIdOf(c.req.header("x-request-id")));
    return answerLivez(c, lifecycle);
  });
  app.all("*", () => {
    throw notReady(lifecycle);
  });
  return app;
}
