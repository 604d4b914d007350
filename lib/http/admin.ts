/**
 * The admin feature: `GET {prefix}/admin/config` shows the effective configuration and
 * `POST {prefix}/admin/config` applies a whole configuration document (JSON) without a restart:
 * validated in full first (400 `invalid_config` listing every problem, the old configuration
 * keeps serving), refused with 409 `restart_required` naming the keys that cannot change while
 * running, else swapped in atomically (requests in flight finish under the old configuration).
 * Both need an admin key: one whose role may do every operation on every table.
 * @module
 */

import { describeConfig } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Auth, Principal } from "../auth/mod.ts";
import type { Endpoint } from "../openapi/mod.ts";
import { OPERATIONS } from "../permissions.ts";
import { readJsonBody } from "./body.ts";
import type { AppContext } from "./context.ts";
import { createFeature, type Feature } from "./feature.ts";

const GET_CONFIG: Endpoint = {
  method: "GET",
  route: "/admin/config",
  path: "/admin/config",
  operationId: "getConfig",
  tag: "Operations",
  summary: "The effective configuration",
  description: "Durations and sizes as text, as in a config file. Needs an admin key.",
  responses: [{
    status: 200,
    description: "The configuration.",
    body: { kind: "json", schema: "ConfigDocument" },
  }],
  errors: [],
};

const POST_CONFIG: Endpoint = {
  method: "POST",
  route: "/admin/config",
  path: "/admin/config",
  operationId: "reloadConfig",
  tag: "Operations",
  summary: "Apply a whole configuration document",
  description: "The body replaces the `--config` file's layer (environment variables and " +
    "flags keep their precedence). Checked in full first; applied atomically: requests in " +
    "flight finish under the old configuration, new ones see the new one; listener changes " +
    "(host, port, TLS) rebind gracefully. Needs an admin key.",
  requestBody: { schema: "ConfigDocument", description: "The configuration.", required: true },
  responses: [{
    status: 200,
    description: "Applied.",
    body: { kind: "json", schema: "ConfigReload" },
  }],
  errors: ["invalid_json", "invalid_config", "restart_required", "payload_too_large"],
};

/** True when `principal`'s role may do every operation on every table (an admin key). */
export function isAdmin(auth: Auth, principal: Principal | undefined): boolean {
  if (!principal) return false;
  try {
    for (const op of OPERATIONS) auth.authorize(principal, op, "*");
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "forbidden") return false;
    throw err;
  }
}

/** Throws 403 `forbidden` unless `principal` holds an admin key ({@link isAdmin}). */
export function requireAdmin(auth: Auth, principal: Principal | undefined): void {
  if (!isAdmin(auth, principal)) {
    throw new ApiError(
      "forbidden",
      "Forbidden: this endpoint needs an admin key (every operation on every table).",
    );
  }
}

/** The admin routes (relative to the route prefix, behind the key check). */
export function adminRoutes(ctx: AppContext): Feature {
  const feature = createFeature();
  feature.route(GET_CONFIG, (c) => {
    requireAdmin(ctx.auth, c.get("principal"));
    return c.json(describeConfig(ctx.config));
  });
  feature.route(POST_CONFIG, async (c) => {
    requireAdmin(ctx.auth, c.get("principal"));
    const document = await readJsonBody(c.req.raw, ctx.config.max_body_size);
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      throw new ApiError("invalid_config", "The body must be a JSON object of key: value.", {
        extra: { problems: ["the body must be a JSON object of key: value"] },
      });
    }
    if (!ctx.reload) throw new ApiError("route_not_found", "Reloads are not available here.");
    const outcome = await ctx.reload(document as Record<string, unknown>);
    return c.json({ status: "ok", changed: outcome.changed, config: outcome.config });
  });
  return feature;
}
